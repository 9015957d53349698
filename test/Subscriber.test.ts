import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import { Bus } from "../src/internal/events/bus.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import { isDiagnostic } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { ofTag } from "./utils/events.js"
import { advance, isRunning, pad, poll, settle, spin } from "./utils/fibers.js"
import { recording } from "./utils/recorder.js"
import { failNTimes, neverEnding } from "./utils/tasks.js"

/** A supervisor in the current scope built from `subscribers` (a Layer adding them) and `config`. */
const supervisorFrom = <E>(
  subscribers: Layer.Layer<never, E, SupervisorConfig.Subscribers>,
  config: SupervisorConfig.Input = {}
) =>
  Effect.map(
    Layer.build(
      TaskSupervisor.layer.pipe(Layer.provide(subscribers), Layer.provide(SupervisorConfig.layer(config)))
    ),
    (context) => Context.get(context, TaskSupervisor.TaskSupervisor)
  )

const seqs = (events: ReadonlyArray<SupervisorEvent>) => events.map((e) => e.seq)

/** `1..n`: every event published reached this subscriber. */
const assertComplete = (events: ReadonlyArray<SupervisorEvent>, who: string) =>
  assert.deepStrictEqual(seqs(events), events.map((_, i) => i + 1), `${who} missed or reordered events`)

/** Add a few tasks that produce attempts, failures, backoffs, removals and outcomes. */
const someWork = (supervisor: TaskSupervisor.TaskSupervisor["Type"]) =>
  Effect.gen(function*() {
    const done = yield* supervisor.add(TaskSpec.once("once", Effect.void))
    const flaky = yield* supervisor.add(
      TaskSpec.restartable("flaky", (yield* failNTimes(2, "boom")).task).pipe(
        TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
      )
    )
    yield* supervisor.add(TaskSpec.make("removed", neverEnding))
    yield* settle
    yield* supervisor.remove("removed")
    yield* advance("2 seconds")
    assert.strictEqual((yield* done.await)._tag, "Completed")
    assert.strictEqual((yield* flaky.await)._tag, "Completed")
  })

describe("Subscriber", () => {
  describe("delivery", () => {
    it.scoped("every subscriber gets every event, in seq order", () =>
      Effect.gen(function*() {
        const first = recording("first")
        const second = recording("second")
        const supervisor = yield* supervisorFrom(Subscriber.layer(first.subscriber, second.subscriber))
        yield* someWork(supervisor)
        yield* supervisor.shutdown

        assertComplete(first.events, "first")
        assert.isAbove(first.events.length, 15)
        assert.deepStrictEqual(second.events, first.events)
        assert.strictEqual(first.events[first.events.length - 1]._tag, "AllStoppedWithinGrace")
      }))

    it.scoped("a blocked subscriber with capacity 2 loses only its own events, each reported in SubscriberOverflow", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const received: Array<SupervisorEvent> = []
        const slow = Subscriber.make({
          name: "slow",
          capacity: 2,
          onEvent: (event) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => void received.push(event)))
        })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorFrom(Subscriber.layer(slow, healthy.subscriber))
        const flaky = yield* supervisor.add(
          TaskSpec.restartable("flaky", (yield* failNTimes(5, "boom")).task).pipe(
            TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
          )
        )
        for (let i = 0; i < 10; i++) yield* supervisor.add(TaskSpec.once(`once-${i}`, Effect.void))
        const outcome = yield* Effect.fork(flaky.await)
        yield* advance(4999)
        assert.isTrue(yield* isRunning(outcome))
        yield* advance(1)
        assert.strictEqual((yield* Fiber.join(outcome))._tag, "Completed", "outcomes are on time despite the block")

        yield* Deferred.succeed(gate, void 0)
        yield* settle
        yield* supervisor.shutdown

        const all = healthy.events
        assertComplete(all, "healthy")
        assert.deepStrictEqual(ofTag(all, "TaskFinished", "flaky").map((e) => [e.at, e.outcome._tag]), [
          [5000, "Completed"]
        ])
        const got = new Set(seqs(received))
        assert.deepStrictEqual(seqs(received), [...seqs(received)].sort((a, b) => a - b), "slow: in order")
        const missed = all.filter((e) => !got.has(e.seq))
        const overflows = ofTag(all, "SubscriberOverflow")
        assert.isAbove(overflows.length, 0)
        for (const overflow of overflows) {
          assert.deepStrictEqual([overflow.subscriber, overflow.reason], ["slow", "full"])
          assert.strictEqual(
            overflow.dropped,
            missed.filter((e) => !isDiagnostic(e) && e.seq < overflow.seq).length,
            `dropped of SubscriberOverflow #${overflow.seq} counts the ordinary events lost before it`
          )
        }
        assert.strictEqual(
          overflows.length,
          missed.filter((e) => !isDiagnostic(e)).length,
          "one report per dropped event"
        )
        assert.strictEqual(received[received.length - 1]._tag, "AllStoppedWithinGrace", "it catches up afterwards")
      }))

    it.scoped("a blocked subscriber holds at most its capacity plus the event in flight", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const received: Array<SupervisorEvent> = []
        const slow = Subscriber.make({
          name: "slow",
          capacity: 2,
          onEvent: (event) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => void received.push(event)))
        })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorFrom(Subscriber.layer(slow, healthy.subscriber))
        // two bursts: the worker wakes up between them and blocks on the first event
        yield* supervisor.add(TaskSpec.once("first", Effect.void))
        yield* settle
        yield* supervisor.add(TaskSpec.once("second", Effect.void))
        yield* settle
        yield* Deferred.succeed(gate, void 0)
        yield* settle
        const held = received.map((e) => e._tag)
        yield* supervisor.shutdown
        assert.isAtMost(held.length, 3, `it got ${held.length} of the events published while it was blocked: ${held}`)
        const overflows = ofTag(healthy.events, "SubscriberOverflow")
        assert.strictEqual(overflows.length, 12 - held.length, "every other event of the two tasks was dropped")
      }))

    it.scoped("a failing or dying subscriber is reported as SubscriberPanicked and keeps receiving", () =>
      Effect.gen(function*() {
        const seen: Array<SupervisorEvent["_tag"]> = []
        const flaky = Subscriber.make({
          name: "flaky",
          onEvent: (event): Effect.Effect<void, string> => {
            seen.push(event._tag)
            switch (event._tag) {
              case "TaskAdded":
                return Effect.fail("refused")
              case "AttemptStarting":
                return Effect.die(new Error("kaput"))
              case "AttemptSucceeded":
                throw new Error("thrown while building")
              default:
                return Effect.void
            }
          }
        })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorFrom(Subscriber.layer(flaky, healthy.subscriber))
        const handle = yield* supervisor.add(TaskSpec.once("t", Effect.void))
        assert.strictEqual((yield* handle.await)._tag, "Completed")
        // the task ran within `add`; the subscribers handle its events on their own fibers
        yield* settle
        yield* supervisor.shutdown

        assertComplete(healthy.events, "healthy")
        const panics = ofTag(healthy.events, "SubscriberPanicked")
        assert.deepStrictEqual(panics.map((e) => e.subscriber), ["flaky", "flaky", "flaky"])
        assert.include(panics[0].reason, "refused")
        assert.include(panics[1].reason, "kaput")
        assert.include(panics[2].reason, "thrown while building")
        assert.includeMembers(seen, ["TaskFinished", "TaskRemoved", "ShutdownRequested", "AllStoppedWithinGrace"])
        assert.deepStrictEqual(
          seen.filter((k) => k !== "SubscriberPanicked"),
          healthy.events.filter((e) => e._tag !== "SubscriberPanicked").map((e) => e._tag),
          "it still gets every event"
        )
      }))

    it.scoped("a failure while handling a diagnostic event is not reported again", () =>
      Effect.gen(function*() {
        let calls = 0
        const failing = Subscriber.make({
          name: "failing",
          onEvent: () => Effect.suspend(() => (calls++, Effect.fail("always")))
        })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorFrom(Subscriber.layer(failing, healthy.subscriber))
        yield* someWork(supervisor)
        yield* settle
        // before shutdown: reports published while draining at shutdown may find the queues closed
        const before = [...healthy.events]
        const ordinary = before.filter((e) => !isDiagnostic(e))
        const panics = ofTag(before, "SubscriberPanicked")
        assert.strictEqual(panics.length, ordinary.length, "one report per ordinary event, none for the reports")
        assert.strictEqual(calls, before.length, "it was called for the reports too")
        assert.deepStrictEqual(new Set(panics.map((e) => e.subscriber)), new Set(["failing"]))
        yield* supervisor.shutdown
        assertComplete(healthy.events, "healthy")
      }))

    it.scoped("a subscriber that never returns delays no task, and shutdown waits only subscriberShutdownTimeout", () =>
      Effect.gen(function*() {
        const stuck = Subscriber.make({ name: "stuck", capacity: 4, onEvent: () => Effect.never })
        const healthy = recording("healthy")
        const supervisor = yield* supervisorFrom(Subscriber.layer(stuck, healthy.subscriber), {
          subscriberShutdownTimeout: "3 seconds"
        })
        const flaky = yield* supervisor.add(
          TaskSpec.restartable("flaky", (yield* failNTimes(2, "boom")).task).pipe(
            TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
          )
        )
        const outcome = yield* Effect.fork(flaky.await)
        yield* advance(1999)
        assert.isTrue(yield* isRunning(outcome))
        yield* advance(1)
        assert.strictEqual((yield* Fiber.join(outcome))._tag, "Completed")
        yield* supervisor.add(TaskSpec.make("forever", neverEnding))
        yield* settle
        assert.isTrue(yield* supervisor.cancel("forever"), "cancel does not wait on subscribers")

        const shutting = yield* Effect.fork(supervisor.shutdown)
        yield* advance(2999)
        assert.isTrue(yield* isRunning(shutting), "subscribers get their full drain timeout")
        yield* advance(1)
        const done = yield* poll(shutting)
        assert.isTrue(Option.isSome(done) && Exit.isSuccess(done.value), "shutdown ends at the drain timeout")
        const tags = healthy.events.map((e) => e._tag)
        const verdict = tags.indexOf("AllStoppedWithinGrace")
        assert.isAbove(verdict, 0)
        assert.deepStrictEqual(
          new Set(tags.slice(verdict + 1)),
          new Set(tags.length > verdict + 1 ? ["SubscriberOverflow"] : []),
          "only the stuck subscriber's overflow reports follow the verdict"
        )
        assert.deepStrictEqual(
          new Set(ofTag(healthy.events, "SubscriberOverflow").map((e) => e.subscriber)),
          new Set(["stuck"])
        )
        assertComplete(healthy.events, "healthy")
      }))
  })

  describe("bound", () => {
    // The worker may yield between taking a batch and starting on it (every `maxOpsBeforeYield`
    // operations): events taken but not yet delivered must still count against the capacity.
    it.effect("a blocked subscriber holds at most its capacity plus the event in hand, wherever its worker yields", () =>
      Effect.gen(function*() {
        const over: Array<string> = []
        for (const maxOps of [50, 51]) {
          for (let j = 100; j < 160; j++) {
            const runtime = yield* Effect.withMaxOpsBeforeYield(Effect.runtime<never>(), maxOps)
            const bus = new Bus(yield* Effect.clock, runtime, 16, false)
            const gate = yield* Deferred.make<void>()
            let received = 0
            bus.subscribe({
              subscriber: Subscriber.make({
                name: "blocked",
                capacity: 2,
                onEvent: (event) =>
                  event.seq === 1 ? pad(j) : Effect.zipRight(Deferred.await(gate), Effect.sync(() => void received++))
              }),
              context: runtime.context
            })
            const publish = () => bus.emit("ShutdownRequested", {})
            publish()
            yield* spin(2)
            for (let i = 0; i < 30; i++) {
              yield* Effect.yieldNow()
              publish()
              publish()
            }
            yield* Deferred.succeed(gate, void 0)
            yield* spin(200)
            yield* bus.close(Duration.seconds(1))
            // the blocked event in hand plus the two queued behind it
            if (received > 3) over.push(`maxOps=${maxOps} pad=${j}: ${received}`)
          }
        }
        assert.deepStrictEqual(over, [])
      }))
  })

  describe("layer", () => {
    it.scoped("a Subscriber.layer provided into another: both subscribers receive events", () =>
      Effect.gen(function*() {
        const inner = recording("inner")
        const outer = recording("outer")
        const supervisor = yield* supervisorFrom(
          Subscriber.layer(outer.subscriber).pipe(Layer.provide(Subscriber.layer(inner.subscriber)))
        )
        yield* someWork(supervisor)
        yield* supervisor.shutdown
        assertComplete(inner.events, "inner")
        assert.deepStrictEqual(outer.events, inner.events)
      }))

    it.scoped("two merged Subscriber.layers: both subscribers receive events", () =>
      Effect.gen(function*() {
        const left = recording("left")
        const right = recording("right")
        const supervisor = yield* supervisorFrom(
          Layer.merge(Subscriber.layer(left.subscriber), Subscriber.layer(right.subscriber))
        )
        yield* someWork(supervisor)
        yield* supervisor.shutdown
        assertComplete(left.events, "left")
        assert.deepStrictEqual(right.events, left.events)
      }))

    it.effect("a capacity that is not a positive whole number fails the layer with ConfigError naming it", () =>
      Effect.gen(function*() {
        for (const [name, capacity] of [["zero", 0], ["half", 1.5], ["negative", -1]] as const) {
          const subscriber = Subscriber.make({ name, capacity, onEvent: () => Effect.void })
          const error = yield* Effect.flip(
            Effect.scoped(supervisorFrom(Subscriber.layer(recording("fine").subscriber, subscriber)))
          )
          assert.strictEqual(error._tag, "ConfigError")
          assert.include(error.field, `'${name}'`)
          assert.include(error.field, "capacity")
        }
        assert.strictEqual(Subscriber.make({ name: "default", onEvent: () => Effect.void }).capacity, 1024)
      }))

    it.scoped("a subscriber's requirements come from the layer's context", () =>
      Effect.gen(function*() {
        class Sink extends Context.Tag("test/Sink")<Sink, { readonly push: (event: SupervisorEvent) => void }>() {}
        const sunk: Array<SupervisorEvent> = []
        const needsSink = Subscriber.make({
          name: "needs-sink",
          onEvent: (event) => Effect.map(Sink, (sink) => sink.push(event))
        })
        const healthy = recording("healthy")
        const subscribers = Layer.merge(
          Subscriber.layer(needsSink).pipe(Layer.provide(Layer.succeed(Sink, { push: (e) => void sunk.push(e) }))),
          Subscriber.layer(healthy.subscriber)
        )
        const supervisor = yield* supervisorFrom(subscribers)
        yield* someWork(supervisor)
        yield* supervisor.shutdown
        assert.deepStrictEqual(ofTag(healthy.events, "SubscriberPanicked"), [])
        assert.deepStrictEqual(sunk, healthy.events)
      }))
  })

  describe("log", () => {
    it.scoped("logs every event through Effect's logger at a level per kind", () =>
      Effect.gen(function*() {
        const lines: Array<{ readonly level: LogLevel.LogLevel; readonly message: string }> = []
        const capture = Logger.make(({ logLevel, message }) => {
          const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
          lines.push({ level: logLevel, message: text })
        })
        const supervisor = yield* supervisorFrom(
          Subscriber.layer(Subscriber.log).pipe(
            Layer.provide(Logger.replace(Logger.defaultLogger, capture)),
            Layer.provide(Logger.minimumLogLevel(LogLevel.All))
          ),
          { defaults: { timeout: "1 second" } }
        )
        let attempt = 0
        const work = Effect.suspend(() => {
          attempt++
          return attempt === 1 ? Effect.sleep("5 seconds") : attempt === 2 ? Effect.fail("boom") : Effect.void
        })
        const handle = yield* supervisor.add(
          TaskSpec.restartable("logged-task", work).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("1 second")))
        )
        const outcome = yield* Effect.fork(handle.await)
        yield* advance("1 second")
        yield* advance("1 second")
        assert.isTrue(yield* isRunning(outcome))
        yield* advance("1 second")
        assert.strictEqual((yield* Fiber.join(outcome))._tag, "Completed")
        yield* supervisor.shutdown

        const expectations: ReadonlyArray<readonly [string, LogLevel.LogLevel]> = [
          ["attempt_starting", LogLevel.Debug],
          ["attempt_timed_out", LogLevel.Warning],
          ["attempt_failed", LogLevel.Error],
          ["task_finished", LogLevel.Info],
          ["task_added", LogLevel.Info]
        ]
        for (const [label, level] of expectations) {
          const matching = lines.filter((line) => line.message.includes(label))
          assert.isAbove(matching.length, 0, `no ${label} line in ${JSON.stringify(lines.map((l) => l.message))}`)
          for (const line of matching) {
            assert.strictEqual(line.level.label, level.label, `${label}: ${line.message}`)
            assert.include(line.message, "logged-task")
          }
        }
        const finished = lines.filter((line) => line.message.includes("task_finished"))
        assert.include(finished[0].message, "outcome_completed")
        assert.strictEqual(lines.filter((line) => line.message.includes("attempt_starting")).length, 3)
      }))
  })

  describe("events stream", () => {
    it.scoped("a consumer started before the tasks gets every event in order and the stream ends after shutdown", () =>
      Effect.gen(function*() {
        const recorder = recording()
        const supervisor = yield* supervisorFrom(Subscriber.layer(recorder.subscriber))
        const consumer = yield* Effect.fork(Stream.runCollect(supervisor.events))
        yield* Effect.yieldNow()
        yield* Effect.yieldNow()
        yield* someWork(supervisor)
        assert.isTrue(yield* isRunning(consumer), "the stream stays open while the supervisor runs")
        yield* supervisor.shutdown
        const streamed = Array.from(yield* Fiber.join(consumer))
        assertComplete(streamed, "stream")
        assert.deepStrictEqual(streamed, recorder.events)
        assert.strictEqual(streamed[streamed.length - 1]._tag, "AllStoppedWithinGrace")

        const late = yield* Stream.runCollect(supervisor.events)
        assert.strictEqual(late.length, 0, "a stream started after shutdown ends at once")
      }))

    it.scoped("every event takes a seq, listened to or not: a consumer that comes late sees how many came before", () =>
      Effect.gen(function*() {
        const supervisor = yield* supervisorFrom(Layer.empty)
        // nobody listens: TaskAddRequested, TaskAdded, AttemptStarting, AttemptSucceeded, TaskFinished, TaskRemoved
        yield* supervisor.add(TaskSpec.once("unheard", Effect.void))
        const consumer = yield* Effect.fork(Stream.runCollect(Stream.take(supervisor.events, 2)))
        yield* Effect.yieldNow()
        yield* Effect.yieldNow()
        yield* supervisor.add(TaskSpec.make("heard", neverEnding))
        const heard = Array.from(yield* Fiber.join(consumer))
        assert.deepStrictEqual(heard.map((e) => [e._tag, e.seq]), [["TaskAddRequested", 7], ["TaskAdded", 8]])
      }))
  })
})
