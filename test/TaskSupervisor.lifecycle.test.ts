import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskError from "../src/TaskError.js"
import type { TaskHandle } from "../src/TaskHandle.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { assertIdOrder, assertSeq, assertTaskOrder, expectTaskEvents, ms, ofTag, ofTask } from "./utils/events.js"
import { settleUntilDone } from "./utils/fibers.js"
import { kinds, supervisorWith } from "./utils/recorder.js"
import { counting, cycling, failNTimes, gauge, logged, neverEnding, perRun, stubborn } from "./utils/tasks.js"

class Boom extends Data.TaggedError("Boom")<{ readonly message: string }> {}
class Silent extends Data.TaggedError("Silent")<{}> {}
class Exiting extends Data.TaggedError("Exiting")<{ readonly message: string; readonly exitCode: number }> {}
class Bad extends Data.TaggedError("Bad")<{}> {}
class Retryable extends Data.TaggedError("Retryable")<{}> {}
class Other extends Data.TaggedError("Other")<{}> {}

const boom = new Boom({ message: "boom" })
const fast = BackoffPolicy.constant("10 millis")

/** Let forked fibers run until they suspend, without moving the clock. */
const settle = TestClock.adjust(0)

const narrow = <T extends { readonly _tag: string }, K extends T["_tag"]>(
  value: T,
  tag: K
): Extract<T, { readonly _tag: K }> => {
  assert.strictEqual(value._tag, tag)
  return value as Extract<T, { readonly _tag: K }>
}

const finishedOf = (events: ReadonlyArray<SupervisorEvent>, task: string) => {
  const finished = ofTag(events, "TaskFinished", task)
  assert.strictEqual(finished.length, 1, `${task}: exactly one TaskFinished`)
  return finished[0]
}

/**
 * The typed failure in a cause. Failures raised inside the attempt's span are
 * span-annotated proxies of the original error; `Cause.originalError` unwraps them.
 */
const failureOf = <E>(cause: Cause.Cause<E>): E | undefined =>
  Cause.originalError(Option.getOrUndefined(Cause.failureOption(cause)))

const attemptsOf = (events: ReadonlyArray<SupervisorEvent>, task: string) =>
  ofTag(events, "AttemptStarting", task).map((e) => [e.attempt, e.at])

/** A tracer that records every span it makes, over the current one. */
const recordingTracer = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: native.context
  })
  return { recording, spans }
})

describe("TaskSupervisor lifecycle", () => {
  describe("single attempt", () => {
    it.scoped("once: a successful attempt completes the task with the documented events", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* counting(Effect.void)
        const handle = yield* supervisor.add(TaskSpec.once("job", task))
        const outcome = yield* handle.await
        assert.deepStrictEqual(yield* supervisor.list, [])
        yield* supervisor.shutdown

        assert.strictEqual(outcome._tag, "Completed")
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.deepStrictEqual(kinds(events), [
          "TaskAddRequested",
          "TaskAdded",
          "AttemptStarting",
          "AttemptSucceeded",
          "TaskFinished",
          "TaskRemoved",
          "ShutdownRequested",
          "AllStoppedWithinGrace"
        ])
        assertSeq(events)
        assertTaskOrder(events, "job")
        for (const e of ofTask(events, "job")) assert.strictEqual((e as { id: number }).id, handle.id)
        assert.deepStrictEqual(attemptsOf(events, "job"), [[1, 0]])
        const succeeded = ofTag(events, "AttemptSucceeded", "job")[0]
        assert.strictEqual(succeeded.attempt, 1)
        assert.strictEqual(ms(succeeded.duration), 0)
        assert.strictEqual(finishedOf(events, "job").outcome, outcome)
        assert.isTrue(events.every((e) => e.at === 0))
      }))

    it.scoped("never: a typed failure ends the task Failed with its tag and message as reason, and its cause", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* counting(Effect.fail(boom))
        const handle = yield* supervisor.add(TaskSpec.once("failing", task))
        const outcome = yield* handle.await
        yield* supervisor.shutdown

        const failed = narrow(outcome, "Failed")
        assert.strictEqual(failed.reason, "Boom: boom")
        assert.isUndefined(failed.exitCode)
        assert.strictEqual(failureOf(failed.cause), boom)
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectTaskEvents(events, "failing", ["AttemptStarting", "AttemptFailed"])
        const attemptFailed = ofTag(events, "AttemptFailed", "failing")[0]
        assert.strictEqual(attemptFailed.attempt, 1)
        assert.strictEqual(attemptFailed.reason, "Boom: boom")
        assert.isUndefined(attemptFailed.exitCode)
        const finished = finishedOf(events, "failing")
        assert.strictEqual(finished.outcome, outcome)
        assert.strictEqual(narrow(finished.outcome, "Failed").reason, failed.reason)
        assertSeq(events)
      }))

    it.scoped("a failure without a message is described by its _tag", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const silent = new Silent()
        const handle = yield* supervisor.add(TaskSpec.once("silent", Effect.fail(silent)))
        const failed = narrow(yield* handle.await, "Failed")
        yield* supervisor.shutdown

        assert.strictEqual(failed.reason, "Silent")
        assert.strictEqual(failureOf(failed.cause), silent)
        assert.strictEqual(ofTag(events, "AttemptFailed", "silent")[0].reason, "Silent")
      }))

    it.scoped("a reason names a typed error by its _tag and message; the supervisor's own errors by their message", () =>
      Effect.gen(function*() {
        const { supervisor } = yield* supervisorWith()
        class ParseError extends Data.TaggedError("ParseError")<{ readonly message: string }> {}
        class Empty extends Data.TaggedError("Empty")<{}> {}
        const reasons = [
          [new ParseError({ message: "cannot decode BAD" }), "ParseError: cannot decode BAD"],
          [new ParseError({ message: "ParseError: already prefixed" }), "ParseError: already prefixed"],
          [new Empty(), "Empty"],
          [new Error("plain"), "plain"],
          ["a string", "a string"],
          [new TaskError.TaskFatal({ reason: "disk full" }), "disk full"]
        ] as const
        for (const [error, reason] of reasons) {
          const handle = yield* supervisor.add(TaskSpec.once(`fails-${reason}`, Effect.fail(error)))
          assert.strictEqual(TaskOutcome.reason(yield* handle.await), reason)
        }
      }))

    it.scoped("a numeric exitCode on the error reaches AttemptFailed, TaskFinished and the outcome", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const error = new Exiting({ message: "exited", exitCode: 42 })
        const once = yield* supervisor.add(TaskSpec.once("exit-once", Effect.fail(error)))
        const retried = yield* supervisor.add(
          TaskSpec.restartable("exit-retried", Effect.fail(error)).pipe(
            TaskSpec.withBackoff(fast),
            TaskSpec.withMaxRetries(1)
          )
        )
        const waiter = yield* Effect.fork(Effect.all([once.await, retried.await]))
        yield* TestClock.adjust("1 second")
        const [a, b] = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(narrow(a, "Failed").exitCode, 42)
        assert.strictEqual(narrow(a, "Failed").reason, "Exiting: exited")
        assert.strictEqual(narrow(b, "Failed").exitCode, 42)
        assert.strictEqual(narrow(b, "Failed").reason, "retry limit reached after 1 of 1 retries: Exiting: exited")
        assert.deepStrictEqual(ofTag(events, "AttemptFailed", "exit-once").map((e) => e.exitCode), [42])
        assert.deepStrictEqual(ofTag(events, "AttemptFailed", "exit-retried").map((e) => e.exitCode), [42, 42])
        assert.strictEqual(narrow(finishedOf(events, "exit-once").outcome, "Failed").exitCode, 42)
        assert.strictEqual(narrow(finishedOf(events, "exit-retried").outcome, "Failed").exitCode, 42)
      }))
  })

  describe("retries", () => {
    it.scoped("onFailure: exponential backoff of 100 ms then 200 ms, attempts at t = 0, 100, 300 ms", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* failNTimes(2, boom)
        const handle = yield* supervisor.add(
          TaskSpec.restartable("flaky", task).pipe(TaskSpec.withBackoff(BackoffPolicy.exponential("100 millis")))
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("99 millis")
        assert.strictEqual(yield* Ref.get(runs), 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* Ref.get(runs), 2)
        yield* TestClock.adjust("199 millis")
        assert.strictEqual(yield* Ref.get(runs), 2)
        yield* TestClock.adjust("1 millis")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(outcome._tag, "Completed")
        assert.strictEqual(yield* Ref.get(runs), 3)
        expectTaskEvents(events, "flaky", [
          "AttemptStarting",
          "AttemptFailed",
          "BackoffScheduled",
          "AttemptStarting",
          "AttemptFailed",
          "BackoffScheduled",
          "AttemptStarting",
          "AttemptSucceeded"
        ])
        assert.deepStrictEqual(attemptsOf(events, "flaky"), [[1, 0], [2, 100], [3, 300]])
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "flaky").map((e) => [e.attempt, ms(e.delay), e.source, e.reason, e.at]),
          [[1, 100, "Failure", "Boom: boom", 0], [2, 200, "Failure", "Boom: boom", 100]]
        )
        assert.deepStrictEqual(
          ofTag(events, "AttemptFailed", "flaky").map((e) => [e.attempt, e.reason, e.at]),
          [[1, "Boom: boom", 0], [2, "Boom: boom", 100]]
        )
        assert.strictEqual(finishedOf(events, "flaky").at, 300)
        assertSeq(events)
        assertTaskOrder(events, "flaky")
      }))

    for (const k of [0, 1, 3]) {
      it.scoped(`maxRetries ${k} allows ${k + 1} attempts in a failure streak`, () =>
        Effect.gen(function*() {
          const { events, supervisor } = yield* supervisorWith()
          const { runs, task } = yield* counting(Effect.fail(boom))
          const handle = yield* supervisor.add(
            TaskSpec.restartable("doomed", task).pipe(TaskSpec.withBackoff(fast), TaskSpec.withMaxRetries(k))
          )
          const waiter = yield* Effect.fork(handle.await)
          yield* TestClock.adjust("1 second")
          const outcome = yield* Fiber.join(waiter)
          yield* supervisor.shutdown

          assert.strictEqual(yield* Ref.get(runs), k + 1)
          const failed = narrow(outcome, "Failed")
          assert.strictEqual(failed.reason, `retry limit reached after ${k} of ${k} retries: Boom: boom`)
          assert.strictEqual(failureOf(failed.cause), boom)
          assert.deepStrictEqual(
            attemptsOf(events, "doomed"),
            Array.from({ length: k + 1 }, (_, i) => [i + 1, i * 10])
          )
          assert.strictEqual(ofTag(events, "BackoffScheduled", "doomed").length, k)
          assert.strictEqual(ofTag(events, "AttemptFailed", "doomed").length, k + 1)
          assert.deepStrictEqual(kinds(events, "doomed").slice(-4), [
            "AttemptStarting",
            "AttemptFailed",
            "TaskFinished",
            "TaskRemoved"
          ])
          assert.strictEqual(narrow(finishedOf(events, "doomed").outcome, "Failed").reason, failed.reason)
          assertTaskOrder(events, "doomed")
        }))
    }

    it.scoped("a success resets the retry budget: fail/ok alternating keeps running past maxRetries", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* cycling([Effect.fail(boom), Effect.void])
        const handle = yield* supervisor.add(
          TaskSpec.make("alternating", task, {
            restart: RestartPolicy.always({ interval: "10 millis" }),
            backoff: fast,
            maxRetries: 1
          })
        )
        yield* TestClock.adjust("55 millis")
        assert.strictEqual(yield* Ref.get(runs), 6)
        assert.strictEqual(ofTag(events, "TaskFinished", "alternating").length, 0)
        assert.isTrue(yield* supervisor.cancel(handle.id))
        const outcome = yield* handle.await
        yield* supervisor.shutdown

        assert.strictEqual(outcome._tag, "Canceled")
        assert.strictEqual(ofTag(events, "AttemptFailed", "alternating").length, 3)
        assert.strictEqual(ofTag(events, "AttemptSucceeded", "alternating").length, 3)
        assert.deepStrictEqual(
          attemptsOf(events, "alternating"),
          [[1, 0], [2, 10], [3, 20], [4, 30], [5, 40], [6, 50]]
        )
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "alternating").map((e) => e.source),
          ["Failure", "Success", "Failure", "Success", "Failure", "Success"]
        )
        assertTaskOrder(events, "alternating")
      }))

    it.scoped("a failure streak after successes still gets the whole budget", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* cycling([Effect.fail(boom), Effect.fail(boom), Effect.void])
        const handle = yield* supervisor.add(
          TaskSpec.make("streaks", task, {
            restart: RestartPolicy.always({ interval: "10 millis" }),
            backoff: fast,
            maxRetries: 2
          })
        )
        yield* TestClock.adjust("85 millis")
        assert.strictEqual(yield* Ref.get(runs), 9)
        yield* supervisor.cancel("streaks")
        assert.strictEqual((yield* handle.await)._tag, "Canceled")
        yield* supervisor.shutdown
        assert.strictEqual(ofTag(events, "AttemptFailed", "streaks").length, 6)
      }))

    it.scoped("always with interval: BackoffScheduled(Success, 1000 ms) after each success; successes cost no budget", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* perRun((n) => n <= 3 ? Effect.void : Effect.fail(boom))
        const handle = yield* supervisor.add(
          TaskSpec.make("ticker", task, {
            restart: RestartPolicy.always({ interval: "1 second" }),
            backoff: fast,
            maxRetries: 1
          })
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(yield* Ref.get(runs), 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* Ref.get(runs), 2)
        yield* TestClock.adjust("5 seconds")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 5)
        assert.strictEqual(narrow(outcome, "Failed").reason, "retry limit reached after 1 of 1 retries: Boom: boom")
        assert.deepStrictEqual(attemptsOf(events, "ticker"), [[1, 0], [2, 1000], [3, 2000], [4, 3000], [5, 3010]])
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "ticker").map((e) => [e.attempt, ms(e.delay), e.source, e.reason, e.at]),
          [
            [1, 1000, "Success", undefined, 0],
            [2, 1000, "Success", undefined, 1000],
            [3, 1000, "Success", undefined, 2000],
            [4, 10, "Failure", "Boom: boom", 3000]
          ]
        )
        assertTaskOrder(events, "ticker")
      }))

    it.scoped("always without interval: instant attempts are 1 ms apart and publish no BackoffScheduled", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* counting(Effect.void)
        const handle = yield* supervisor.add(TaskSpec.make("spinner", task, { restart: RestartPolicy.always() }))
        yield* TestClock.adjust("4 millis")
        assert.strictEqual(yield* Ref.get(runs), 5)
        yield* supervisor.cancel(handle.id)
        const outcome = yield* handle.await
        yield* supervisor.shutdown

        assert.strictEqual(outcome._tag, "Canceled")
        assert.deepStrictEqual(attemptsOf(events, "spinner"), [[1, 0], [2, 1], [3, 2], [4, 3], [5, 4]])
        assert.strictEqual(ofTag(events, "BackoffScheduled").length, 0)
        assertTaskOrder(events, "spinner")
      }))

    it.scoped("always without interval: a slow attempt restarts at once; periodic with a zero interval floors at 1 ms", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const slow = yield* counting(Effect.sleep("5 millis"))
        const zero = yield* counting(Effect.void)
        yield* supervisor.add(TaskSpec.make("slow-spinner", slow.task, { restart: RestartPolicy.always() }))
        yield* supervisor.add(TaskSpec.periodic("zero-period", zero.task, 0))
        yield* TestClock.adjust("10 millis")
        yield* supervisor.shutdown

        assert.deepStrictEqual(
          attemptsOf(events, "slow-spinner").map(([, at]) => at),
          [0, 5, 10]
        )
        assert.deepStrictEqual(
          attemptsOf(events, "zero-period").map(([, at]) => at),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        )
        assert.strictEqual(ofTag(events, "BackoffScheduled").length, 0)
        assert.strictEqual(finishedOf(events, "zero-period").outcome._tag, "Canceled")
      }))

    it.scoped("always with a sub-millisecond interval waits the 1 ms floor", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { task } = yield* counting(Effect.void)
        yield* supervisor.add(
          TaskSpec.make("tiny", task, { restart: RestartPolicy.always({ interval: Duration.micros(500n) }) })
        )
        yield* TestClock.adjust("2 millis")
        yield* supervisor.shutdown

        assert.deepStrictEqual(attemptsOf(events, "tiny"), [[1, 0], [2, 1], [3, 2]])
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "tiny").map((e) => [ms(e.delay), e.source]),
          [[1, "Success"], [1, "Success"], [1, "Success"]]
        )
      }))

    it.scoped("a zero backoff retries at once, with no 1 ms floor", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* failNTimes(2, boom)
        const handle = yield* supervisor.add(
          TaskSpec.restartable("eager", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant(0)))
        )
        assert.strictEqual((yield* handle.await)._tag, "Completed")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 3)
        assert.deepStrictEqual(attemptsOf(events, "eager"), [[1, 0], [2, 0], [3, 0]])
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "eager").map((e) => ms(e.delay)), [0, 0])
        assertTaskOrder(events, "eager")
      }))

    it.scoped("jitter draws from the caller's Random: a seeded Random pins the default policy's delays", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { task } = yield* failNTimes(3, boom)
        const handle = yield* supervisor.add(TaskSpec.restartable("jittered", task)).pipe(
          Effect.withRandom(Random.make("lifecycle-seed"))
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown

        const expected = yield* Effect.forEach(
          [0, 1, 2],
          (i) => BackoffPolicy.delayForRetry(BackoffPolicy.defaultPolicy, i)
        ).pipe(Effect.withRandom(Random.make("lifecycle-seed")))
        const delays = ofTag(events, "BackoffScheduled", "jittered").map((e) => ms(e.delay))
        assert.strictEqual(delays.length, 3)
        delays.forEach((delay, i) => assert.closeTo(delay, ms(expected[i]), 1e-6))
        const bounds = [[100, 200], [200, 400], [400, 800]]
        delays.forEach((delay, i) => {
          assert.isAtLeast(delay, bounds[i][0])
          assert.isAtMost(delay, bounds[i][1])
        })
      }))
  })

  describe("timeouts", () => {
    it.scoped("a timed-out attempt is interrupted and finalized before the next one, and consumes the budget", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const handle = yield* supervisor.add(
          TaskSpec.restartable("slow", logged(log, neverEnding)).pipe(
            TaskSpec.withTimeout("50 millis"),
            TaskSpec.withMaxRetries(1),
            TaskSpec.withBackoff(fast)
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("49 millis")
        assert.deepStrictEqual(yield* Ref.get(log), ["start 1@0"])
        yield* TestClock.adjust("1 second")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(yield* Ref.get(log), ["start 1@0", "stop 1@50", "start 2@60", "stop 2@110"])
        expectTaskEvents(events, "slow", [
          "AttemptStarting",
          "AttemptTimedOut",
          "BackoffScheduled",
          "AttemptStarting",
          "AttemptTimedOut"
        ])
        assert.deepStrictEqual(
          ofTag(events, "AttemptTimedOut", "slow").map((e) => [e.attempt, ms(e.timeout), ms(e.duration), e.at]),
          [[1, 50, 50, 50], [2, 50, 50, 110]]
        )
        const backoff = ofTag(events, "BackoffScheduled", "slow")[0]
        assert.strictEqual(backoff.source, "Failure")
        assert.include(backoff.reason, "timed out")
        const failed = narrow(outcome, "Failed")
        assert.match(failed.reason, /^retry limit reached after 1 of 1 retries: .*timed out/)
        const timeout = failureOf(failed.cause)
        assert.instanceOf(timeout, TaskError.TaskTimeout)
        assert.strictEqual(ms((timeout as TaskError.TaskTimeout).timeout), 50)
        assert.strictEqual(finishedOf(events, "slow").outcome, outcome)
        assertTaskOrder(events, "slow")
      }))

    it.scoped("a timeout waits for an uninterruptible attempt to end: the next attempt never overlaps it", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const handle = yield* supervisor.add(
          TaskSpec.restartable("stubborn", logged(log, Effect.uninterruptible(Effect.sleep("100 millis")))).pipe(
            TaskSpec.withTimeout("50 millis"),
            TaskSpec.withMaxRetries(1),
            TaskSpec.withBackoff(fast)
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = narrow(yield* Fiber.join(waiter), "Failed")
        yield* supervisor.shutdown

        assert.deepStrictEqual(yield* Ref.get(log), ["start 1@0", "stop 1@100", "start 2@110", "stop 2@210"])
        assert.deepStrictEqual(
          ofTag(events, "AttemptTimedOut", "stubborn").map((e) => [e.attempt, ms(e.timeout), ms(e.duration), e.at]),
          [[1, 50, 100, 100], [2, 50, 100, 210]]
        )
        assert.include(outcome.reason, "timed out")
        assertTaskOrder(events, "stubborn")
      }))

    it.scoped("a task that itself fails with TaskTimeout takes the AttemptFailed path", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const own = new TaskError.TaskTimeout({ timeout: Duration.millis(5) })
        const handle = yield* supervisor.add(
          TaskSpec.once("liar", Effect.fail(own)).pipe(TaskSpec.withTimeout("1 second"))
        )
        const failed = narrow(yield* handle.await, "Failed")
        yield* supervisor.shutdown

        assert.deepStrictEqual(kinds(events, "liar").slice(2), [
          "AttemptStarting",
          "AttemptFailed",
          "TaskFinished",
          "TaskRemoved"
        ])
        assert.strictEqual(ofTag(events, "AttemptTimedOut").length, 0)
        assert.strictEqual(ofTag(events, "AttemptFailed", "liar")[0].reason, own.message)
        assert.strictEqual(failureOf(failed.cause), own)
      }))
  })

  describe("settings inherited from SupervisorConfig.defaults", () => {
    it.scoped("withTimeout(null) and a zero timeout disable a default timeout; unset inherits it", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({ defaults: { timeout: "10 millis" } })
        const work = Effect.sleep("100 millis")
        const inherits = yield* supervisor.add(TaskSpec.once("inherits", work))
        const nulled = yield* supervisor.add(TaskSpec.once("nulled", work).pipe(TaskSpec.withTimeout(null)))
        const zero = yield* supervisor.add(TaskSpec.once("zero", work).pipe(TaskSpec.withTimeout(0)))
        const longer = yield* supervisor.add(TaskSpec.once("longer", work, { timeout: "200 millis" }))
        const waiter = yield* Effect.fork(Effect.all([inherits.await, nulled.await, zero.await, longer.await]))
        yield* TestClock.adjust("100 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Failed", "Completed", "Completed", "Completed"])
        assert.deepStrictEqual(
          ofTag(events, "AttemptTimedOut").map((e) => [e.task, ms(e.timeout), e.at]),
          [["inherits", 10, 10]]
        )
        for (const name of ["nulled", "zero", "longer"]) {
          assert.strictEqual(finishedOf(events, name).at, 100, name)
        }
      }))

    it.scoped("withMaxRetries(null) overrides a default limit; unset inherits it and the default backoff", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({
          defaults: { maxRetries: 0, retry: BackoffPolicy.constant("250 millis") }
        })
        const inherits = yield* failNTimes(3, boom)
        const unlimited = yield* failNTimes(3, boom)
        const two = yield* failNTimes(3, boom)
        const handles = yield* Effect.all([
          supervisor.add(TaskSpec.make("inherits", inherits.task)),
          supervisor.add(TaskSpec.make("unlimited", unlimited.task).pipe(TaskSpec.withMaxRetries(null))),
          supervisor.add(TaskSpec.make("two", two.task).pipe(TaskSpec.withMaxRetries(2)))
        ])
        const waiter = yield* Effect.fork(Effect.forEach(handles, (h) => h.await))
        yield* TestClock.adjust("1 second")
        const [a, b, c] = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(narrow(a, "Failed").reason, "retry limit reached after 0 of 0 retries: Boom: boom")
        assert.strictEqual(b._tag, "Completed")
        assert.strictEqual(narrow(c, "Failed").reason, "retry limit reached after 2 of 2 retries: Boom: boom")
        assert.deepStrictEqual(
          [yield* Ref.get(inherits.runs), yield* Ref.get(unlimited.runs), yield* Ref.get(two.runs)],
          [1, 4, 3]
        )
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "unlimited").map((e) => ms(e.delay)), [250, 250, 250])
        assert.deepStrictEqual(attemptsOf(events, "unlimited").map(([, at]) => at), [0, 250, 500, 750])
      }))

    it.scoped("a default restart never makes a TaskSpec.make task run once; explicit settings win", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({
          defaults: { restart: RestartPolicy.never, retry: fast }
        })
        const plain = yield* counting(Effect.fail(boom))
        const explicit = yield* failNTimes(1, boom)
        const a = yield* supervisor.add(TaskSpec.make("plain", plain.task))
        const b = yield* supervisor.add(TaskSpec.make("explicit", explicit.task, { restart: RestartPolicy.onFailure }))
        const waiter = yield* Effect.fork(Effect.all([a.await, b.await]))
        yield* TestClock.adjust("1 second")
        const [pa, pb] = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(narrow(pa, "Failed").reason, "Boom: boom")
        assert.strictEqual(yield* Ref.get(plain.runs), 1)
        assert.strictEqual(ofTag(events, "BackoffScheduled", "plain").length, 0)
        assert.strictEqual(pb._tag, "Completed")
        assert.strictEqual(yield* Ref.get(explicit.runs), 2)
        assert.deepStrictEqual(attemptsOf(events, "explicit"), [[1, 0], [2, 10]])
      }))
  })

  describe("fatal failures", () => {
    it.scoped("TaskFatal ends the task Fatal with its reason and exitCode, never retried", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const fatal = new TaskError.TaskFatal({ reason: "unrecoverable", exitCode: 3 })
        const onFailure = yield* counting(Effect.fail(fatal))
        const always = yield* counting(Effect.fail(fatal))
        const a = yield* supervisor.add(TaskSpec.restartable("fatal-retry", onFailure.task))
        const b = yield* supervisor.add(
          TaskSpec.make("fatal-always", always.task, { restart: RestartPolicy.always({ interval: "10 millis" }) })
        )
        const c = yield* supervisor.add(TaskSpec.once("fatal-once", Effect.fail(fatal)))
        const waiter = yield* Effect.fork(Effect.all([a.await, b.await, c.await]))
        yield* TestClock.adjust("1 second")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        const named = [["fatal-retry", outcomes[0]], ["fatal-always", outcomes[1]], [
          "fatal-once",
          outcomes[2]
        ]] as const
        for (const [name, outcome] of named) {
          const result = narrow(outcome, "Fatal")
          assert.strictEqual(result.reason, "unrecoverable", name)
          assert.strictEqual(result.exitCode, 3, name)
          assert.strictEqual(failureOf(result.cause), fatal, name)
          expectTaskEvents(events, name, ["AttemptStarting", "AttemptFailed"])
          const failed = ofTag(events, "AttemptFailed", name)[0]
          assert.deepStrictEqual([failed.reason, failed.exitCode], ["unrecoverable", 3], name)
          const finished = narrow(finishedOf(events, name).outcome, "Fatal")
          assert.deepStrictEqual([finished.reason, finished.exitCode], ["unrecoverable", 3], name)
        }
        assert.strictEqual(yield* Ref.get(onFailure.runs), 1)
        assert.strictEqual(yield* Ref.get(always.runs), 1)
        assert.strictEqual(ofTag(events, "BackoffScheduled").length, 0)
      }))

    it.scoped("withFatal makes the typed errors it accepts fatal; others are still retried", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* perRun((n): Effect.Effect<void, Bad | Other> =>
          n === 1 ? Effect.fail(new Other()) : Effect.fail(new Bad())
        )
        const handle = yield* supervisor.add(
          TaskSpec.restartable("picky", task).pipe(
            TaskSpec.withBackoff(fast),
            TaskSpec.withFatal((e: Bad | Other) => e._tag === "Bad")
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = narrow(yield* Fiber.join(waiter), "Fatal")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 2)
        assert.strictEqual(outcome.reason, "Bad")
        assert.isTrue(failureOf(outcome.cause) instanceof Bad)
        assert.deepStrictEqual(kinds(events, "picky").slice(2), [
          "AttemptStarting",
          "AttemptFailed",
          "BackoffScheduled",
          "AttemptStarting",
          "AttemptFailed",
          "TaskFinished",
          "TaskRemoved"
        ])
        assert.deepStrictEqual(ofTag(events, "AttemptFailed", "picky").map((e) => e.reason), ["Other", "Bad"])
      }))
  })

  describe("defects", () => {
    it.scoped("a defect is a retryable 'task panicked' failure: died twice, then Completed", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* perRun((n) => n <= 2 ? Effect.die(new Error("kaboom")) : Effect.void)
        const handle = yield* supervisor.add(TaskSpec.restartable("panicky", task).pipe(TaskSpec.withBackoff(fast)))
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(outcome._tag, "Completed")
        assert.strictEqual(yield* Ref.get(runs), 3)
        assert.deepStrictEqual(
          ofTag(events, "AttemptFailed", "panicky").map((e) => [e.attempt, e.reason, e.exitCode]),
          [[1, "task panicked: kaboom", undefined], [2, "task panicked: kaboom", undefined]]
        )
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "panicky").map((e) => e.reason),
          ["task panicked: kaboom", "task panicked: kaboom"]
        )
        assertTaskOrder(events, "panicky")
      }))

    it.scoped("under never a defect ends the task Failed; a throw inside Effect.sync is a defect too", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const kaboom = new Error("kaboom")
        const died = yield* supervisor.add(TaskSpec.once("died", Effect.die(kaboom)))
        const threw = yield* supervisor.add(
          TaskSpec.once(
            "threw",
            Effect.sync(() => {
              throw new Error("sync boom")
            })
          )
        )
        const a = narrow(yield* died.await, "Failed")
        const b = narrow(yield* threw.await, "Failed")
        yield* supervisor.shutdown

        assert.include(a.reason, "panicked")
        assert.strictEqual(a.reason, "task panicked: kaboom")
        assert.strictEqual(Cause.originalError(Option.getOrUndefined(Cause.dieOption(a.cause))), kaboom)
        assert.strictEqual(b.reason, "task panicked: sync boom")
        assert.isTrue(Cause.isDie(b.cause))
        assert.deepStrictEqual(ofTag(events, "AttemptFailed").map((e) => [e.task, e.reason]), [
          ["died", "task panicked: kaboom"],
          ["threw", "task panicked: sync boom"]
        ])
        assert.strictEqual(ofTag(events, "BackoffScheduled").length, 0)
      }))
  })

  describe("user callbacks that die", () => {
    // Nobody stopped these tasks, so Canceled would hide the defect: the outcome must carry it.
    it.scoped("an isFatal predicate that throws does not end the task Canceled", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const predicate = new Error("predicate broke")
        const handle = yield* supervisor.add(
          TaskSpec.restartable("bad-predicate", Effect.fail(boom)).pipe(
            TaskSpec.withBackoff(fast),
            TaskSpec.withFatal(() => {
              throw predicate
            })
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.include(["Failed", "Fatal"], outcome._tag)
        const cause = (outcome as TaskOutcome.Failed<unknown>).cause
        assert.strictEqual(Cause.originalError(Option.getOrUndefined(Cause.dieOption(cause))), predicate)
        assert.strictEqual(finishedOf(events, "bad-predicate").outcome, outcome)
      }))

    it.scoped("a retry schedule that dies does not end the task Canceled", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const defect = new Error("schedule broke")
        const handle = yield* supervisor.add(
          TaskSpec.restartable("bad-schedule", Effect.fail(boom)).pipe(
            TaskSpec.withSchedule(Schedule.spaced("10 millis").pipe(Schedule.tapInput(() => Effect.die(defect))))
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.include(["Failed", "Fatal"], outcome._tag)
        const cause = (outcome as TaskOutcome.Failed<unknown>).cause
        assert.strictEqual(Cause.originalError(Option.getOrUndefined(Cause.dieOption(cause))), defect)
        assert.strictEqual(finishedOf(events, "bad-schedule").outcome, outcome)
      }))
  })

  describe("self-interruption", () => {
    it.scoped("Effect.interrupt inside the task ends it Canceled with AttemptCanceled, even under always", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const plain = yield* counting(Effect.interrupt)
        const timed = yield* counting(Effect.interrupt)
        const always = RestartPolicy.always({ interval: "10 millis" })
        const a = yield* supervisor.add(TaskSpec.make("quitter", plain.task, { restart: always }))
        const b = yield* supervisor.add(
          TaskSpec.make("timed-quitter", timed.task, { restart: always, timeout: "1 second" })
        )
        const waiter = yield* Effect.fork(Effect.all([a.await, b.await]))
        yield* TestClock.adjust("5 seconds")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Canceled", "Canceled"])
        assert.deepStrictEqual([yield* Ref.get(plain.runs), yield* Ref.get(timed.runs)], [1, 1])
        for (const name of ["quitter", "timed-quitter"]) {
          assert.deepStrictEqual(kinds(events, name).slice(2), [
            "AttemptStarting",
            "AttemptCanceled",
            "TaskFinished",
            "TaskRemoved"
          ], name)
          assert.strictEqual(finishedOf(events, name).outcome._tag, "Canceled")
        }
        assert.strictEqual(ofTag(events, "BackoffScheduled").length, 0)
        assert.strictEqual(ofTag(events, "TaskRemoveRequested").length, 0)
      }))
  })

  describe("retry schedules", () => {
    it.scoped("spaced composed with recurs(2): delays follow the schedule, then the task ends Failed", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* counting(Effect.fail(boom))
        const handle = yield* supervisor.add(
          TaskSpec.restartable("scheduled", task).pipe(
            TaskSpec.withSchedule(Schedule.spaced("10 millis").pipe(Schedule.compose(Schedule.recurs(2))))
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = narrow(yield* Fiber.join(waiter), "Failed")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 3)
        assert.strictEqual(outcome.reason, "retry schedule ended after 2 retries: Boom: boom")
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "scheduled").map((e) => ms(e.delay)), [10, 10])
        assert.deepStrictEqual(attemptsOf(events, "scheduled"), [[1, 0], [2, 10], [3, 20]])
        assertTaskOrder(events, "scheduled")
      }))

    it.scoped("exponential intersected with recurs(3): delays 10, 20, 40 ms", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* counting(Effect.fail(boom))
        const handle = yield* supervisor.add(
          TaskSpec.restartable("intersected", task).pipe(
            TaskSpec.withSchedule(Schedule.intersect(Schedule.exponential("10 millis"), Schedule.recurs(3)))
          )
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = narrow(yield* Fiber.join(waiter), "Failed")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 4)
        assert.strictEqual(outcome.reason, "retry schedule ended after 3 retries: Boom: boom")
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "intersected").map((e) => ms(e.delay)), [10, 20, 40])
        assert.deepStrictEqual(attemptsOf(events, "intersected"), [[1, 0], [2, 10], [3, 30], [4, 70]])
      }))

    it.scoped("the schedule receives the failure: recurWhile stops on a different error", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* perRun((n): Effect.Effect<void, Retryable | Other> =>
          n <= 2 ? Effect.fail(new Retryable()) : Effect.fail(new Other())
        )
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        const schedule = Schedule.intersect(
          Schedule.spaced("10 millis"),
          Schedule.recurWhile((e: TaskSpec.AttemptFailure<Retryable | Other>) => e._tag === "Retryable")
        ).pipe(Schedule.tapInput((e: TaskSpec.AttemptFailure<Retryable | Other>) =>
          Ref.update(seen, (tags) => [...tags, e._tag])
        ))
        const handle = yield* supervisor.add(
          TaskSpec.restartable("selective", task).pipe(TaskSpec.withSchedule(schedule))
        )
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        const outcome = narrow(yield* Fiber.join(waiter), "Failed")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 3)
        assert.deepStrictEqual(yield* Ref.get(seen), ["Retryable", "Retryable", "Other"])
        assert.strictEqual(outcome.reason, "retry schedule ended after 2 retries: Other")
        assert.isTrue(failureOf(outcome.cause) instanceof Other)
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "selective").map((e) =>
            ms(e.delay)
          ),
          [10, 10]
        )
      }))

    it.scoped("a success resets the schedule to its initial state", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const { runs, task } = yield* cycling([Effect.fail(boom), Effect.void])
        const handle = yield* supervisor.add(
          TaskSpec.make("resetting", task, { restart: RestartPolicy.always({ interval: "10 millis" }) }).pipe(
            TaskSpec.withSchedule(Schedule.spaced("10 millis").pipe(Schedule.compose(Schedule.recurs(1))))
          )
        )
        yield* TestClock.adjust("55 millis")
        assert.strictEqual(yield* Ref.get(runs), 6)
        assert.strictEqual(ofTag(events, "TaskFinished", "resetting").length, 0)
        yield* supervisor.cancel(handle.id)
        assert.strictEqual((yield* handle.await)._tag, "Canceled")
        yield* supervisor.shutdown
        assert.strictEqual(ofTag(events, "AttemptFailed", "resetting").length, 3)
        assert.deepStrictEqual(
          ofTag(events, "BackoffScheduled", "resetting").filter((e) => e.source === "Failure").map((e) => ms(e.delay)),
          [10, 10, 10]
        )
      }))
  })

  describe("task context", () => {
    it.scoped("CurrentTask gives the id, name and attempt number inside the task", () =>
      Effect.gen(function*() {
        const { supervisor } = yield* supervisorWith()
        const seen = yield* Ref.make<ReadonlyArray<TaskSpec.CurrentTaskInfo>>([])
        const task = Effect.gen(function*() {
          const info = yield* TaskSpec.CurrentTask
          yield* Ref.update(seen, (all) => [...all, info])
          if (info.attempt < 3) return yield* Effect.fail(boom)
        })
        const handle = yield* supervisor.add(TaskSpec.restartable("whoami", task).pipe(TaskSpec.withBackoff(fast)))
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown

        assert.deepStrictEqual(
          yield* Ref.get(seen),
          [1, 2, 3].map((attempt) => ({
            id: handle.id,
            name: "whoami",
            attempt
          }))
        )
        assert.deepStrictEqual(yield* TaskSpec.CurrentTask, { id: 0, name: "", attempt: 0 })
      }))

    it.scoped("a task's requirements come from the caller of add", () =>
      Effect.gen(function*() {
        class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}
        const { supervisor } = yield* supervisorWith()
        const heard = yield* Ref.make<ReadonlyArray<string>>([])
        const spec = (name: string) =>
          TaskSpec.once(name, Effect.flatMap(Greeting, (greeting) => Ref.update(heard, (all) => [...all, greeting])))
        const english = yield* supervisor.add(spec("english")).pipe(Effect.provideService(Greeting, "hello"))
        yield* english.await
        const french = yield* supervisor.add(spec("french")).pipe(Effect.provideService(Greeting, "bonjour"))
        assert.strictEqual((yield* french.await)._tag, "Completed")
        yield* supervisor.shutdown
        assert.deepStrictEqual(yield* Ref.get(heard), ["hello", "bonjour"])
      }))

    it.scoped("a retry schedule's requirements come from the caller of add too", () =>
      Effect.gen(function*() {
        class RetryDelay extends Context.Tag("test/RetryDelay")<RetryDelay, Duration.Duration>() {}
        const { events, supervisor } = yield* supervisorWith()
        const { task } = yield* failNTimes(2, boom)
        const schedule = Schedule.spaced("1 millis").pipe(
          Schedule.modifyDelayEffect(() => RetryDelay)
        )
        const handle = yield* supervisor.add(
          TaskSpec.restartable("configured", task).pipe(TaskSpec.withSchedule(schedule))
        ).pipe(Effect.provideService(RetryDelay, Duration.millis(70)))
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "configured").map((e) => ms(e.delay)), [70, 70])
        assert.deepStrictEqual(attemptsOf(events, "configured"), [[1, 0], [2, 70], [3, 140]])
      }))

    it.scoped("with a tracer installed, each attempt runs in a taskvisor.attempt span under the caller's span, with its id, result and reason, linked to the previous one", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const { events, supervisor } = yield* supervisorWith()
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        const { task } = yield* failNTimes(1, boom)
        const body = Effect.zipRight(
          Effect.flatMap(Effect.currentSpan, (span) => Ref.update(seen, (all) => [...all, span.name])),
          task
        )
        const handle = yield* supervisor.add(TaskSpec.restartable("traced", body).pipe(TaskSpec.withBackoff(fast)))
          .pipe(Effect.withSpan("caller"), Effect.withTracer(recording))
        const waiter = yield* Effect.fork(handle.await)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown

        assert.deepStrictEqual(yield* Ref.get(seen), ["taskvisor.attempt", "taskvisor.attempt"])
        const attempts = spans.filter((span) => span.name === "taskvisor.attempt")
        assert.deepStrictEqual(attempts.map((span) => span.attributes.get("attempt")), [1, 2])
        assert.deepStrictEqual(attempts.map((span) => span.attributes.get("task")), ["traced", "traced"])
        assert.deepStrictEqual(attempts.map((span) => span.attributes.get("id")), [handle.id, handle.id])
        assert.deepStrictEqual(attempts.map((span) => span.attributes.get("result")), ["failed", "succeeded"])
        assert.deepStrictEqual(attempts.map((span) => span.attributes.get("reason")), [
          ofTag(events, "AttemptFailed", "traced")[0].reason,
          undefined
        ])
        assert.deepStrictEqual(attempts.map((span) => span.status._tag), ["Ended", "Ended"])
        // the spans of one task are linked, each to the attempt before it
        assert.deepStrictEqual(attempts.map((span) => span.links.map((link) => link.span)), [[], [attempts[0]]])
        assert.deepStrictEqual(
          attempts.map((span) => span.status._tag === "Ended" && Exit.isFailure(span.status.exit)),
          [true, false]
        )
        assert.deepStrictEqual(
          attempts.map((span) => Option.map(span.parent, (parent) => (parent as Tracer.Span).name)),
          [Option.some("caller"), Option.some("caller")]
        )
      }))

    it.scoped("a force-aborted attempt's span is ended, as force_aborted and as an error", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const { supervisor } = yield* supervisorWith({ grace: "1 second" })
        const handle = yield* supervisor.add(TaskSpec.make("stuck", stubborn)).pipe(Effect.withTracer(recording))
        yield* settle
        const canceled = yield* Effect.fork(supervisor.cancel(handle.id))
        yield* TestClock.adjust("1 second")
        assert.isTrue(yield* Fiber.join(canceled))
        assert.strictEqual((yield* handle.await)._tag, "ForceAborted")
        const [span] = spans.filter((span) => span.name === "taskvisor.attempt")
        assert.strictEqual(span.status._tag, "Ended")
        assert.strictEqual(span.attributes.get("result"), "force_aborted")
        assert.isTrue(span.status._tag === "Ended" && Exit.isFailure(span.status.exit))
      }))

    it.scoped("with only Effect's built-in tracer, an attempt runs in its caller's span and adds none", () =>
      Effect.gen(function*() {
        const { supervisor } = yield* supervisorWith()
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        const handle = yield* supervisor.add(
          TaskSpec.once(
            "untraced",
            Effect.flatMap(Effect.currentSpan, (span) => Ref.update(seen, (all) => [...all, span.name]))
          )
        ).pipe(Effect.withSpan("caller"))
        assert.strictEqual((yield* handle.await)._tag, "Completed")
        yield* supervisor.shutdown
        assert.deepStrictEqual(yield* Ref.get(seen), ["caller"])
      }))
  })

  describe("concurrency", () => {
    it.scoped("maxConcurrent 2: at most 2 attempts run, the others wait registered, all complete", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 2 })
        const running = yield* gauge
        const handles = yield* Effect.forEach(
          [1, 2, 3, 4, 5],
          (i) => supervisor.add(TaskSpec.once(`worker-${i}`, running.wrap(Effect.sleep("100 millis"))))
        )
        yield* settle
        const listed = yield* supervisor.list
        assert.strictEqual(listed.length, 5)
        assert.deepStrictEqual(listed.map((t) => t.state).sort(), [
          "Running",
          "Running",
          "Waiting",
          "Waiting",
          "Waiting"
        ])
        assert.strictEqual(yield* Ref.get(running.current), 2)
        const waiter = yield* Effect.fork(Effect.forEach(handles, (h) => h.await))
        yield* TestClock.adjust("300 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), Array(5).fill("Completed"))
        assert.strictEqual(yield* Ref.get(running.peak), 2)
        assert.strictEqual(ofTag(events, "TaskAdded").length, 5)
        // each one starts (at once, within its `add`, if a permit is free) after its own TaskAdded
        for (const handle of handles) assertIdOrder(events, handle.id)
        assert.deepStrictEqual(ofTag(events, "AttemptStarting").map((e) => e.at).sort((x, y) => x - y), [
          0,
          0,
          100,
          100,
          200
        ])
      }))

    it.scoped("a task in backoff holds no permit: another task runs meanwhile", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
        const a = yield* failNTimes(1, boom)
        const first = yield* supervisor.add(
          TaskSpec.restartable("a", a.task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("1 second")))
        )
        yield* settle
        assert.strictEqual(yield* Ref.get(a.runs), 1)
        const second = yield* supervisor.add(TaskSpec.once("b", Effect.sleep("100 millis")))
        const waiter = yield* Effect.fork(Effect.all([first.await, second.await]))
        yield* TestClock.adjust("100 millis")
        assert.strictEqual(finishedOf(events, "b").outcome._tag, "Completed")
        yield* TestClock.adjust("900 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Completed", "Completed"])
        assert.deepStrictEqual(attemptsOf(events, "b"), [[1, 0]])
        assert.strictEqual(finishedOf(events, "b").at, 100)
        assert.deepStrictEqual(attemptsOf(events, "a"), [[1, 0], [2, 1000]])
      }))
    it.scoped("the attempt timeout excludes the time spent waiting for a permit", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
        const hog = yield* supervisor.add(TaskSpec.once("hog", Effect.sleep("100 millis")))
        const quick = yield* supervisor.add(
          TaskSpec.once("quick", Effect.sleep("30 millis")).pipe(TaskSpec.withTimeout("50 millis"))
        )
        const waiter = yield* Effect.fork(Effect.all([hog.await, quick.await]))
        yield* TestClock.adjust("200 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Completed", "Completed"])
        assert.deepStrictEqual(attemptsOf(events, "quick"), [[1, 100]])
        assert.strictEqual(ms(ofTag(events, "AttemptSucceeded", "quick")[0].duration), 30)
        assert.strictEqual(ofTag(events, "AttemptTimedOut").length, 0)
      }))

    it.scoped("a task canceled while waiting for a permit finishes Canceled without an AttemptStarting", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
        const { runs, task } = yield* counting(Effect.void)
        yield* supervisor.add(TaskSpec.once("hog", neverEnding))
        const queued = yield* supervisor.add(TaskSpec.once("queued", task))
        yield* settle
        assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [
          ["hog", "Running"],
          ["queued", "Waiting"]
        ])
        yield* supervisor.cancel("queued")
        assert.strictEqual((yield* queued.await)._tag, "Canceled")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 0)
        expectTaskEvents(events, "queued", ["TaskRemoveRequested"])
      }))
  })

  describe("event order", () => {
    it.scoped("a mixed run keeps the per-task order and a gap-free seq", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const flaky = yield* failNTimes(2, boom)
        const panicky = yield* perRun((n) => n === 1 ? Effect.die(new Error("kaboom")) : Effect.void)
        const periodic = yield* counting(Effect.void)
        const handles = yield* Effect.all([
          supervisor.add(TaskSpec.once("ok", Effect.sleep("5 millis"))),
          supervisor.add(TaskSpec.restartable("flaky", flaky.task).pipe(TaskSpec.withBackoff(fast))),
          supervisor.add(TaskSpec.restartable("fatal", Effect.fail(new TaskError.TaskFatal({ reason: "no" })))),
          supervisor.add(
            TaskSpec.restartable("slow", neverEnding).pipe(
              TaskSpec.withTimeout("20 millis"),
              TaskSpec.withMaxRetries(1),
              TaskSpec.withBackoff(BackoffPolicy.constant("5 millis"))
            )
          ),
          supervisor.add(TaskSpec.restartable("panicky", panicky.task).pipe(TaskSpec.withBackoff(fast))),
          supervisor.add(TaskSpec.once("quitter", Effect.interrupt))
        ])
        yield* supervisor.add(TaskSpec.periodic("periodic", periodic.task, "15 millis"))
        const waiter = yield* Effect.fork(
          Effect.forEach(handles as ReadonlyArray<TaskHandle<unknown>>, (h) => h.await)
        )
        yield* TestClock.adjust("200 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), [
          "Completed",
          "Completed",
          "Fatal",
          "Failed",
          "Completed",
          "Canceled"
        ])
        assertSeq(events)
        for (const name of ["ok", "flaky", "fatal", "slow", "panicky", "quitter", "periodic"]) {
          assertTaskOrder(events, name)
          const own = ofTask(events, name)
          const added = ofTag(own, "TaskAdded")[0]
          const finished = finishedOf(own, name)
          const removed = ofTag(own, "TaskRemoved")[0]
          const attemptEvents = own.filter((e) => "attempt" in e)
          assert.isBelow(added.seq, ofTag(own, "AttemptStarting")[0].seq, name)
          assert.isAbove(finished.seq, attemptEvents[attemptEvents.length - 1].seq, name)
          assert.strictEqual(removed.seq, finished.seq + 1, name)
        }
        assert.isAtLeast(yield* Ref.get(periodic.runs), 13)
        assert.deepStrictEqual(kinds(events).slice(-4), [
          "ShutdownRequested",
          "TaskFinished",
          "TaskRemoved",
          "AllStoppedWithinGrace"
        ])
        assert.strictEqual(finishedOf(events, "periodic").outcome._tag, "Canceled")
        assert.strictEqual(ofTag(events, "TaskRemoveRequested").length, 0)
      }))
  })

  describe("run (static mode)", () => {
    it.scoped("admits the batch before any attempt, returns when all finished, ends with AllStoppedWithinGrace", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const specs = [100, 200, 300].map((delay) => TaskSpec.once(`batch-${delay}`, Effect.sleep(delay)))
        const running = yield* Effect.fork(supervisor.run(specs))
        yield* TestClock.adjust("299 millis")
        assert.isTrue(Option.isNone(yield* Fiber.poll(running)))
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(running)

        assert.deepStrictEqual(yield* supervisor.list, [])
        const tags = kinds(events)
        assert.deepStrictEqual(tags.slice(0, 6), [
          "TaskAddRequested",
          "TaskAddRequested",
          "TaskAddRequested",
          "TaskAdded",
          "TaskAdded",
          "TaskAdded"
        ])
        assert.isBelow(tags.lastIndexOf("TaskAdded"), tags.indexOf("AttemptStarting"))
        assert.strictEqual(tags[tags.length - 1], "AllStoppedWithinGrace")
        assert.strictEqual(events[events.length - 1].at, 300)
        assert.notInclude(tags, "ShutdownRequested")
        assert.strictEqual(ofTag(events, "TaskFinished").length, 3)
        for (const spec of specs) assertTaskOrder(events, spec.name)
        assertSeq(events)

        const again = yield* Effect.flip(supervisor.run([]))
        assert.strictEqual(again._tag, "AlreadyRunning")
      }))

    it.scoped("run([]) returns at once", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* supervisorWith()
        const running = yield* Effect.fork(supervisor.run([]))
        yield* settleUntilDone(running, "run([]) to return")
        const exit = yield* Fiber.poll(running)
        assert.isTrue(Option.isSome(exit) && exit.value._tag === "Success")
        assert.deepStrictEqual(kinds(events), ["AllStoppedWithinGrace"])
      }))
  })
})
