/**
 * An operator's controls over running tasks (`restart`, `pause`, `resume`,
 * `trigger`) with their budgets, backoffs and events, and `inspect` with the
 * crash history.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { outcomeNow, settledOutcome, trackedSupervisor } from "./utils/controller.js"
import { assertTaskOrder, ms, ofTag, settleUntilRemoved } from "./utils/events.js"
import { advance, settle, settleUntilDone } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { counting, neverEnding, perRun, states } from "./utils/tasks.js"

const tenSeconds = BackoffPolicy.constant("10 seconds")

/** A failure that carries an exit code, as a child process's would. */
class Exiting extends Data.TaggedError("Exiting")<{ readonly message: string; readonly exitCode: number }> {}

/** `AttemptStarting` of `task` as `attempt@ms`. */
const starts = (events: Parameters<typeof ofTag>[0], task: string) =>
  ofTag(events, "AttemptStarting", task).map((e) => `${e.attempt}@${e.at}`)

describe("restart", () => {
  it.scoped("ends the running attempt and starts the next at once, counting nothing against the budget", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      // fails after 5 s each time; one retry allowed, one restart within a minute
      const { task } = yield* perRun(() => Effect.zipRight(Effect.sleep("5 seconds"), Effect.fail("boom")))
      const handle = yield* supervisor.add(
        TaskSpec.restartable("worker", task).pipe(
          TaskSpec.withBackoff(tenSeconds),
          TaskSpec.withMaxRetries(1),
          TaskSpec.withIntensity({ maxRestarts: 1, within: "1 minute" })
        )
      )
      yield* advance("1 second")
      assert.isTrue(yield* supervisor.restart("worker"))
      yield* settle
      yield* advance("1 second")
      assert.isTrue(yield* supervisor.restart("worker"))
      yield* settle
      assert.deepStrictEqual(starts(events, "worker"), ["1@0", "2@1000", "3@2000"])
      // its own failures: the first is retried after its backoff, the second gives up
      yield* advance("5 seconds")
      yield* advance("10 seconds")
      yield* advance("5 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.include(TaskOutcome.reason(outcome!), "retry limit reached after 1 of 1 retries")
      assert.deepStrictEqual(starts(events, "worker"), ["1@0", "2@1000", "3@2000", "4@17000"])
      assert.deepStrictEqual(ofTag(events, "AttemptCanceled", "worker").map((e) => e.attempt), [1, 2])
      assert.deepStrictEqual(ofTag(events, "IntensityExceeded"), [], "operator restarts are not counted")
      assert.strictEqual(ofTag(events, "TaskRestartRequested", "worker").length, 2)
      assertTaskOrder(events, "worker")
    }))

  it.scoped("during a backoff: the next attempt starts now instead of after it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.restartable("flaky", Effect.fail("boom")).pipe(TaskSpec.withBackoff(tenSeconds)))
      yield* advance("3 seconds")
      assert.deepStrictEqual(states(yield* supervisor.list), ["flaky:BackingOff"])
      assert.isTrue(yield* supervisor.restart("flaky"))
      yield* settle
      assert.deepStrictEqual(starts(events, "flaky").slice(0, 2), ["1@0", "2@3000"])
      yield* supervisor.shutdown
      assertTaskOrder(events, "flaky")
    }))

  it.scoped("of a group restarts only its own attempt: its children are stopped in reverse order and start afresh", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", neverEnding)])
      )
      yield* settle
      assert.isTrue(yield* supervisor.restart("g"))
      yield* settle
      const finished = ofTag(events, "TaskFinished").map((e) => e.task)
      assert.deepStrictEqual(finished, ["g/b", "g/a"])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running", "g/b:Running"])
      assert.deepStrictEqual(starts(events, "g"), ["1@0", "2@0"])
    }))

  it.scoped("of a group's child restarts that child only, whatever the group's strategy", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", neverEnding)], {
          strategy: "oneForAll",
          intensity: { maxRestarts: 0, within: "1 minute" }
        })
      )
      yield* settle
      assert.isTrue(yield* supervisor.restart("g/a"))
      yield* settle
      assert.deepStrictEqual(starts(events, "g/a"), ["1@0", "2@0"])
      assert.deepStrictEqual(starts(events, "g/b"), ["1@0"])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting"), [])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running", "g/b:Running"])
    }))
})

describe("controls while a failed attempt's finalizers run", () => {
  /** A task that runs once: its first attempt fails at 1 s and releases its resource for 1 s; later ones run on. */
  const failingSlowly = perRun((run) =>
    run === 1
      ? Effect.zipRight(
        Effect.addFinalizer(() => Effect.sleep("1 second")),
        Effect.zipRight(Effect.sleep("1 second"), Effect.fail("boom"))
      )
      : neverEnding
  )

  it.scoped("restart applies: the failure is reported, then the next attempt starts once the release is over", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { task } = yield* failingSlowly
      const handle = yield* supervisor.add(TaskSpec.once("job", task))
      yield* advance("1500 millis")
      assert.deepStrictEqual(states(yield* supervisor.list), ["job:Running"])
      assert.isTrue(yield* supervisor.restart("job"))
      yield* advance("500 millis")
      assert.isUndefined(yield* outcomeNow(handle), "a restart that returned true took effect")
      assert.deepStrictEqual(starts(events, "job"), ["1@0", "2@2000"])
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "job").map((e) => [e.attempt, e.reason]), [[1, "boom"]])
      assert.deepStrictEqual(states(yield* supervisor.list), ["job:Running"])
    }))

  it.scoped("pause applies: the task is paused once the release is over, and resumes with a new attempt", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { task } = yield* failingSlowly
      const handle = yield* supervisor.add(TaskSpec.once("job", task))
      yield* advance("1500 millis")
      assert.isTrue(yield* supervisor.pause("job"))
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle), "a pause that returned true took effect")
      assert.deepStrictEqual(states(yield* supervisor.list), ["job:Paused"])
      assert.isTrue(yield* supervisor.resume("job"))
      yield* settle
      assert.deepStrictEqual(starts(events, "job"), ["1@0", "2@11500"])
    }))
})

describe("pause and resume", () => {
  it.scoped("a paused task runs nothing and uses no budget until resumed; then it starts at once", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { runs, task } = yield* counting(Effect.sleep("1 second"))
      yield* supervisor.add(TaskSpec.periodic("tick", task, "10 seconds").pipe(TaskSpec.withMaxRetries(0)))
      yield* advance("500 millis")
      assert.isTrue(yield* supervisor.pause("tick"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["tick:Paused"])
      assert.isFalse(yield* supervisor.pause("tick"), "paused already")
      assert.isFalse(yield* supervisor.isAlive("tick"))
      yield* advance("1 hour")
      assert.strictEqual(yield* runs, 1)
      assert.isTrue(yield* supervisor.resume("tick"))
      yield* settle
      assert.isFalse(yield* supervisor.resume("tick"), "not paused")
      assert.deepStrictEqual(starts(events, "tick"), ["1@0", "2@3600500"])
      assert.deepStrictEqual(ofTag(events, "AttemptCanceled", "tick").map((e) => [e.attempt, e.cause]), [
        [1, undefined]
      ])
      yield* advance("1 second")
      assert.deepStrictEqual(states(yield* supervisor.list), ["tick:BackingOff"])
      yield* supervisor.shutdown
      assertTaskOrder(events, "tick")
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "TaskPaused" || e._tag === "TaskResumed").map((e) => `${e._tag}@${e.at}`),
        ["TaskPaused@500", "TaskResumed@3600500"]
      )
    }))

  it.scoped("a task paused during its backoff stays paused past it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.restartable("flaky", Effect.fail("boom")).pipe(TaskSpec.withBackoff(tenSeconds)))
      yield* advance("1 second")
      assert.isTrue(yield* supervisor.pause("flaky"))
      yield* advance("1 minute")
      assert.deepStrictEqual(starts(events, "flaky"), ["1@0"])
      assert.isTrue(yield* supervisor.restart("flaky"), "restart of a paused task resumes it")
      yield* settle
      assert.deepStrictEqual(starts(events, "flaky"), ["1@0", "2@61000"])
    }))

  it.scoped("stopping a paused task ends it Canceled at once; shutdown does not wait for it", () =>
    Effect.gen(function*() {
      const { live, supervisor } = yield* trackedSupervisor({ grace: "30 seconds" })
      const first = yield* supervisor.add(TaskSpec.make("first", neverEnding))
      yield* supervisor.add(TaskSpec.make("second", neverEnding))
      yield* settle
      yield* supervisor.pause("first")
      yield* supervisor.pause("second")
      yield* settle
      assert.isTrue(yield* supervisor.cancel(first.id))
      assert.deepStrictEqual(yield* first.await, TaskOutcome.Canceled)
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* settleUntilDone(stopping, "shutdown, which waits for no grace, to end")
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("a pause, then a resume before it took effect: the task goes on at once", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.make("steady", neverEnding))
      yield* settle
      assert.isTrue(yield* supervisor.pause("steady"))
      assert.isTrue(yield* supervisor.resume("steady"))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["steady:Running"])
      assert.deepStrictEqual(starts(events, "steady"), ["1@0", "2@0"])
    }))
})

describe("controls that wait for their turn", () => {
  it.scoped("a paused task resumes with its retry budget and backoff as they were", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.restartable("budget", Effect.fail("boom")).pipe(
          TaskSpec.withBackoff(tenSeconds),
          TaskSpec.withMaxRetries(1)
        )
      )
      yield* settle
      // its first failure used its one retry's backoff; paused during it, resumed an hour later
      assert.isTrue(yield* supervisor.pause("budget"))
      yield* advance("1 hour")
      assert.isTrue(yield* supervisor.resume("budget"))
      const outcome = yield* settledOutcome(handle)
      yield* settleUntilRemoved(events, handle.id)
      assert.strictEqual(outcome._tag, "Failed")
      assert.include(TaskOutcome.reason(outcome), "retry limit reached after 1 of 1 retries")
      assert.deepStrictEqual(starts(events, "budget"), ["1@0", "2@3600000"])
    }))

  it.scoped("restart of a task still waiting for its permit does not apply and publishes nothing", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
      yield* supervisor.add(TaskSpec.make("holder", neverEnding))
      yield* supervisor.add(TaskSpec.make("queued", neverEnding))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["holder:Running", "queued:Waiting"])
      assert.isFalse(yield* supervisor.restart("queued"))
      assert.isFalse(yield* supervisor.trigger("queued"))
      assert.deepStrictEqual(ofTag(events, "TaskRestartRequested"), [])
    }))

  it.scoped("trigger cuts a failure's backoff short", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.restartable("flaky", Effect.fail("boom")).pipe(TaskSpec.withBackoff(tenSeconds)))
      yield* advance("2 seconds")
      assert.isTrue(yield* supervisor.trigger("flaky"))
      yield* settle
      assert.deepStrictEqual(starts(events, "flaky").slice(0, 2), ["1@0", "2@2000"])
      assert.deepStrictEqual(ofTag(events, "TaskTriggered").map((e) => e.at), [2000])
    }))
})

describe("trigger", () => {
  it.scoped("a trigger after a pause in the same tick does not apply: the pause takes effect", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.restartable("flaky", Effect.fail("boom")).pipe(TaskSpec.withBackoff(tenSeconds)))
      yield* advance("2 seconds")
      assert.isTrue(yield* supervisor.pause("flaky"))
      assert.isFalse(yield* supervisor.trigger("flaky"))
      yield* advance("1 minute")
      assert.deepStrictEqual(states(yield* supervisor.list), ["flaky:Paused"])
      assert.deepStrictEqual(starts(events, "flaky"), ["1@0"])
    }))

  it.scoped("starts a periodic task's next attempt now; a running task is not triggered", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { task } = yield* counting(Effect.sleep("1 second"))
      yield* supervisor.add(TaskSpec.periodic("report", task, "1 minute"))
      yield* settle
      assert.isFalse(yield* supervisor.trigger("report"), "running")
      yield* advance("1 second")
      yield* advance("9 seconds")
      assert.isTrue(yield* supervisor.trigger("report"))
      yield* settle
      yield* advance("1 second")
      // the interval counts again from the triggered run's end
      yield* advance("1 minute")
      assert.deepStrictEqual(starts(events, "report"), ["1@0", "2@10000", "3@71000"])
      assert.deepStrictEqual(ofTag(events, "TaskTriggered").map((e) => e.at), [10000])
      yield* supervisor.shutdown
      assertTaskOrder(events, "report")
    }))
})

describe("controls of tasks that are gone", () => {
  it.scoped("a name not registered or a finished task's id: false; an id never issued: TaskNotFound", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const done = yield* supervisor.add(TaskSpec.once("done", Effect.void))
      yield* done.await
      for (const control of [supervisor.restart, supervisor.pause, supervisor.resume, supervisor.trigger]) {
        assert.isFalse(yield* control("nobody"))
        assert.isFalse(yield* control(done.id))
        const error = yield* Effect.flip(control(999))
        assert.strictEqual(error._tag, "TaskNotFound")
      }
      assert.isTrue(Option.isNone(yield* supervisor.inspect("nobody")))
      assert.strictEqual((yield* Effect.flip(supervisor.inspect(999)))._tag, "TaskNotFound")
    }))
})

describe("inspect", () => {
  it.scoped("a task's restarts, last attempt, uptime and its last 10 failures, oldest first", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const { task } = yield* perRun((run) =>
        run <= 12 ? Effect.fail(`failure ${run}`) : Effect.zipRight(Effect.sleep("1 hour"), Effect.void)
      )
      yield* supervisor.add(
        TaskSpec.make("history", task).pipe(
          TaskSpec.withBackoff(BackoffPolicy.constant("1 second")),
          TaskSpec.withRestart(RestartPolicy.onFailure)
        )
      )
      for (let i = 0; i < 12; i++) yield* advance("1 second")
      yield* advance("5 seconds")
      const details = Option.getOrThrow(yield* supervisor.inspect("history"))
      assert.strictEqual(details.state, "Running")
      assert.strictEqual(details.attempt, 13)
      assert.strictEqual(details.restarts, 12)
      assert.strictEqual(details.uptime && ms(details.uptime), 5000)
      assert.deepStrictEqual(details.lastAttempt, { result: "failed", reason: "failure 12", at: 11000 })
      assert.deepStrictEqual(
        details.failures.map((f) => [f.attempt, f.reason, f.at]),
        Array.from({ length: 10 }, (_, i) => [i + 3, `failure ${i + 3}`, (i + 2) * 1000])
      )
      assert.isUndefined(details.group)
    }))

  it.scoped("the crash history keeps a failure's exit code", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      yield* supervisor.add(
        TaskSpec.restartable("exits", Effect.fail(new Exiting({ message: "exited", exitCode: 42 }))).pipe(
          TaskSpec.withBackoff(tenSeconds)
        )
      )
      yield* settle
      const { failures } = Option.getOrThrow(yield* supervisor.inspect("exits"))
      assert.deepStrictEqual(failures.map((f) => [f.attempt, f.exitCode]), [[1, 42]])
    }))
})
