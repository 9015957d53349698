/**
 * Restart intensity (OTP's MaxR within MaxT) with its parking, reset after a
 * stable uptime, and the progress watchdog: on TestClock, asserted from
 * outcomes, `list` and events.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as Testing from "../src/testing.js"
import { outcomeNow, settledOutcome } from "./utils/controller.js"
import { assertTaskOrder, ms, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { counting, neverEnding, perRun, slowToStop } from "./utils/tasks.js"

const second = BackoffPolicy.constant("1 second")

/** A task failing at once, restarted every second. */
const failing = (name: string) =>
  Effect.map(counting(Effect.fail("boom")), ({ runs, task }) => ({
    runs,
    spec: TaskSpec.restartable(name, task).pipe(TaskSpec.withBackoff(second))
  }))

describe("restart intensity", () => {
  it.scoped("allows exactly maxRestarts restarts within the window; one more ends the task Failed, naming it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { runs, spec } = yield* failing("flaky")
      const handle = yield* supervisor.add(spec.pipe(TaskSpec.withIntensity({ maxRestarts: 3, within: "5 seconds" })))
      yield* advance("10 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.strictEqual(TaskOutcome.reason(outcome!), "4 restarts within 5s: boom")
      // three restarts happened: four attempts; the fourth restart was refused
      assert.strictEqual(yield* runs, 4)
      const [exceeded] = ofTag(events, "IntensityExceeded")
      assert.deepStrictEqual(
        [exceeded.task, exceeded.restarts, ms(exceeded.within), exceeded.action],
        ["flaky", 4, 5000, "Fail"]
      )
      assert.strictEqual(exceeded.at, 3000)
      assertTaskOrder(events, "flaky")
      assert.deepStrictEqual(ofTag(events, "BackoffScheduled").length, 3)
    }))

  it.scoped("a restart exactly `within` ago still counts; one a millisecond older no longer does", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const edge = (name: string, backoff: number) =>
        Effect.flatMap(counting(Effect.fail("boom")), ({ runs, task }) =>
          Effect.map(
            supervisor.add(
              TaskSpec.restartable(name, task).pipe(
                TaskSpec.withBackoff(BackoffPolicy.constant(backoff)),
                TaskSpec.withIntensity({ maxRestarts: 1, within: "1 second" })
              )
            ),
            (handle) => ({ handle, runs })
          ))
      const inside = yield* edge("inside", 1000)
      const outside = yield* edge("outside", 1001)
      yield* advance("5 seconds")
      assert.strictEqual((yield* outcomeNow(inside.handle))?._tag, "Failed")
      assert.strictEqual(yield* inside.runs, 2)
      assert.isUndefined(yield* outcomeNow(outside.handle), "restarts 1001 ms apart never exceed 1 per second")
      assert.isAtLeast(yield* outside.runs, 5)
    }))

  it.scoped("counts restarts after `always` successes as OTP does", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.periodic("ticker", Effect.void, "1 second").pipe(
          TaskSpec.withIntensity({ maxRestarts: 2, within: "10 seconds" })
        )
      )
      yield* advance("5 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(TaskOutcome.reason(outcome!), "3 restarts within 10s: restarted after a success")
      assert.strictEqual(ofTag(events, "AttemptSucceeded").length, 3)
    }))

  it.scoped("a supervisor default applies to every task; `withIntensity(null)` opts a task out", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({
        defaults: { intensity: { maxRestarts: 1, within: "1 minute" }, retry: second }
      })
      const bounded = yield* supervisor.add(TaskSpec.restartable("bounded", Effect.fail("boom")))
      const free = yield* supervisor.add(
        TaskSpec.restartable("free", Effect.fail("boom")).pipe(TaskSpec.withIntensity(null))
      )
      yield* advance("10 seconds")
      assert.strictEqual(TaskOutcome.reason((yield* outcomeNow(bounded))!), "2 restarts within 1m: boom")
      assert.isUndefined(yield* outcomeNow(free))
    }))

  it.scoped("parked, a task stays registered, is listed Parked, is announced once, and tries again every park", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { runs, task } = yield* perRun((run) => run <= 5 ? Effect.fail("down") : Effect.void)
      const handle = yield* supervisor.add(
        TaskSpec.restartable("parkable", task).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withIntensity({ maxRestarts: 2, within: "1 minute", onExhausted: { park: "10 seconds" } })
        )
      )
      yield* advance("2 seconds")
      // runs 1, 2, 3 failed: the third restart exceeded 2 per minute
      assert.strictEqual(yield* runs, 3)
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [["parkable", "Parked"]])
      const [exceeded] = ofTag(events, "IntensityExceeded")
      assert.strictEqual(exceeded.action, "Park")
      const [parked] = ofTag(events, "TaskParked")
      assert.deepStrictEqual([ms(parked.park), parked.reason], [10_000, "3 restarts within 1m: down"])
      yield* advance("9999 millis")
      assert.strictEqual(yield* runs, 3, "nothing before the park interval")
      yield* advance("1 millis")
      assert.strictEqual(yield* runs, 4)
      yield* advance("10 seconds")
      assert.strictEqual(yield* runs, 5)
      assert.strictEqual(ofTag(events, "TaskParked").length, 1, "published once per parking")
      yield* advance("10 seconds")
      // run 6 succeeds: the task unparks and, restartable, completes
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Completed")
      assert.deepStrictEqual(
        ofTag(events, "BackoffScheduled").map((e) => ms(e.delay)),
        [1000, 1000, 10_000, 10_000, 10_000]
      )
      assertTaskOrder(events, "parkable")
    }))

  it.scoped("a park ends with a success: the window starts over", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { runs, task } = yield* perRun((run) => run === 4 ? Effect.void : Effect.fail("down"))
      const handle = yield* supervisor.add(
        TaskSpec.make("recovering", task, {
          restart: RestartPolicy.always({ interval: "1 second" }),
          backoff: second,
          intensity: { maxRestarts: 2, within: "1 minute", onExhausted: { park: "10 seconds" } }
        })
      )
      yield* advance("13 seconds")
      // 3 failures (parked after the third), run 4 succeeds after the park, then two more restarts are allowed
      assert.strictEqual(yield* runs, 5)
      yield* advance("2 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.strictEqual(ofTag(events, "TaskParked").length, 2, "parked again only after exceeding a fresh window")
    }))

  it.scoped("parking an `always` task: its BackoffScheduled follows a success, so its source is Success", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(
        TaskSpec.periodic("tick", Effect.void, "1 second").pipe(
          TaskSpec.withIntensity({ maxRestarts: 2, within: "1 minute", onExhausted: { park: "10 seconds" } })
        )
      )
      yield* advance("3 seconds")
      const [parked] = ofTag(events, "TaskParked")
      assert.isDefined(parked)
      const after = ofTag(events, "BackoffScheduled").filter((e) => e.seq > parked.seq)
      assert.deepStrictEqual(after.map((e) => [e.source, e.reason]), [["Success", undefined]])
      yield* supervisor.shutdown
      assertTaskOrder(events, "tick")
    }))

  it.scoped("an invalid intensity refuses the task at admission with a ConfigError naming the field", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const refused = (intensity: TaskSpec.Intensity) =>
        Effect.flip(supervisor.add(TaskSpec.make("bad", neverEnding).pipe(TaskSpec.withIntensity(intensity)))).pipe(
          Effect.map((error) => error._tag === "ConfigError" ? error : assert.fail(error._tag))
        )
      assert.strictEqual(
        (yield* refused({ maxRestarts: -1, within: "1 second" })).field,
        "intensity of task 'bad'.maxRestarts"
      )
      assert.strictEqual((yield* refused({ maxRestarts: 1, within: 0 })).field, "intensity of task 'bad'.within")
      assert.strictEqual(
        (yield* refused({ maxRestarts: 1, within: "1 second", onExhausted: { park: 0 } })).field,
        "intensity of task 'bad'.onExhausted.park"
      )
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))
})

describe("reset after a stable uptime", () => {
  /** Runs `uptime`, then fails; the retry limit of 1 gives up on the second failure in a row. */
  const runsThenFails = (name: string, uptime: number) =>
    Effect.map(counting(Effect.zipRight(Effect.sleep(uptime), Effect.fail("crash"))), ({ runs, task }) => ({
      runs,
      spec: TaskSpec.restartable(name, task).pipe(
        TaskSpec.withBackoff(BackoffPolicy.exponential("1 second")),
        TaskSpec.withMaxRetries(1),
        TaskSpec.withResetAfter("10 seconds")
      )
    }))

  it.scoped("an attempt that ran its uptime resets the retry budget and the backoff, even though it failed", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const short = yield* runsThenFails("short", 9999)
      const long = yield* runsThenFails("long", 10_000)
      const shortHandle = yield* supervisor.add(short.spec)
      const longHandle = yield* supervisor.add(long.spec)
      yield* advance("1 minute")
      assert.strictEqual(
        TaskOutcome.reason((yield* outcomeNow(shortHandle))!),
        "retry limit reached after 1 of 1 retries: crash"
      )
      assert.strictEqual(yield* short.runs, 2)
      assert.isUndefined(yield* outcomeNow(longHandle), "each failure came after 10 s of uptime")
      assert.isAtLeast(yield* long.runs, 5)
      assert.deepStrictEqual(
        [...new Set(ofTag(events, "BackoffScheduled").filter((e) => e.task === "long").map((e) => ms(e.delay)))],
        [1000],
        "the backoff starts over each time"
      )
    }))
})

describe("progress watchdog", () => {
  it.scoped("an attempt that stops reporting progress is interrupted as stalled and retried", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const released: Array<number> = []
      const task = Effect.zipRight(
        Effect.flatMap(
          TaskSpec.CurrentTask,
          ({ attempt }) => Effect.addFinalizer(() => Effect.sync(() => void released.push(attempt)))
        ),
        // three ticks of progress, then it hangs
        Testing.progress("1 second", { times: 3 })
      )
      yield* supervisor.add(
        TaskSpec.restartable("worker", task).pipe(TaskSpec.withBackoff(second), TaskSpec.withWatchdog("5 seconds"))
      )
      yield* advance("7999 millis")
      assert.deepStrictEqual(ofTag(events, "AttemptStalled"), [])
      yield* advance("1 millis")
      const [stalled] = ofTag(events, "AttemptStalled")
      assert.deepStrictEqual([stalled.attempt, ms(stalled.sinceProgress), ms(stalled.duration)], [1, 5000, 8000])
      assert.deepStrictEqual(released, [1], "its scope closed")
      const [backoff] = ofTag(events, "BackoffScheduled")
      assert.strictEqual(backoff.reason, "stalled: no progress for 5s")
      yield* advance("1 second")
      assert.strictEqual(ofTag(events, "AttemptStarting").length, 2)
      yield* supervisor.shutdown
      assertTaskOrder(events, "worker")
    }))

  it.scoped("a task that never reports progress is stalled one period after each attempt starts", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.restartable("silent", neverEnding).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withWatchdog("2 seconds"),
          TaskSpec.withMaxRetries(1)
        )
      )
      yield* advance("10 seconds")
      assert.deepStrictEqual(ofTag(events, "AttemptStalled").map((e) => e.at), [2000, 5000])
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(
        TaskOutcome.reason(outcome!),
        "retry limit reached after 1 of 1 retries: stalled: no progress for 2s"
      )
    }))

  it.scoped("only attempts are watched: a periodic task between runs, or one in backoff, is never stalled", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(
        TaskSpec.periodic("tick", Effect.void, "10 seconds").pipe(TaskSpec.withWatchdog("1 second"))
      )
      yield* supervisor.add(
        TaskSpec.restartable("slow-retry", Effect.fail("boom")).pipe(
          TaskSpec.withBackoff(BackoffPolicy.constant("10 seconds")),
          TaskSpec.withWatchdog("1 second")
        )
      )
      yield* advance("1 minute")
      assert.deepStrictEqual(ofTag(events, "AttemptStalled"), [])
      assert.strictEqual(ofTag(events, "AttemptSucceeded").length, 7)
    }))

  it.scoped("a watched attempt that is stopped ends only once its finalizers have", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ grace: "1 minute" })
      const handle = yield* supervisor.add(
        TaskSpec.make("careful", slowToStop("2 seconds")).pipe(TaskSpec.withWatchdog("1 minute"))
      )
      yield* settle
      yield* supervisor.remove(handle.id)
      yield* advance("1999 millis")
      assert.isUndefined(yield* outcomeNow(handle), "still releasing")
      assert.deepStrictEqual(ofTag(events, "AttemptCanceled"), [])
      yield* advance("1 millis")
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Canceled")
      assert.deepStrictEqual(ofTag(events, "AttemptCanceled").map((e) => ms(e.duration)), [2000])
    }))

  it.effect("progress outside a task, or in one without a watchdog, does nothing", () =>
    Effect.gen(function*() {
      yield* TaskSpec.progress
      const { supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(TaskSpec.once("plain", TaskSpec.progress))
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
    }).pipe(Effect.scoped))
})
