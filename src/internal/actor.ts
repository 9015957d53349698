import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Tracer from "effect/Tracer"
import type * as RestartPolicy from "../RestartPolicy.js"
import * as SupervisorEvent from "../SupervisorEvent.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskTimeout } from "../TaskError.js"
import * as TaskOutcome from "../TaskOutcome.js"
import { CurrentTask } from "../TaskSpec.js"
import type { Outcome } from "./handle.js"
import type { Bus } from "./subscribers.js"

/** A task spec with every setting resolved against the supervisor defaults. */
export interface Resolved {
  readonly name: string
  readonly effect: Effect.Effect<unknown, unknown, unknown>
  readonly restart: RestartPolicy.RestartPolicy
  readonly schedule: Schedule.Schedule<unknown, unknown, unknown>
  readonly timeout: Duration.Duration | undefined
  readonly maxRetries: number | undefined
  readonly isFatal: ((error: unknown) => boolean) | undefined
}

/** What `list` reports of a task. */
export type TaskState = "Waiting" | "Running" | "BackingOff" | "Stopping"

/** One registered task: its registry entry and the state its actor shares with the registry. */
export interface Entry {
  readonly id: number
  readonly spec: Resolved
  /** Completed by the terminal commit, after the task's last event. */
  readonly outcome: Outcome
  /** `Removing` once a stop has been claimed; the name stays reserved until the commit. */
  state: "Registered" | "Removing"
  status: TaskState
  attempt: number
  /** Set by the claimant before it interrupts the actor. */
  stopRequested: boolean
  /** The outcome the actor decided on, if it got that far. */
  result: TaskOutcome.TaskOutcome<unknown> | undefined
  /** The outcome of the terminal commit; set exactly once. */
  finished: TaskOutcome.TaskOutcome<unknown> | undefined
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** Whether the actor holds a concurrency permit (a force-abort gives it back). */
  holdsPermit: boolean
  /** The force-abort timer of an individual stop. */
  timer: Fiber.RuntimeFiber<void> | undefined
}

/** The parts of the supervisor an actor uses. */
export interface ActorEnv {
  readonly bus: Bus
  readonly permits: Effect.Semaphore | undefined
}

const TimedOut = Symbol.for("effect-taskvisor/TimedOut")
const oneMilli = Duration.millis(1)

/** A zero delay only yields: a timer, even of 0 ms, costs about a millisecond on Node. */
const sleep = (delay: Duration.Duration): Effect.Effect<void> =>
  Duration.isZero(delay) ? Effect.yieldNow() : Effect.sleep(delay)

const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a task forked with these fiber refs gets a span per attempt: when
 * tracing is enabled and a tracer other than Effect's built-in one (which
 * exports nothing) is installed. Skipping it saves a context copy per attempt.
 */
export const tracesAttempts = (fiberRefs: FiberRefs.FiberRefs): boolean =>
  FiberRefs.getOrDefault(fiberRefs, FiberRef.currentTracerEnabled) &&
  Context.get(FiberRefs.getOrDefault(fiberRefs, DefaultServices.currentServices), Tracer.Tracer) !== builtInTracer

const attemptEffect = (entry: Entry, traced: boolean): Effect.Effect<unknown, unknown> => {
  const spec = entry.spec
  const attempt = spec.effect as Effect.Effect<unknown, unknown>
  const bounded = spec.timeout === undefined ? attempt : Effect.timeoutTo(attempt, {
    duration: spec.timeout,
    onTimeout: () => TimedOut,
    onSuccess: (a) => a
  })
  return traced
    ? Effect.withSpan(bounded, "taskvisor.attempt", {
      attributes: { task: spec.name, attempt: entry.attempt },
      captureStackTrace: false
    })
    : bounded
}

/** Whether a typed failure is fatal, or the cause with which the `isFatal` predicate broke. */
const classify = (spec: Resolved, failure: unknown): boolean | Cause.Cause<never> => {
  if (isTaskFatal(failure)) return true
  if (spec.isFatal === undefined) return false
  try {
    return spec.isFatal(failure) === true
  } catch (defect) {
    return Cause.die(defect)
  }
}

/**
 * A user callback of the retry loop (the `isFatal` predicate or the retry
 * schedule) broke while handling a failure: the task cannot decide whether or
 * when to retry, so it stops `Failed`, keeping both causes.
 */
const brokenCallback = (
  callback: string,
  reason: string,
  exitCode: number | undefined,
  cause: Cause.Cause<unknown>,
  broken: Cause.Cause<unknown>
): TaskOutcome.TaskOutcome<unknown> => {
  const error = Cause.failureOption(broken).pipe(
    Option.orElse(() => Cause.dieOption(broken)),
    Option.getOrElse(() => Cause.pretty(broken))
  )
  return TaskOutcome.Failed({
    reason: `${callback} failed: ${describe(error)} (while handling: ${reason})`,
    exitCode,
    cause: Cause.sequential(cause, broken)
  })
}

/**
 * The retry loop of one task. It runs uninterruptibly except where it waits
 * (permit, attempt, delay), so a stop always lets it publish the attempt's
 * terminal event and record the outcome. Attempts never overlap.
 */
export const run = (env: ActorEnv, entry: Entry, traced: boolean): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { bus, permits } = env
      const spec = entry.spec
      const { id } = entry
      const { name } = spec
      const clock = yield* Effect.clock
      const context = yield* Effect.context<never>()
      let scheduleState = spec.schedule.initial
      let retries = 0
      // nothing is published once the task was force-aborted and its terminal events are out
      const live = () => bus.active && entry.finished === undefined

      const pause = function*(delay: Effect.Effect<void>) {
        entry.status = "BackingOff"
        const slept = yield* Effect.exit(restore(delay))
        return Exit.isSuccess(slept)
      }

      while (true) {
        if (permits !== undefined) {
          entry.status = "Waiting"
          const permit = yield* Effect.exit(restore(permits.take(1)))
          if (Exit.isFailure(permit)) return TaskOutcome.Canceled
          entry.holdsPermit = true
        }
        const attempt = ++entry.attempt
        entry.status = "Running"
        // the first attempt's is in the context the actor was forked with; later ones are set in place
        // rather than provided around the attempt, so no frame stays on a parked fiber's stack
        if (attempt > 1) {
          yield* FiberRef.set(FiberRef.currentContext, Context.add(context, CurrentTask, { id, name, attempt }))
        }
        if (live()) {
          bus.publish(SupervisorEvent.AttemptStarting({ seq: bus.next(), at: bus.now(), id, task: name, attempt }))
        }
        const started = clock.unsafeCurrentTimeMillis()
        const exit = yield* Effect.exit(restore(attemptEffect(entry, traced)))
        if (entry.holdsPermit) {
          entry.holdsPermit = false
          yield* permits!.release(1)
        }
        const elapsed = clock.unsafeCurrentTimeMillis() - started
        const duration = Duration.millis(elapsed)

        let failure: unknown
        let cause: Cause.Cause<unknown>
        if (Exit.isSuccess(exit) && exit.value !== TimedOut) {
          if (live()) {
            bus.publish(
              SupervisorEvent.AttemptSucceeded({ seq: bus.next(), at: bus.now(), id, task: name, attempt, duration })
            )
          }
          retries = 0
          scheduleState = spec.schedule.initial
          if (spec.restart._tag !== "Always") {
            return entry.stopRequested ? TaskOutcome.Canceled : TaskOutcome.Completed
          }
          const interval = spec.restart.interval
          if (interval !== undefined) {
            const delay = Duration.max(interval, Duration.millis(Math.max(0, 1 - elapsed)))
            if (live()) {
              bus.publish(SupervisorEvent.BackoffScheduled({
                seq: bus.next(),
                at: bus.now(),
                id,
                task: name,
                attempt,
                delay,
                source: "Success",
                reason: undefined
              }))
            }
            if (!(yield* pause(sleep(delay)))) return TaskOutcome.Canceled
          } else if (
            !(yield* pause(elapsed < 1 ? Effect.sleep(Duration.subtract(oneMilli, duration)) : Effect.yieldNow()))
          ) {
            return TaskOutcome.Canceled
          }
          continue
        } else if (Exit.isSuccess(exit)) {
          failure = new TaskTimeout({ timeout: spec.timeout! })
          cause = Cause.fail(failure)
          if (live()) {
            bus.publish(SupervisorEvent.AttemptTimedOut({
              seq: bus.next(),
              at: bus.now(),
              id,
              task: name,
              attempt,
              duration,
              timeout: spec.timeout!
            }))
          }
        } else {
          cause = exit.cause
          const typed = Cause.failureOption(cause)
          if (Option.isSome(typed)) {
            failure = typed.value
          } else {
            const defect = Cause.dieOption(cause)
            if (Option.isNone(defect)) {
              if (live()) {
                bus.publish(
                  SupervisorEvent.AttemptCanceled({ seq: bus.next(), at: bus.now(), id, task: name, attempt, duration })
                )
              }
              return TaskOutcome.Canceled
            }
            failure = new TaskPanicked({ defect: defect.value })
          }
          const reason = describe(failure)
          const exitCode = exitCodeOf(failure)
          if (live()) {
            bus.publish(SupervisorEvent.AttemptFailed({
              seq: bus.next(),
              at: bus.now(),
              id,
              task: name,
              attempt,
              duration,
              reason,
              exitCode
            }))
          }
          if (Option.isSome(typed)) {
            const fatal = classify(spec, failure)
            if (fatal === true) return TaskOutcome.Fatal({ reason, exitCode, cause })
            if (fatal !== false) return brokenCallback("isFatal", reason, exitCode, cause, fatal)
          }
        }

        const reason = describe(failure)
        const exitCode = exitCodeOf(failure)
        if (spec.restart._tag === "Never") {
          return TaskOutcome.Failed({ reason, exitCode, cause })
        }
        if (spec.maxRetries !== undefined && retries >= spec.maxRetries) {
          return TaskOutcome.Failed({
            reason: `retry limit reached after ${retries} of ${spec.maxRetries} retries: ${reason}`,
            exitCode,
            cause
          })
        }
        const now = clock.unsafeCurrentTimeMillis()
        const step = yield* Effect.exit(restore(
          spec.schedule.step(now, failure, scheduleState) as Effect.Effect<
            readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
          >
        ))
        if (Exit.isFailure(step)) {
          if (Cause.isInterruptedOnly(step.cause)) return TaskOutcome.Canceled
          return brokenCallback("retry schedule", reason, exitCode, cause, step.cause)
        }
        const [nextState, , decision] = step.value
        if (ScheduleDecision.isDone(decision)) {
          return TaskOutcome.Failed({
            reason: `retry schedule ended after ${retries} retries: ${reason}`,
            exitCode,
            cause
          })
        }
        scheduleState = nextState
        retries++
        const delay = Duration.millis(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
        if (live()) {
          bus.publish(SupervisorEvent.BackoffScheduled({
            seq: bus.next(),
            at: bus.now(),
            id,
            task: name,
            attempt,
            delay,
            source: "Failure",
            reason
          }))
        }
        if (!(yield* pause(sleep(delay)))) return TaskOutcome.Canceled
      }
    }).pipe(Effect.map((outcome) => {
      entry.result = outcome
    }))
  )
