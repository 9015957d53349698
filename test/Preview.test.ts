/**
 * Previews that need no supervisor: `BackoffPolicy.preview` gives the delays
 * the actor schedules (the same code decides and draws them), and `timeline`
 * reads a scripted task's run in a real supervisor back as data.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import type { ConfigError } from "../src/SupervisorError.js"
import * as TaskError from "../src/TaskError.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import * as Testing from "../src/testing.js"
import { ofTag } from "./utils/events.js"
import { quantileRandom } from "./utils/random.js"
import { supervisorWith } from "./utils/recorder.js"
import { failNTimes } from "./utils/tasks.js"

const ms = Duration.toMillis

/** A policy of each jitter: 100 ms doubling up to 1 s. */
const jittered = (jitter: BackoffPolicy.Jitter) =>
  BackoffPolicy.unsafeMake({ first: "100 millis", max: "1 second", factor: 2, jitter })

const jitters: ReadonlyArray<BackoffPolicy.Jitter> = ["none", "full", "equal", "randomizedBand"]

/** A preview as `[attempt, delay, min, max]` rows, in milliseconds. */
const rows = (delays: ReadonlyArray<BackoffPolicy.Delay>) =>
  delays.map(({ attempt, delay, max, min }) => [attempt, ms(delay), ms(min), ms(max)])

/** The ConfigError an effect fails with. */
const refusal = <A>(effect: Effect.Effect<A, ConfigError>) => Effect.flip(effect)

describe("BackoffPolicy.preview", () => {
  for (const jitter of jitters) {
    it.scoped(`${jitter}: the delays a supervised task schedules, under the same seed`, () =>
      Effect.gen(function*() {
        const policy = jittered(jitter)
        const { events, supervisor } = yield* supervisorWith()
        const { task } = yield* failNTimes(6, "boom")
        const handle = yield* supervisor.add(TaskSpec.restartable("flaky", task).pipe(TaskSpec.withBackoff(policy)))
          .pipe(Effect.withRandom(Random.make(`seed-${jitter}`)))
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 minute")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        const scheduled = ofTag(events, "BackoffScheduled", "flaky").map((e) => [e.attempt, ms(e.delay)])

        const preview = yield* BackoffPolicy.preview(policy, 6).pipe(Effect.withRandom(Random.make(`seed-${jitter}`)))
        assert.deepStrictEqual(preview.map(({ attempt, delay }) => [attempt, ms(delay)]), scheduled)
      }))
  }

  it.effect("the bounds of each jitter hold, and a draw at either end of the range gives them", () =>
    Effect.gen(function*() {
      const expected: Record<BackoffPolicy.Jitter, Array<Array<number>>> = {
        none: [[100, 100], [200, 200], [400, 400], [800, 800], [1000, 1000]],
        // the 1 ms floor of a non-zero base
        full: [[1, 100], [1, 200], [1, 400], [1, 800], [1, 1000]],
        equal: [[50, 100], [100, 200], [200, 400], [400, 800], [500, 1000]],
        randomizedBand: [[100, 300], [100, 600], [100, 1000], [100, 1000], [100, 1000]]
      }
      for (const jitter of jitters) {
        const policy = jittered(jitter)
        for (const seed of ["a", "b", "c", "d"]) {
          const delays = yield* BackoffPolicy.preview(policy, 5).pipe(Effect.withRandom(Random.make(seed)))
          assert.deepStrictEqual(delays.map(({ max, min }) => [ms(min), ms(max)]), expected[jitter], jitter)
          for (const { delay, max, min } of delays) {
            assert.isTrue(Duration.between(delay, { minimum: min, maximum: max }), `${jitter}, seed ${seed}`)
          }
        }
        const low = yield* BackoffPolicy.preview(policy, 5).pipe(Effect.withRandom(quantileRandom(0)))
        const high = yield* BackoffPolicy.preview(policy, 5).pipe(Effect.withRandom(quantileRandom(1)))
        assert.deepStrictEqual(low.map(({ delay }) => ms(delay)), expected[jitter].map(([min]) => min), jitter)
        assert.deepStrictEqual(high.map(({ delay }) => ms(delay)), expected[jitter].map(([, max]) => max), jitter)
      }
    }))

  it.effect("exact under a seed: the same seed gives the same delays, those delayForRetry draws in turn", () =>
    Effect.gen(function*() {
      const policy = BackoffPolicy.defaultPolicy
      const first = yield* BackoffPolicy.preview(policy, 8).pipe(Effect.withRandom(Random.make(42)))
      const again = yield* policy.pipe(BackoffPolicy.preview(8), Effect.withRandom(Random.make(42)))
      assert.deepStrictEqual(rows(again), rows(first))
      const drawn = yield* Effect.forEach([0, 1, 2, 3, 4, 5, 6, 7], (i) => BackoffPolicy.delayForRetry(policy, i)).pipe(
        Effect.withRandom(Random.make(42))
      )
      assert.deepStrictEqual(first.map(({ delay }) => ms(delay)), drawn.map(ms))
      assert.deepStrictEqual(first.map(({ attempt }) => attempt), [1, 2, 3, 4, 5, 6, 7, 8])
      assert.deepStrictEqual(yield* BackoffPolicy.preview(policy, 0), [])
    }))

  it.effect("a value that is no valid policy, or an n that is no whole number >= 0, is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const cast = yield* refusal(BackoffPolicy.preview({} as BackoffPolicy.BackoffPolicy, 3))
      assert.strictEqual(cast.field, "policy")
      assert.strictEqual(cast.reason, "must be a BackoffPolicy")
      const invalid = yield* refusal(BackoffPolicy.preview(BackoffPolicy.exponential(-1), 3))
      assert.strictEqual(invalid.field, "policy")
      assert.match(invalid.reason, /first/)
      for (const n of [-1, 1.5, Number.NaN, Infinity, 100_001, "3" as unknown as number]) {
        const error = yield* refusal(BackoffPolicy.preview(BackoffPolicy.defaultPolicy, n))
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual(error.field, "n", String(n))
      }
    }))
})

/** A timeline's attempts as `[attempt, startedAt, endedAt, ended, delay]` rows (the delay in milliseconds). */
const lines = (timeline: Testing.Timeline) =>
  timeline.attempts.map((a) => [a.attempt, a.startedAt, a.endedAt, a.ended, a.delay === undefined ? "-" : ms(a.delay)])

const oneSecond = BackoffPolicy.constant("1 second")

describe("timeline", () => {
  it.effect("retries, then succeeds: each attempt, its delay, and the outcome", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(TaskSpec.withBackoff(oneSecond))
      const timeline = yield* Testing.timeline(spec, ["fail", { fail: "busy" }, "succeed"])
      assert.deepStrictEqual(lines(timeline), [
        [1, 0, 0, "Failed", 1000],
        [2, 1000, 1000, "Failed", 1000],
        [3, 2000, 2000, "Succeeded", "-"]
      ])
      assert.deepStrictEqual(timeline.attempts.map((a) => a.reason), ["attempt 1 failed", "busy", undefined])
      assert.strictEqual(timeline.outcome._tag, "Completed")
      assert.strictEqual(timeline.endedAt, 2000)
      assert.isUndefined(timeline.stopped)
      assert.isUndefined(timeline.gaveUp)
    }))

  it.effect("the kit's steps script an attempt's time: one that takes 2 s to fail, one that finishes its work after a stop", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(
        TaskSpec.withBackoff(oneSecond),
        TaskSpec.withTimeout("5 seconds")
      )
      const timeline = yield* Testing.timeline(spec, [
        Testing.takes("2 seconds", Testing.fail("slow")),
        Testing.ignoresInterruption("3 seconds"),
        "succeed"
      ])
      assert.deepStrictEqual(lines(timeline), [
        [1, 0, 2000, "Failed", 1000],
        [2, 3000, 11_000, "TimedOut", 1000],
        [3, 12_000, 12_000, "Succeeded", "-"]
      ])
      assert.deepStrictEqual(timeline.attempts.map((a) => a.reason), ["slow", undefined, undefined])
    }))

  it.effect("a task stopped by the run winds down on the run's clock: a step that ignores interruption, the grace", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(TaskSpec.withBackoff(oneSecond))
      // it hangs until it is stopped (Idle), then takes 10 s to end
      const slow = yield* Testing.timeline(spec, [Testing.ignoresInterruption("10 seconds")])
      assert.deepStrictEqual([slow.stopped, slow.outcome._tag, slow.endedAt], ["Idle", "Canceled", 10_000])
      const stuck = yield* Testing.timeline(spec, [Effect.uninterruptible(Effect.sleep("1 hour"))], {
        limit: "5 seconds",
        config: { grace: "2 seconds" }
      })
      assert.deepStrictEqual([stuck.stopped, stuck.outcome._tag, stuck.endedAt], ["Limit", "ForceAborted", 7000])
    }))

  it.effect("the caller's TestClock is its own before and after a timeline: its sleeps still wake", () =>
    Effect.gen(function*() {
      const mine = yield* TaskSupervisor.add(TaskSpec.once("mine", Testing.takes("10 seconds", Testing.succeed())))
      yield* Testing.settle
      const spec = TaskSpec.restartable("job", Effect.void).pipe(
        TaskSpec.withBackoff(oneSecond),
        TaskSpec.withMaxRetries(4)
      )
      assert.strictEqual((yield* Testing.timeline(spec, ["fail"])).endedAt, 4000)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 0)
      assert.strictEqual((yield* Testing.awaitOutcome(mine))._tag, "Completed")
      assert.strictEqual(yield* TestClock.currentTimeMillis, 10_000)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("gives up at its retry limit, the last step repeating past the history", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(
        TaskSpec.withBackoff(BackoffPolicy.exponential("1 second")),
        TaskSpec.withMaxRetries(2)
      )
      const timeline = yield* Testing.timeline(spec, ["die", "fail"])
      assert.deepStrictEqual(lines(timeline), [
        [1, 0, 0, "Failed", 1000],
        [2, 1000, 1000, "Failed", 2000],
        [3, 3000, 3000, "Failed", "-"]
      ])
      assert.match(timeline.attempts[0].reason!, /panicked/)
      assert.strictEqual(timeline.outcome._tag, "Failed")
      assert.deepStrictEqual(timeline.gaveUp, {
        at: 3000,
        attempt: 3,
        reason: "retry limit reached after 2 of 2 retries: attempt 3 failed"
      })
    }))

  it.effect("a fatal error ends it at once, whatever its budget", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(TaskSpec.withBackoff(oneSecond))
      const timeline = yield* Testing.timeline(spec, ["fail", { fail: new TaskError.TaskFatal({ reason: "bad key" }) }])
      assert.deepStrictEqual(lines(timeline), [[1, 0, 0, "Failed", 1000], [2, 1000, 1000, "Failed", "-"]])
      assert.strictEqual(timeline.outcome._tag, "Fatal")
      assert.strictEqual(timeline.gaveUp?.attempt, 2)
      assert.strictEqual(timeline.gaveUp?.at, 1000)
    }))

  it.effect("an attempt that hangs times out after its timeout and is retried", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void).pipe(
        TaskSpec.withBackoff(oneSecond),
        TaskSpec.withTimeout("5 seconds")
      )
      const timeline = yield* Testing.timeline(spec, ["hang", "hang", "succeed"])
      assert.deepStrictEqual(lines(timeline), [
        [1, 0, 5000, "TimedOut", 1000],
        [2, 6000, 11000, "TimedOut", 1000],
        [3, 12000, 12000, "Succeeded", "-"]
      ])
      assert.strictEqual(timeline.outcome._tag, "Completed")
      assert.strictEqual(timeline.endedAt, 12000)
    }))

  it.effect("the run stops the task past maxAttempts, past its limit, or when it would wait for ever", () =>
    Effect.gen(function*() {
      const forever = TaskSpec.restartable("job", Effect.void).pipe(
        TaskSpec.withBackoff(BackoffPolicy.constant("1 minute"))
      )
      const capped = yield* Testing.timeline(forever, ["fail"], { maxAttempts: 3 })
      assert.deepStrictEqual(lines(capped), [
        [1, 0, 0, "Failed", 60_000],
        [2, 60_000, 60_000, "Failed", 60_000],
        [3, 120_000, 120_000, "Failed", 60_000]
      ])
      assert.strictEqual(capped.stopped, "MaxAttempts")
      assert.strictEqual(capped.outcome._tag, "Canceled")
      assert.strictEqual(capped.endedAt, 180_000)
      assert.isUndefined(capped.gaveUp)

      const limited = yield* Testing.timeline(forever, ["fail"], { limit: "150 seconds" })
      assert.strictEqual(limited.attempts.length, 3)
      assert.strictEqual(limited.stopped, "Limit")
      assert.strictEqual(limited.endedAt, 150_000)

      const hung = yield* Testing.timeline(forever, ["fail", "hang"])
      assert.deepStrictEqual(lines(hung), [[1, 0, 0, "Failed", 60_000], [2, 60_000, 60_000, "Canceled", "-"]])
      assert.strictEqual(hung.stopped, "Idle")
      assert.strictEqual(hung.outcome._tag, "Canceled")
    }))

  it.effect("its delays are the policy's preview under the same seed, on a clock of its own", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void)
      const timeline = yield* Testing.timeline(spec, ["fail", "fail", "fail", "fail", "succeed"]).pipe(
        Effect.withRandom(Random.make("timeline"))
      )
      const preview = yield* BackoffPolicy.preview(BackoffPolicy.defaultPolicy, 4).pipe(
        Effect.withRandom(Random.make("timeline"))
      )
      assert.deepStrictEqual(
        timeline.attempts.slice(0, 4).map((a) => ms(a.delay!)),
        preview.map(({ delay }) => ms(delay))
      )
      assert.strictEqual(timeline.outcome._tag, "Completed")
      // the caller's clock did not move
      assert.strictEqual(yield* TestClock.currentTimeMillis, 0)
    }))

  it.effect("a spec, history, option or config that is refused is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const spec = TaskSpec.restartable("job", Effect.void)
      const fields = [
        yield* refusal(Testing.timeline(spec, [])),
        yield* refusal(Testing.timeline(spec, ["fail", "explode" as Testing.TimelineStep<never>])),
        yield* refusal(Testing.timeline(spec, ["fail"], { maxAttempts: 0 })),
        yield* refusal(Testing.timeline(spec, ["fail"], { limit: -1 })),
        yield* refusal(Testing.timeline(spec, ["fail"], { config: { grace: -1 } })),
        yield* refusal(Testing.timeline(spec.pipe(TaskSpec.withTimeout(-5)), ["fail"])),
        yield* refusal(Testing.timeline({} as typeof spec, ["fail"]))
      ].map((error) => error.field)
      assert.deepStrictEqual(fields, [
        "history",
        "history[1]",
        "maxAttempts",
        "limit",
        "grace",
        "timeout of task 'job'",
        "spec"
      ])
    }))
})
