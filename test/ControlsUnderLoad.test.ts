/**
 * Runtime controls against everything else: permits, a task's own first
 * step, stops, shutdown, parking, group restarts with paused children, an
 * attempt's finalizers; with per-task event order, one attempt at a time,
 * metrics back to 0 and `inspect` after each.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as SupervisorMetrics from "../src/SupervisorMetrics.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { outcomeNow, trackedSupervisor } from "./utils/controller.js"
import { assertEveryIdOrder, assertTaskOrder, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { gauge as runningGauge, neverEnding, perRun, slowToStop, states, stubborn } from "./utils/tasks.js"

const second = BackoffPolicy.constant("1 second")

/** The state gauges (supervisor-wide): registered, running, backing off. */
const gauges = () =>
  Effect.all([
    Effect.map(Metric.value(SupervisorMetrics.registered), (state) => state.value),
    Effect.map(Metric.value(SupervisorMetrics.running), (state) => state.value),
    Effect.map(Metric.value(SupervisorMetrics.backingOff), (state) => state.value)
  ])

const restartsOf = (task: string) =>
  Effect.map(Metric.value(Metric.tagged(SupervisorMetrics.restarts, "task", task)), (s) => s.count)

const startsOf = (events: ReadonlyArray<SupervisorEvent>, task: string) =>
  ofTag(events, "AttemptStarting", task).map((e) => `${e.attempt}@${e.at}`)

/** Shut down while moving the TestClock, for tasks slow to stop. */
const shutdownAdvancing = (supervisor: { readonly shutdown: Effect.Effect<void, unknown> }) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(supervisor.shutdown))
    for (let i = 0; i < 20; i++) {
      yield* advance("1 second")
      if (Option.isSome(yield* Fiber.poll(fiber))) break
    }
    return yield* Fiber.join(fiber)
  })

/**
 * A group of `children` under `strategy` with `paused` paused: `crashing`
 * crashes at 5 s (1 s backoff) and its restart goes on without the paused
 * child, which stays paused for an hour, then runs again once resumed.
 */
const pausedChildThroughRestart = (
  strategy: "oneForAll" | "restForOne",
  group: string,
  children: ReadonlyArray<string>,
  paused: string,
  crashing: string
) =>
  Effect.gen(function*() {
    const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
    const { task: crashes } = yield* perRun((run) =>
      run === 1 ? Effect.zipRight(Effect.sleep("5 seconds"), Effect.fail(`${crashing} crashed`)) : neverEnding
    )
    yield* supervisor.add(
      TaskSpec.group(
        group,
        children.map((name) =>
          name === crashing
            ? TaskSpec.make(name, crashes).pipe(TaskSpec.withBackoff(second))
            : TaskSpec.make(name, neverEnding)
        ),
        { strategy }
      )
    )
    yield* settle
    assert.isTrue(yield* supervisor.pause(`${group}/${paused}`))
    yield* settle
    yield* advance("5 seconds")
    yield* advance("1 second")
    yield* advance("1 hour")
    const running = (pausedState: string) => [
      `${group}:Running`,
      ...children.map((name) => `${group}/${name}:${name === paused ? pausedState : "Running"}`)
    ]
    assert.deepStrictEqual(states(yield* supervisor.list), running("Paused"), "the restart went on without it")
    assert.isTrue(yield* supervisor.resume(`${group}/${paused}`))
    yield* settle
    assert.deepStrictEqual(states(yield* supervisor.list), running("Running"))
    yield* shutdownAdvancing(supervisor)
    assert.strictEqual(yield* live, 0)
    assertEveryIdOrder(events)
  })

/** After shutdown: no fiber left, every task's events in order, no control applied nor attempt started once it began. */
const assertQuietShutdown = (events: ReadonlyArray<SupervisorEvent>, live: number) => {
  const shutdownAt = ofTag(events, "ShutdownRequested")[0].seq
  const late = events.filter((e) =>
    e.seq > shutdownAt &&
    (e._tag === "AttemptStarting" || e._tag === "TaskResumed" || e._tag === "TaskRestartRequested")
  )
  assert.strictEqual(live, 0)
  assertEveryIdOrder(events)
  assert.deepStrictEqual(late.map((e) => e._tag), [], "during shutdown")
}

describe("controls and permits", () => {
  it.scoped("pausing a task waiting for a permit leaks no permit; resumed, it waits its turn again", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ maxConcurrent: 1, grace: "5 seconds" })
      const a = yield* supervisor.add(TaskSpec.make("p-a", neverEnding))
      yield* supervisor.add(TaskSpec.make("p-b", neverEnding))
      yield* supervisor.add(TaskSpec.make("p-c", neverEnding))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["p-a:Running", "p-b:Waiting", "p-c:Waiting"])
      assert.isTrue(yield* supervisor.pause("p-b"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["p-a:Running", "p-b:Paused", "p-c:Waiting"])
      assert.isTrue(yield* supervisor.cancel(a.id))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["p-b:Paused", "p-c:Running"])
      assert.isTrue(yield* supervisor.resume("p-b"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["p-b:Waiting", "p-c:Running"])
      assert.isTrue(yield* supervisor.cancel("p-c"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["p-b:Running"])
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
      assertEveryIdOrder(events)
      for (const name of ["p-a", "p-b", "p-c"]) assert.deepStrictEqual(yield* gauges(), [0, 0, 0], name)
    }))

  it.scoped("pause/resume/restart of the permit holder: exactly one attempt runs at a time under maxConcurrent 1", () =>
    Effect.gen(function*() {
      const g = yield* runningGauge
      const { events, live, supervisor } = yield* trackedSupervisor({ maxConcurrent: 1, grace: "5 seconds" })
      yield* supervisor.add(TaskSpec.make("q-a", g.wrap(slowToStop("100 millis"))))
      yield* supervisor.add(TaskSpec.make("q-b", g.wrap(slowToStop("100 millis"))))
      yield* settle
      for (let i = 0; i < 5; i++) {
        const holder = (yield* supervisor.list).find((t) => t.state === "Running")!.name
        yield* supervisor.pause(holder)
        yield* supervisor.resume(holder)
        yield* supervisor.pause(holder)
        yield* supervisor.restart(holder)
        yield* advance("50 millis")
        yield* advance("100 millis")
      }
      assert.strictEqual(yield* Ref.get(g.peak), 1, "never two attempts at once under maxConcurrent 1")
      const running = (yield* supervisor.list).filter((t) => t.state === "Running")
      assert.strictEqual(running.length, 1, "a permit is held by exactly one running task")
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
      assertEveryIdOrder(events)
    }))

  it.scoped("rapid control sequences in one tick: one attempt at a time, one TaskFinished, gauges back to 0", () =>
    Effect.gen(function*() {
      const g = yield* runningGauge
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const name = "rapid"
      yield* supervisor.add(TaskSpec.make(name, g.wrap(slowToStop("1 second"))).pipe(TaskSpec.withBackoff(second)))
      yield* settle
      const seqs: Array<ReadonlyArray<"pause" | "resume" | "restart" | "trigger">> = [
        ["pause", "resume", "pause", "restart"],
        ["restart", "pause"],
        ["pause", "resume", "resume", "pause"],
        ["restart", "restart", "restart"],
        ["pause", "restart", "pause", "resume"]
      ]
      for (const seq of seqs) {
        for (const c of seq) yield* supervisor[c](name)
        yield* settle
        yield* advance("1 second")
        yield* advance("1 second")
        // whatever the sequence, the task is running or paused
        const row = (yield* supervisor.list)[0]
        assert.include(["Running", "Paused"], row.state, `${seq.join(",")}`)
        if (row.state === "Paused") yield* supervisor.resume(name)
        yield* settle
      }
      assert.strictEqual(yield* Ref.get(g.peak), 1)
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
      assertTaskOrder(events, name)
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0])
    }))

  it.scoped("restart right after a pause in the same tick starts no attempt that is canceled at once", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      yield* supervisor.add(TaskSpec.make("phantom", neverEnding))
      yield* settle
      // resume then pause in one tick: the resumed task has not started yet when it is paused again
      assert.isTrue(yield* supervisor.pause("phantom"))
      yield* settle
      assert.isTrue(yield* supervisor.resume("phantom"))
      assert.isTrue(yield* supervisor.pause("phantom"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["phantom:Paused"])
      assert.deepStrictEqual(
        startsOf(events, "phantom"),
        ["1@0"],
        "a task paused before its resumed attempt began should not start (and cancel) an attempt"
      )
    }))

  it.scoped("a task that pauses itself in its first step (added from inside an Effect, 'Now' start)", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const { runs, task } = yield* perRun((run) =>
        run === 1
          ? Effect.zipRight(TaskSupervisor.pause("self-pauser"), neverEnding)
          : neverEnding
      )
      const handle = yield* supervisor.add(TaskSpec.make("self-pauser", task)).pipe(
        Effect.provideService(TaskSupervisor.TaskSupervisor, supervisor)
      )
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["self-pauser:Paused"])
      assert.deepStrictEqual(yield* gauges(), [1, 0, 0])
      assert.isTrue(yield* supervisor.resume("self-pauser"))
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 2)
      assert.deepStrictEqual(states(yield* supervisor.list), ["self-pauser:Running"])
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual((yield* handle.await)._tag, "Canceled")
      assert.strictEqual(yield* live, 0)
      assertTaskOrder(events, "self-pauser")
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0])
    }))

  it.scoped("a once task that pauses itself and then completes: the pause applies after its success is reported", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const handle = yield* supervisor.add(TaskSpec.once("pause-then-done", TaskSupervisor.pause("pause-then-done")))
        .pipe(Effect.provideService(TaskSupervisor.TaskSupervisor, supervisor))
      yield* settle
      // the pause returned true, so it takes effect: the attempt's success is reported, then the task waits paused
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(states(yield* supervisor.list), ["pause-then-done:Paused"])
      assert.deepStrictEqual(yield* gauges(), [1, 0, 0])
      assert.deepStrictEqual(
        events.filter((e) => "task" in e && e.task === "pause-then-done").map((e) => e._tag).slice(2),
        ["AttemptStarting", "TaskPaused", "AttemptSucceeded"]
      )
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual((yield* handle.await)._tag, "Canceled")
      assertTaskOrder(events, "pause-then-done")
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0])
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("controls during a stop's grace and on a paused task being stopped: false, nothing restarts", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const h = yield* supervisor.add(TaskSpec.make("grace", slowToStop("2 seconds")))
      yield* settle
      assert.isTrue(yield* supervisor.remove(h.id))
      yield* settle
      for (const c of ["pause", "resume", "restart", "trigger"] as const) {
        assert.isFalse(yield* supervisor[c]("grace"), c)
      }
      yield* advance("2 seconds")
      assert.strictEqual((yield* outcomeNow(h))?._tag, "Canceled")
      assert.deepStrictEqual(startsOf(events, "grace"), ["1@0"])
      assertTaskOrder(events, "grace")
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("controls during shutdown: no new attempt starts after ShutdownRequested (group child resumed)", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "10 seconds" })
      yield* supervisor.add(
        TaskSpec.group("sd", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", slowToStop("3 seconds"))])
      )
      yield* settle
      assert.isTrue(yield* supervisor.pause("sd/a"))
      yield* settle
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* settle
      // the group stops b first (reverse order), which takes 3 s; a is paused meanwhile
      const resumed = yield* supervisor.resume("sd/a")
      const restarted = yield* supervisor.restart("sd/a")
      yield* settle
      yield* advance("3 seconds")
      yield* advance("1 second")
      yield* Fiber.join(stopping)
      assert.isFalse(resumed)
      assert.isFalse(restarted)
      assertQuietShutdown(events, yield* live)
    }))

  it.scoped("restart of a running group child during shutdown starts no new attempt", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "10 seconds" })
      yield* supervisor.add(
        TaskSpec.group("sd2", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", slowToStop("3 seconds"))])
      )
      yield* settle
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* settle
      const restarted = yield* supervisor.restart("sd2/a")
      yield* settle
      yield* advance("3 seconds")
      yield* advance("1 second")
      yield* Fiber.join(stopping)
      assert.isFalse(restarted)
      assertQuietShutdown(events, yield* live)
    }))

  it.scoped("trigger and pause of a parked task; intensity not consumed by controls", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const name = "parked"
      yield* supervisor.add(
        TaskSpec.restartable(name, Effect.fail("boom")).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withIntensity({ maxRestarts: 1, within: "1 minute", onExhausted: { park: "1 hour" } })
        )
      )
      yield* advance("1 second")
      yield* advance("1 second")
      assert.deepStrictEqual(states(yield* supervisor.list), [`${name}:Parked`])
      assert.deepStrictEqual(yield* gauges(), [1, 0, 1])
      assert.isTrue(yield* supervisor.pause(name))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), [`${name}:Paused`])
      assert.deepStrictEqual(yield* gauges(), [1, 0, 0], "a paused task is not backing off")
      assert.isFalse(yield* supervisor.trigger(name), "a paused task is not triggered")
      assert.isTrue(yield* supervisor.resume(name))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), [`${name}:Parked`])
      assert.isTrue(yield* supervisor.trigger(name))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), [`${name}:Parked`])
      // its own two attempts, the one its resume started, the one its trigger started
      assert.deepStrictEqual(startsOf(events, name), ["1@0", "2@1000", "3@2000", "4@2000"])
      assert.strictEqual(yield* restartsOf(name), 3)
      assert.strictEqual(ofTag(events, "IntensityExceeded", name).length, 1)
      assert.strictEqual(ofTag(events, "TaskParked", name).length, 1, "announced once")
      assert.strictEqual(ofTag(events, "TaskTriggered", name).length, 1)
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
      assertTaskOrder(events, name)
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0])
    }))

  it.scoped("a restart control while an attempt's interruptible finalizer runs: the attempt still ends and frees its permit", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ maxConcurrent: 1, grace: "5 seconds" })
      const { task } = yield* perRun((run) =>
        run === 1
          ? Effect.zipRight(
            Effect.addFinalizer(() => Effect.interruptible(Effect.sleep("1 second"))),
            Effect.zipRight(Effect.sleep("1 second"), Effect.fail("boom"))
          )
          : neverEnding
      )
      yield* supervisor.add(TaskSpec.restartable("fin", task).pipe(TaskSpec.withBackoff(second)))
      yield* supervisor.add(TaskSpec.make("waiter", neverEnding))
      yield* advance("1 second")
      // attempt 1 failed; its finalizer is running (state still Running)
      assert.isTrue(yield* supervisor.restart("fin"))
      yield* settle
      yield* advance("1 second")
      yield* advance("1 second")
      const terminal = events.filter((e) =>
        "task" in e && e.task === "fin" && (e._tag === "AttemptFailed" || e._tag === "AttemptCanceled")
      )
      assert.strictEqual(
        terminal.length,
        1,
        `attempt 1 has its terminal event; states ${states(yield* supervisor.list).join(" ")}; fin events ${
          events.filter((e) => "task" in e && e.task === "fin").map((e) => e._tag).join(",")
        }`
      )
      assert.deepStrictEqual(states(yield* supervisor.list).sort(), ["fin:Waiting", "waiter:Running"].sort())
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0)
      assertEveryIdOrder(events)
    }))
})

describe("controls of groups and their children", () => {
  it.scoped("oneForAll: a paused first child does not hold its restarting siblings at their gates", () =>
    pausedChildThroughRestart("oneForAll", "ofa", ["a", "b"], "a", "b"))

  it.scoped("restForOne: paused later sibling, earlier child crashes, then resume", () =>
    pausedChildThroughRestart("restForOne", "rfo", ["a", "b", "c"], "b", "a"))

  it.scoped("pause of a group tears its children down; resume starts them afresh; gauges consistent", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      yield* supervisor.add(
        TaskSpec.group("pg", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", slowToStop("1 second"))], {
          strategy: "oneForAll"
        })
      )
      yield* settle
      assert.isTrue(yield* supervisor.pause("pg/b"))
      yield* settle
      assert.isTrue(yield* supervisor.pause("pg"))
      yield* settle
      yield* advance("1 second")
      assert.deepStrictEqual(states(yield* supervisor.list), ["pg:Paused"])
      assert.isTrue(yield* supervisor.resume("pg"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["pg:Running", "pg/a:Running", "pg/b:Running"])
      yield* shutdownAdvancing(supervisor)
      yield* advance("1 second")
      assert.strictEqual(yield* live, 0)
      assertEveryIdOrder(events)
      for (const name of ["pg", "pg/a", "pg/b"]) assert.deepStrictEqual(yield* gauges(), [0, 0, 0], name)
    }))

  it.scoped("a child paused at its gate during a oneForAll restart; its group torn down while it is paused", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const { task: c } = yield* perRun((run) =>
        run === 1 ? Effect.zipRight(Effect.sleep("1 second"), Effect.fail("c crashed")) : neverEnding
      )
      yield* supervisor.add(
        TaskSpec.group("gate", [
          TaskSpec.make("a", slowToStop("2 seconds")),
          TaskSpec.make("b", neverEnding),
          TaskSpec.make("c", c).pipe(TaskSpec.withBackoff(second))
        ], { strategy: "oneForAll" })
      )
      yield* settle
      yield* advance("1 second")
      // c crashed: b stopped at once, a takes 2 s to stop; b waits at its gate meanwhile
      const bState = (yield* supervisor.list).find((t) => t.name === "gate/b")!.state
      assert.strictEqual(bState, "Waiting", "b waits at its gate")
      const paused = yield* supervisor.pause("gate/b")
      assert.isTrue(paused)
      yield* settle
      yield* advance("2 seconds")
      yield* advance("1 second")
      const rows = states(yield* supervisor.list)
      const canceling = yield* Effect.fork(supervisor.cancel("gate"))
      for (let i = 0; i < 10; i++) yield* advance("1 second")
      assert.deepStrictEqual(
        Option.map(yield* Fiber.poll(canceling), Exit.isSuccess),
        Option.some(true),
        `cancel of the group returned; b was ${bState}, paused=${paused}, rows=${rows.join(" ")}, now ${
          states(yield* supervisor.list).join(" ")
        }`
      )
      assert.deepStrictEqual(yield* supervisor.list, [])
      yield* shutdownAdvancing(supervisor)
      assert.strictEqual(yield* live, 0, `b was ${bState}, paused=${paused}, rows=${rows.join(" ")}`)
      assertEveryIdOrder(events)
    }))
})

describe("metrics and inspect after controls", () => {
  it.scoped("gauges back to 0 after a force-aborted, paused, backing-off and parked task shut down", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* trackedSupervisor({ grace: "2 seconds" })
      yield* supervisor.add(TaskSpec.make("m-stubborn", stubborn))
      yield* supervisor.add(TaskSpec.make("m-paused", neverEnding))
      yield* supervisor.add(
        TaskSpec.restartable("m-backoff", Effect.fail("x")).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("1 hour")))
      )
      yield* supervisor.add(TaskSpec.make("m-stubborn-paused", stubborn))
      yield* settle
      yield* supervisor.pause("m-paused")
      // a pause that can never land: the attempt ignores interruption
      assert.isTrue(yield* supervisor.pause("m-stubborn-paused"))
      yield* settle
      // registered: all 4; running: the two stubborn ones; backing off: one; the paused one neither
      assert.deepStrictEqual(yield* gauges(), [4, 2, 1])
      const stopping = yield* Effect.fork(Effect.exit(supervisor.shutdown))
      yield* advance("2 seconds")
      const exit = yield* Fiber.join(stopping)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0])
      const stubbornIds = ofTag(events, "TaskAdded").filter((e) => e.task.startsWith("m-stubborn")).map((e) => e.id)
      assertEveryIdOrder(events, stubbornIds)
    }))

  it.scoped("restarts counter equals attempts - 1 across controls, group restarts and failures", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* trackedSupervisor({ grace: "2 seconds" })
      const { task } = yield* perRun((run) => run % 2 === 0 ? Effect.fail("even") : Effect.sleep("1 second"))
      const name = "m-counted"
      const before = yield* restartsOf(name)
      yield* supervisor.add(
        TaskSpec.make(name, task).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withRestart(RestartPolicy.always())
        )
      )
      yield* settle
      yield* supervisor.restart(name)
      yield* advance("500 millis")
      yield* supervisor.pause(name)
      yield* settle
      yield* supervisor.resume(name)
      for (let i = 0; i < 6; i++) yield* advance("1 second")
      yield* supervisor.trigger(name)
      yield* settle
      yield* shutdownAdvancing(supervisor)
      const starts = ofTag(events, "AttemptStarting", name).length
      assert.strictEqual((yield* restartsOf(name)) - before, starts - 1)
      assertTaskOrder(events, name)
    }))

  it.scoped("inspect: uptime only while an attempt runs; lastAttempt after controls; failures bounded", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* trackedSupervisor({ grace: "2 seconds" })
      const { task } = yield* perRun((run) => run <= 15 ? Effect.fail(`f${run}`) : neverEnding)
      yield* supervisor.add(TaskSpec.restartable("insp", task).pipe(TaskSpec.withBackoff(second)))
      for (let i = 0; i < 15; i++) yield* advance("1 second")
      yield* advance("3 seconds")
      let d = Option.getOrThrow(yield* supervisor.inspect("insp"))
      assert.strictEqual(d.failures.length, 10)
      assert.strictEqual(d.failures[9].reason, "f15")
      assert.strictEqual(d.uptime === undefined ? -1 : Duration.toMillis(d.uptime), 3000)
      yield* supervisor.pause("insp")
      yield* settle
      d = Option.getOrThrow(yield* supervisor.inspect("insp"))
      assert.isUndefined(d.uptime, "paused: no uptime")
      assert.strictEqual(d.lastAttempt?.result, "canceled")
      assert.strictEqual(d.failures.length, 10)
      yield* advance("1 minute")
      yield* supervisor.restart("insp")
      yield* settle
      yield* advance("2 seconds")
      d = Option.getOrThrow(yield* supervisor.inspect("insp"))
      assert.strictEqual(d.state, "Running")
      assert.deepStrictEqual([d.attempt, d.restarts], [17, 16])
      assert.strictEqual(d.uptime && Duration.toMillis(d.uptime), 2000)
    }))
})
