/**
 * Faulty subscribers (slow, throwing, failing, dying, interrupting
 * themselves, never returning, ignoring interruption) must not change what
 * the tasks do: one scripted scenario runs without and with each of them on
 * the TestClock, and attempt times, outcomes and a healthy subscriber's
 * events must be identical up to the subscriber diagnostics. The diagnostics
 * themselves are counted exactly, and shutdown keeps its deadlines.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberStatus from "effect/FiberStatus"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import { isDiagnostic } from "../src/SupervisorEvent.js"
import { TaskFatal } from "../src/TaskError.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { supervisorWithSubscribers } from "./utils/controller.js"
import { assertSeq, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { recording } from "./utils/recorder.js"
import { failNTimes, neverEnding, perRun, stubborn } from "./utils/tasks.js"

const grace = 2_000
const drainTimeout = 3_000
/** When the scenario calls shutdown (relative to its start). */
const shutdownAt = 2_500
/** The stubborn task holds shutdown for the whole grace. */
const verdictAt = shutdownAt + grace

/** An event as a line without its `seq` (diagnostics shift it) and with `at` relative to `t0`. */
const normalize = (event: SupervisorEvent, t0: number): string =>
  `${event.at - t0} ${"id" in event ? `#${event.id} ` : ""}${Subscriber.formatEvent(event).replace(/^\[\d+\] /, "")}`

interface Run {
  /** `name#attempt@ms` for every attempt, in start order. */
  readonly starts: ReadonlyArray<string>
  readonly outcomes: ReadonlyArray<string>
  /** Everything the healthy subscriber got, as published. */
  readonly all: ReadonlyArray<SupervisorEvent>
  /** What it had got before shutdown was called. */
  readonly beforeShutdown: ReadonlyArray<SupervisorEvent>
  /** Its non-diagnostic events, normalized. */
  readonly ordinary: ReadonlyArray<string>
  readonly shutdown: string
  /** When shutdown returned, relative to the start. */
  readonly shutdownReturnedAt: number
  /** Fibers of the supervisor's own runtime still running after shutdown. */
  readonly leftRunning: number
}

/**
 * The scenario: seven tasks covering retries, a timeout, a periodic task,
 * a fatal failure, a defect, a removal and a task that ignores interruption;
 * `cancel` at 1 s, `remove` at 1.5 s, shutdown at 2.5 s (grace 2 s, drain
 * timeout 3 s). `faulty` subscribers are added before the healthy one.
 */
const scenario = (
  faulty: ReadonlyArray<Subscriber.Subscriber>,
  options: { readonly busCapacity?: number; readonly blockedStream?: boolean } = {}
) =>
  Effect.gen(function*() {
    const t0 = yield* Clock.currentTimeMillis
    const healthy = recording("healthy")
    const tracker = yield* Supervisor.track
    const config: SupervisorConfig.Input = {
      grace,
      subscriberShutdownTimeout: drainTimeout,
      busCapacity: options.busCapacity
    }
    const supervisor = yield* Effect.supervised(
      Effect.map(
        Layer.build(
          TaskSupervisor.layer.pipe(
            Layer.provide(Subscriber.layer(...faulty, healthy.subscriber)),
            Layer.provide(SupervisorConfig.layer(config))
          )
        ),
        Context.get(TaskSupervisor.TaskSupervisor)
      ),
      tracker
    )
    if (options.blockedStream === true) {
      yield* Effect.forkScoped(Stream.runForEach(supervisor.events, () => Effect.never))
      yield* settle
    }

    const starts: Array<string> = []
    const track = <A, E, R>(body: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.zip(TaskSpec.CurrentTask, Clock.currentTimeMillis), ([{ attempt, name }, now]) => {
        starts.push(`${name}#${attempt}@${now - t0}`)
        return body
      })
    const constant = (delay: Duration.DurationInput) => TaskSpec.withBackoff(BackoffPolicy.constant(delay))

    const handles = [
      yield* supervisor.add(
        TaskSpec.restartable("flaky", track((yield* failNTimes(2, new Error("boom"))).task)).pipe(constant("1 second"))
      ),
      yield* supervisor.add(
        TaskSpec.restartable("slowpoke", track(Effect.sleep("1 second"))).pipe(
          TaskSpec.withTimeout("500 millis"),
          TaskSpec.withMaxRetries(1),
          constant("200 millis")
        )
      ),
      yield* supervisor.add(TaskSpec.periodic("ticker", track(Effect.void), "300 millis")),
      yield* supervisor.add(
        TaskSpec.restartable("fatal", track(Effect.fail(new TaskFatal({ reason: "bad config", exitCode: 78 }))))
      ),
      yield* supervisor.add(
        TaskSpec.restartable(
          "dying",
          track((yield* perRun((run) => run === 1 ? Effect.die(new Error("kaput")) : Effect.void)).task)
        ).pipe(constant("100 millis"))
      ),
      yield* supervisor.add(TaskSpec.make("stopper", track(neverEnding))),
      yield* supervisor.add(TaskSpec.make("stubborn", track(stubborn)))
    ]
    for (let t = 100; t <= shutdownAt; t += 100) {
      yield* advance(100)
      if (t === 1000) assert.isTrue(yield* supervisor.cancel("ticker"))
      if (t === 1500) assert.isTrue(yield* supervisor.remove("stopper"))
    }
    const beforeShutdown = [...healthy.events]

    const shutting = yield* Effect.fork(Effect.zip(Effect.either(supervisor.shutdown), Clock.currentTimeMillis))
    let polled = yield* Fiber.poll(shutting)
    for (let i = 0; i < 100 && Option.isNone(polled); i++) {
      yield* advance(100)
      polled = yield* Fiber.poll(shutting)
    }
    const [result, returnedAt] = yield* Fiber.join(shutting)
    yield* settle
    const statuses = yield* Effect.forEach(yield* tracker.value, (fiber) => fiber.status)

    const outcomes: Array<string> = []
    for (const handle of handles) {
      const outcome = yield* handle.await
      const reason = TaskOutcome.reason(outcome)
      outcomes.push(`${handle.name}: ${TaskOutcome.label(outcome)}${reason === undefined ? "" : ` ${reason}`}`)
    }
    return {
      starts,
      outcomes,
      all: [...healthy.events],
      beforeShutdown,
      ordinary: healthy.events.filter((e) => !isDiagnostic(e)).map((e) => normalize(e, t0)),
      shutdown: Either.match(result, {
        onLeft: (error) => `${error._tag} stuck=${error.stuck.join(",")}`,
        onRight: () => "ok"
      }),
      shutdownReturnedAt: returnedAt - t0,
      leftRunning: statuses.filter((status) => !FiberStatus.isDone(status)).length
    } satisfies Run
  }).pipe(Effect.scoped)

/** The scenario with no faulty subscriber, with the facts every other run is compared with. */
const baseline = Effect.tap(scenario([]), (run) =>
  Effect.sync(() => {
    // attempts due at the same instant may start in any order
    const byTime = (a: string, b: string) => Number(a.split("@")[1]) - Number(b.split("@")[1]) || a.localeCompare(b)
    assert.deepStrictEqual([...run.starts].sort(byTime), [
      "dying#1@0",
      "fatal#1@0",
      "flaky#1@0",
      "slowpoke#1@0",
      "stopper#1@0",
      "stubborn#1@0",
      "ticker#1@0",
      "dying#2@100",
      "ticker#2@300",
      "ticker#3@600",
      "slowpoke#2@700",
      "ticker#4@900",
      "flaky#2@1000",
      "flaky#3@2000"
    ])
    assert.deepStrictEqual(run.outcomes, [
      "flaky: outcome_completed",
      "slowpoke: outcome_failed retry limit reached after 1 of 1 retries: timed out after 500ms",
      "ticker: outcome_canceled",
      "fatal: outcome_fatal bad config",
      "dying: outcome_completed",
      "stopper: outcome_canceled",
      "stubborn: outcome_force_aborted task did not stop within grace; force-aborted"
    ])
    assert.strictEqual(run.shutdown, "GraceExceeded stuck=stubborn")
    assert.strictEqual(run.shutdownReturnedAt, verdictAt, "with healthy subscribers the drain takes no time")
    assert.deepStrictEqual(run.all.filter(isDiagnostic), [])
    assertSeq(run.all)
    assert.strictEqual(run.all[run.all.length - 1]._tag, "GraceExceeded")
    assert.strictEqual(run.leftRunning, 0)
  }))

/** The faulty run is the baseline as far as tasks go: same attempts, times, outcomes and events. */
const assertSameTasks = (faulty: Run, clean: Run): void => {
  assert.deepStrictEqual(faulty.starts, clean.starts, "attempt start times")
  assert.deepStrictEqual(faulty.outcomes, clean.outcomes, "outcomes")
  assert.deepStrictEqual(faulty.ordinary, clean.ordinary, "the healthy subscriber's events, diagnostics aside")
  assert.strictEqual(faulty.shutdown, clean.shutdown, "shutdown result")
  assertSeq(faulty.all)
  assert.isAtMost(faulty.shutdownReturnedAt, verdictAt + drainTimeout, "shutdown ends by grace + drain timeout")
}

/** Exactly one `SubscriberPanicked` with `reason` per ordinary event the healthy subscriber had before shutdown. */
const assertPanics = (run: Run, subscriber: string, reason: (actual: string) => void): void => {
  const before = run.beforeShutdown
  const panics = ofTag(before, "SubscriberPanicked")
  assert.strictEqual(panics.length, before.filter((e) => !isDiagnostic(e)).length, "one report per event")
  assert.deepStrictEqual(ofTag(before, "SubscriberOverflow"), [])
  for (const panic of panics) {
    assert.strictEqual(panic.subscriber, subscriber)
    reason(panic.reason)
  }
  // reports for events handled while the queues are closing at shutdown may find no listener left
  const all = ofTag(run.all, "SubscriberPanicked")
  assert.isAtLeast(all.length, panics.length)
  assert.isAtMost(all.length, run.all.filter((e) => !isDiagnostic(e)).length)
}

/**
 * A subscriber of capacity `k` whose worker is stuck on one event holds that
 * event plus `k` queued ones; every later event is dropped for it. Each
 * dropped ordinary event is reported once, right after it; the report is
 * dropped too (the queue is still full) but not counted, so the `dropped`
 * counts are 1, 2, 3, …: losses of ordinary events only.
 */
const assertStuckOverflow = (all: ReadonlyArray<SupervisorEvent>, subscriber: string, k: number): void => {
  const ordinary = all.filter((e) => !isDiagnostic(e))
  const overflows = ofTag(all, "SubscriberOverflow")
  assert.deepStrictEqual(ofTag(all, "SubscriberPanicked"), [])
  assert.deepStrictEqual(new Set(overflows.map((e) => `${e.subscriber} ${e.reason}`)), new Set([`${subscriber} full`]))
  assert.strictEqual(overflows.length, ordinary.length - (k + 1), `all but ${k + 1} of ${ordinary.length} dropped`)
  assert.deepStrictEqual(overflows.map((e) => e.dropped), overflows.map((_, j) => j + 1))
  assert.strictEqual(all.length, ordinary.length + overflows.length)
  for (const overflow of overflows) {
    const reported = all[overflow.seq - 2]
    assert.isFalse(isDiagnostic(reported), `SubscriberOverflow #${overflow.seq} follows the event it reports`)
  }
}

describe("faulty subscribers", () => {
  describe("do not change what the tasks do", () => {
    it.scoped("a slow subscriber (400 ms per event, roomy queue) drains until the deadline, then is cut off", () =>
      Effect.gen(function*() {
        const clean = yield* baseline
        const received: Array<SupervisorEvent> = []
        const slow = Subscriber.make({
          name: "slow",
          onEvent: (event) => Effect.zipRight(Effect.sleep("400 millis"), Effect.sync(() => void received.push(event)))
        })
        const run = yield* scenario([slow])
        assertSameTasks(run, clean)
        assert.deepStrictEqual(run.all.filter(isDiagnostic), [], "no overflow, no panic")
        assert.strictEqual(run.shutdownReturnedAt, verdictAt + drainTimeout, "its backlog outlasts the drain timeout")
        assert.strictEqual(
          received.length,
          Math.floor((verdictAt + drainTimeout) / 400),
          "one per 400 ms until cut off"
        )
        assert.deepStrictEqual(received, run.all.slice(0, received.length), "in order, nothing skipped")
        assert.strictEqual(run.leftRunning, 0, "its worker was interrupted")
      }))

    it.scoped("a slow subscriber with a small queue loses events but catches up within the drain timeout", () =>
      Effect.gen(function*() {
        const clean = yield* baseline
        const received: Array<SupervisorEvent> = []
        const slow = Subscriber.make({
          name: "slow",
          capacity: 4,
          onEvent: (event) => Effect.zipRight(Effect.sleep("250 millis"), Effect.sync(() => void received.push(event)))
        })
        const run = yield* scenario([slow])
        assertSameTasks(run, clean)
        const overflows = ofTag(run.all, "SubscriberOverflow")
        assert.isAbove(overflows.length, 0)
        const got = new Set(received.map((e) => e.seq))
        const missed = run.all.filter((e) => !got.has(e.seq))
        assert.strictEqual(overflows.length, missed.filter((e) => !isDiagnostic(e)).length, "one report per loss")
        for (const overflow of overflows) {
          assert.strictEqual(overflow.dropped, missed.filter((e) => !isDiagnostic(e) && e.seq < overflow.seq).length)
        }
        assert.strictEqual(received[received.length - 1]._tag, "GraceExceeded", "it got the verdict")
        assert.isAbove(run.shutdownReturnedAt, verdictAt)
        assert.isBelow(run.shutdownReturnedAt, verdictAt + drainTimeout)
        assert.strictEqual((run.shutdownReturnedAt - verdictAt) % 250, 0, "it ended as its last event was handled")
        assert.strictEqual(run.leftRunning, 0)
      }))

    const panicking: ReadonlyArray<
      readonly [label: string, onEvent: (event: SupervisorEvent) => Effect.Effect<void, unknown>, reason: string]
    > = [
      ["throws synchronously inside onEvent", () => {
        throw new Error("sync boom")
      }, "sync boom"],
      ["fails", () => Effect.fail(new Error("refused")), "refused"],
      ["fails with a string", () => Effect.fail("no thanks"), "no thanks"],
      ["dies", () => Effect.die(new Error("kaput")), "kaput"],
      ["throws inside Effect.sync", () =>
        Effect.sync(() => {
          throw new Error("thrown in sync")
        }), "thrown in sync"],
      ["interrupts itself", () => Effect.interrupt, "interrupted"]
    ]
    for (const [label, onEvent, reason] of panicking) {
      it.scoped(`a subscriber that ${label} is reported as SubscriberPanicked for every event, exactly`, () =>
        Effect.gen(function*() {
          const clean = yield* baseline
          let calls = 0
          const bad = Subscriber.make({
            name: "bad",
            onEvent: (event) => {
              calls++
              return onEvent(event)
            }
          })
          const run = yield* scenario([bad])
          assertSameTasks(run, clean)
          assertPanics(run, "bad", (actual) => assert.strictEqual(actual, reason))
          assert.strictEqual(calls, run.all.length, "it was called for every event, the reports included")
          assert.strictEqual(run.shutdownReturnedAt, verdictAt, "a failing subscriber drains at once")
          assert.strictEqual(run.leftRunning, 0)
        }))
    }

    it.scoped("an async function (a Promise instead of an Effect) is reported as SubscriberPanicked", () =>
      Effect.gen(function*() {
        const clean = yield* baseline
        const promising = Subscriber.make({
          name: "promising",
          onEvent: (async () => {}) as unknown as (event: SupervisorEvent) => Effect.Effect<void>
        })
        const run = yield* scenario([promising])
        assertSameTasks(run, clean)
        assertPanics(run, "promising", (actual) => assert.include(actual, "valid effect"))
      }))

    for (
      const [label, onEvent] of [
        ["never returns", () => Effect.never],
        ["never returns and ignores interruption", () => Effect.uninterruptible(Effect.never)]
      ] as const
    ) {
      it.scoped(`a subscriber that ${label}: exact overflow counts; shutdown ends at grace + drain timeout`, () =>
        Effect.gen(function*() {
          const clean = yield* baseline
          let calls = 0
          const stuck = Subscriber.make({
            name: "stuck",
            capacity: 4,
            onEvent: () => Effect.suspend(() => (calls++, onEvent()))
          })
          const run = yield* scenario([stuck])
          assertSameTasks(run, clean)
          assert.strictEqual(calls, 1, "it never got past its first event")
          assertStuckOverflow(run.all, "stuck", 4)
          assert.strictEqual(run.shutdownReturnedAt, verdictAt + drainTimeout)
          // JavaScript cannot stop a fiber that refuses interruption: shutdown stops waiting for it instead
          assert.strictEqual(run.leftRunning, label === "never returns" ? 0 : 1)
        }))
    }

    it.scoped("several faulty subscribers at once, and a blocked events stream", () =>
      Effect.gen(function*() {
        const clean = yield* baseline
        const run = yield* scenario([
          Subscriber.make({ name: "stuck", capacity: 2, onEvent: () => Effect.never }),
          Subscriber.make({ name: "failing", onEvent: () => Effect.fail("nope") }),
          Subscriber.make({ name: "slow", onEvent: () => Effect.sleep("1 second") })
        ], { busCapacity: 3, blockedStream: true })
        assertSameTasks(run, clean)
        assert.strictEqual(run.shutdownReturnedAt, verdictAt + drainTimeout)
        const panics = ofTag(run.beforeShutdown, "SubscriberPanicked")
        assert.deepStrictEqual(new Set(panics.map((e) => `${e.subscriber}: ${e.reason}`)), new Set(["failing: nope"]))
        const overflowing = new Set(ofTag(run.all, "SubscriberOverflow").map((e) => e.subscriber))
        assert.deepStrictEqual(overflowing, new Set(["stuck", "events"]))
        assert.strictEqual(run.leftRunning, 0)
      }))
  })

  describe("overflow accounting", () => {
    for (const k of [1, 2, 8]) {
      it.scoped(`capacity ${k}, stuck for ever: it holds ${k + 1} events and every other loss is reported`, () =>
        Effect.gen(function*() {
          let calls = 0
          const stuck = Subscriber.make({
            name: "stuck",
            capacity: k,
            onEvent: () => Effect.suspend(() => (calls++, Effect.never))
          })
          const healthy = recording("healthy")
          const supervisor = yield* supervisorWithSubscribers({ subscriberShutdownTimeout: "1 second" }, [
            stuck,
            healthy.subscriber
          ])
          for (let i = 0; i < 6; i++) {
            yield* supervisor.add(TaskSpec.once(`t${i}`, Effect.void))
            if (i % 2 === 0) yield* settle
          }
          yield* settle
          const shutting = yield* Effect.fork(supervisor.shutdown)
          yield* advance("1 second")
          yield* Fiber.join(shutting)
          assert.strictEqual(calls, 1)
          assertSeq(healthy.events)
          assert.strictEqual(
            healthy.events.filter((e) => !isDiagnostic(e)).length,
            6 * 6 + 2,
            "6 tasks, ShutdownRequested, verdict"
          )
          assertStuckOverflow(healthy.events, "stuck", k)
        }))
    }

    for (const k of [1, 3, 6]) {
      it.scoped(`capacity ${k}, blocked then released: it gets exactly the ${k + 1} events it held, then everything`, () =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const received: Array<SupervisorEvent> = []
          const gated = Subscriber.make({
            name: "gated",
            capacity: k,
            onEvent: (event) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => void received.push(event)))
          })
          const healthy = recording("healthy")
          const supervisor = yield* supervisorWithSubscribers({}, [gated, healthy.subscriber])
          for (let i = 0; i < 4; i++) {
            yield* supervisor.add(TaskSpec.once(`t${i}`, Effect.void))
            yield* settle
          }
          const published = healthy.events.length
          yield* Deferred.succeed(gate, void 0)
          yield* settle
          assert.strictEqual(received.length, k + 1, "the event in hand and the k queued behind it")
          assert.isTrue(received.every((e) => !isDiagnostic(e)), "reports of its own losses cannot reach it")
          assert.deepStrictEqual(received.map((e) => e.seq), received.map((e) => e.seq).sort((a, b) => a - b))
          const overflows = ofTag(healthy.events, "SubscriberOverflow")
          assert.strictEqual(overflows.length, 4 * 6 - (k + 1), "every other event of the 4 tasks was reported lost")
          assert.strictEqual(
            overflows[overflows.length - 1].dropped,
            published - overflows.length - (k + 1),
            "it lost every ordinary event but the k + 1 it holds, and counts nothing else"
          )

          // released, it is an ordinary subscriber of capacity k again: it loses only what a burst overflows
          const after = yield* supervisor.add(TaskSpec.once("after", Effect.void))
          assert.strictEqual((yield* after.await)._tag, "Completed")
          yield* settle
          const fresh = healthy.events.slice(published)
          const freshOverflows = ofTag(fresh, "SubscriberOverflow")
          assert.strictEqual(fresh.length - freshOverflows.length, 6, "the after task's six events")
          const got = new Set(received.map((e) => e.seq))
          assert.strictEqual(
            fresh.filter((e) => got.has(e.seq)).length,
            6 - freshOverflows.length,
            "it got each of them unless a report says it was lost"
          )
          if (k >= 6) assert.deepStrictEqual(freshOverflows, [], "a task's burst fits in its queue")
          const missed = healthy.events.filter((e) => !got.has(e.seq))
          for (const overflow of ofTag(healthy.events, "SubscriberOverflow")) {
            assert.strictEqual(overflow.dropped, missed.filter((e) => !isDiagnostic(e) && e.seq < overflow.seq).length)
          }
          yield* supervisor.shutdown
        }))
    }
  })

  describe("failures that are hard to describe", () => {
    it.scoped("a subscriber failing with a value whose toString and toJSON throw is still isolated and reported", () =>
      Effect.gen(function*() {
        const undescribable = {
          toString(): string {
            throw new Error("no toString")
          },
          toJSON(): unknown {
            throw new Error("no toJSON")
          }
        }
        let calls = 0
        const odd = Subscriber.make({
          name: "odd",
          onEvent: () => Effect.suspend(() => (calls++, Effect.fail(undescribable)))
        })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorWithSubscribers({}, [odd, healthy.subscriber])
        const handle = yield* supervisor.add(TaskSpec.once("t", Effect.void))
        assert.strictEqual((yield* handle.await)._tag, "Completed")
        yield* settle
        const ordinary = healthy.events.filter((e) => !isDiagnostic(e)).length
        assert.strictEqual(calls, healthy.events.length, "it keeps receiving every event")
        assert.strictEqual(ofTag(healthy.events, "SubscriberPanicked").length, ordinary, "each failure is reported")
        yield* supervisor.shutdown
      }))
  })
})
