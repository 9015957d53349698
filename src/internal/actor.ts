/** The retry loop of one task: attempts, their scopes, classification of failures, backoff. */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type * as SupervisorEvent from "../SupervisorEvent.js"
import { AttemptScope } from "./attemptScope.js"
import type { Bus, Fields } from "./bus.js"
import { zeroDelay } from "./eventLoop.js"
import type { Permits } from "./permits.js"
import { type Resolved, TimedOut } from "./resolve.js"
import type { Task } from "./task.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskTimeout } from "./taskError.js"
import * as TaskOutcome from "./taskOutcome.js"
import { CurrentTask } from "./taskSpec.js"

/** The parts of the supervisor an actor uses. */
export interface ActorEnv {
  readonly bus: Bus
  readonly permits: Permits | undefined
  /** The terminal commit of the outcome the actor decided on. */
  readonly commit: (task: Task, outcome: TaskOutcome.TaskOutcome<unknown>) => void
}

const oneMilli = Duration.millis(1)

const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a task forked with these fiber refs gets a span per attempt: when
 * tracing is enabled and a tracer other than Effect's built-in one (which
 * exports nothing) is installed. Skipping it saves a context copy per attempt.
 */
export const tracesAttempts = (fiberRefs: FiberRefs.FiberRefs): boolean =>
  FiberRefs.getOrDefault(fiberRefs, FiberRef.currentTracerEnabled) &&
  Context.get(FiberRefs.getOrDefault(fiberRefs, DefaultServices.currentServices), Tracer.Tracer) !== builtInTracer

/**
 * The context of the entry's next attempt: `base` with its `CurrentTask` and its `Scope` (one copy of
 * `base`, the only per-attempt allocation besides the scope's shell).
 */
export const attemptContext = <R>(base: Context.Context<R>, task: Task): Context.Context<R> => {
  const services = new Map(base.unsafeMap)
  services.set(CurrentTask.key, { id: task.id, name: task.spec.name, attempt: task.attempt + 1 })
  services.set(Scope.Scope.key, task.scope)
  return Context.unsafeMake(services)
}

const traced = (task: Task): Effect.Effect<unknown, unknown> =>
  Effect.withSpan(task.spec.attempt, "taskvisor.attempt", {
    attributes: { task: task.spec.name, attempt: task.attempt },
    captureStackTrace: false
  })

/** A user value that threw when the retry loop read it: what was read, and what it threw. */
class Broken {
  constructor(readonly what: string, readonly cause: Cause.Cause<unknown>) {}
}

/** Read a user value that may throw (a getter, a callback). */
const guard = <A>(what: string, read: () => A): A | Broken => {
  try {
    return read()
  } catch (defect) {
    return new Broken(what, Cause.die(defect))
  }
}

/** Whether a typed failure is fatal; reading its `_tag` and calling `isFatal` may throw. */
const classify = (spec: Resolved, failure: unknown): boolean | Broken => {
  const fatal = guard("reading _tag", () => isTaskFatal(failure))
  if (fatal !== false) return fatal
  return spec.isFatal === undefined ? false : guard("isFatal", () => spec.isFatal!(failure) === true)
}

/**
 * A user value the retry loop needed (a getter of the failure, the `isFatal`
 * predicate, the retry schedule) broke while handling a failure: the task
 * cannot decide whether or when to retry, so it stops `Failed`, keeping both causes.
 */
const brokenOutcome = (
  broken: Broken,
  reason: string,
  exitCode: number | undefined,
  cause: Cause.Cause<unknown>
): TaskOutcome.TaskOutcome<unknown> => {
  const error = Cause.failureOption(broken.cause).pipe(
    Option.orElse(() => Cause.dieOption(broken.cause)),
    Option.getOrElse(() => "interrupted")
  )
  return TaskOutcome.Failed({
    reason: `${broken.what} failed: ${describe(error)} (while handling: ${reason})`,
    exitCode,
    cause: Cause.sequential(cause, broken.cause)
  })
}

/** The next schedule state and delay in milliseconds (`Infinity`: wait for ever), or `undefined` when done. */
const decide = (
  now: number,
  [state, , decision]: readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
): readonly [unknown, number] | undefined => {
  if (ScheduleDecision.isDone(decision)) return undefined
  const delay = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
  if (Number.isNaN(delay)) throw new Error("it asked for an invalid delay (NaN ms)")
  return [state, delay]
}

const interruptedExit = Exit.interrupt(FiberId.none)

const nothingReleased: Effect.Effect<undefined> = Effect.succeed(undefined)

/**
 * Close an attempt's scope (a timed-out attempt's as interrupted, as
 * `Effect.scoped` inside `Effect.timeout` would be); what failed while
 * releasing, if anything did.
 */
const endAttempt = (task: Task, exit: Exit.Exit<unknown, unknown>): Effect.Effect<Cause.Cause<unknown> | undefined> => {
  const closing = task.scope.end(Exit.isSuccess(exit) && exit.value === TimedOut ? interruptedExit : exit)
  return closing === undefined
    ? nothingReleased
    : Effect.map(Effect.exit(closing), (closed) => Exit.isFailure(closed) ? closed.cause : undefined)
}

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
const yieldNow = Effect.yieldNow()

/** Nothing is published once the task was force-aborted and its terminal events are out. */
const publish = <K extends SupervisorEvent.Kind>(bus: Bus, task: Task, tag: K, fields: Fields<K>): void => {
  if (!task.finished) bus.emit(tag, fields)
}

const sleep = (delay: Duration.Duration, zero: Effect.Effect<void>): Effect.Effect<void> =>
  Duration.isZero(delay) ? zero : Duration.isFinite(delay) ? Effect.sleep(delay) : Effect.never

/**
 * Between attempts: the next attempt's scope and `CurrentTask` are set in place now (not provided around the
 * attempt, so no frame stays on a parked fiber's stack), for the schedule and the delay too.
 */
const between = (task: Task): Effect.Effect<void> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    task.enter("BackingOff")
    task.scope = new AttemptScope()
    return FiberRef.set(FiberRef.currentContext, attemptContext(context, task))
  })

/**
 * The retry loop of one task, ending with the terminal commit of its outcome.
 * It runs uninterruptibly except where it waits (permit, attempt, delay), so a
 * stop always lets it publish the attempt's terminal event and commit the
 * outcome (the fiber itself then ends interrupted). Attempts never overlap.
 */
export const run = (env: ActorEnv, task: Task, tracing: boolean): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { bus, permits } = env
      const spec = task.spec
      const { id } = task
      const { name } = spec
      const clock = yield* Effect.clock
      // a zero delay arms no timer (even of 0 ms, it costs about a millisecond on Node); on a clock other
      // than the live one (TestClock) it is a plain yield, as no real time is involved
      const zero = clock === liveClock ? zeroDelay : yieldNow
      let scheduleState = spec.initial
      let retries = 0

      while (true) {
        if (permits !== undefined) {
          task.enter("Waiting")
          const permit = yield* Effect.exit(restore(permits.take(task)))
          if (Exit.isFailure(permit)) {
            // interrupted after the permit was handed over, before it resumed
            permits.release(task)
            return TaskOutcome.Canceled
          }
        }
        const attempt = ++task.attempt
        task.enter("Running")
        publish(bus, task, "AttemptStarting", { id, task: name, attempt })
        const started = clock.unsafeCurrentTimeMillis()
        const exit = yield* Effect.exit(restore(tracing ? traced(task) : spec.attempt))
        const released = yield* endAttempt(task, exit)
        permits?.release(task)
        const elapsed = clock.unsafeCurrentTimeMillis() - started
        const duration = Duration.millis(elapsed)

        // what failed: the attempt, its timeout, and what failed while releasing
        const timedOut = Exit.isSuccess(exit) && exit.value === TimedOut
        let cause: Cause.Cause<unknown> | undefined = Exit.isFailure(exit)
          ? exit.cause
          : timedOut
          ? Cause.fail(new TaskTimeout({ timeout: spec.timeout! }))
          : undefined
        if (released !== undefined) cause = cause === undefined ? released : Cause.sequential(cause, released)
        const interrupted = cause !== undefined && !timedOut && Cause.isInterruptedOnly(cause)

        // interrupted by itself, or stopped: once a stop is claimed it decides the outcome, and a failure while
        // stopping is kept on it
        if (interrupted || (task.stopped && cause !== undefined)) {
          const kept = interrupted ? undefined : cause
          publish(bus, task, "AttemptCanceled", { id, task: name, attempt, duration, cause: kept })
          return kept === undefined ? TaskOutcome.Canceled : TaskOutcome.canceledWith(kept)
        }

        if (cause === undefined) {
          publish(bus, task, "AttemptSucceeded", { id, task: name, attempt, duration })
          retries = 0
          scheduleState = spec.initial
          if (task.stopped) return TaskOutcome.Canceled
          if (spec.restart._tag !== "Always") return TaskOutcome.Completed
          yield* between(task)
          const interval = spec.restart.interval
          if (interval !== undefined) {
            const delay = Duration.max(interval, Duration.millis(Math.max(0, 1 - elapsed)))
            publish(bus, task, "BackoffScheduled", {
              id,
              task: name,
              attempt,
              delay,
              source: "Success",
              reason: undefined
            })
            if (!Exit.isSuccess(yield* Effect.exit(restore(sleep(delay, zero))))) return TaskOutcome.Canceled
          } else if (
            !Exit.isSuccess(
              yield* Effect.exit(restore(elapsed < 1 ? Effect.sleep(Duration.subtract(oneMilli, duration)) : zero))
            )
          ) {
            return TaskOutcome.Canceled
          }
          continue
        }

        let failure: unknown
        let reason: string
        let exitCode: number | undefined
        if (timedOut) {
          failure = new TaskTimeout({ timeout: spec.timeout! })
          reason = describe(failure)
          exitCode = undefined
          publish(bus, task, "AttemptTimedOut", { id, task: name, attempt, duration, timeout: spec.timeout! })
        } else {
          // not interrupted only: a typed failure, else a defect
          const typed = Cause.failureOption(cause)
          failure = Option.isSome(typed)
            ? typed.value
            : new TaskPanicked({ defect: Option.getOrUndefined(Cause.dieOption(cause)) })
          reason = describe(failure)
          const code = guard("reading exitCode", () => exitCodeOf(failure))
          exitCode = code instanceof Broken ? undefined : code
          publish(bus, task, "AttemptFailed", { id, task: name, attempt, duration, reason, exitCode })
          if (code instanceof Broken) return brokenOutcome(code, reason, exitCode, cause)
          if (Option.isSome(typed)) {
            const fatal = classify(spec, failure)
            if (fatal === true) return TaskOutcome.Fatal({ reason, exitCode, cause })
            if (fatal instanceof Broken) return brokenOutcome(fatal, reason, exitCode, cause)
          }
        }

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
        yield* between(task)
        const now = clock.unsafeCurrentTimeMillis()
        const step = yield* Effect.exit(restore(
          Effect.map(
            // the schedule's requirements come with the caller's context the actor runs in
            Effect.suspend(() =>
              spec.schedule.step(now, failure, scheduleState) as Effect.Effect<
                readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
              >
            ),
            (result) => decide(now, result)
          )
        ))
        if (Exit.isFailure(step)) {
          if (Cause.isInterruptedOnly(step.cause)) return TaskOutcome.Canceled
          return brokenOutcome(new Broken("retry schedule", step.cause), reason, exitCode, cause)
        }
        if (step.value === undefined) {
          return TaskOutcome.Failed({
            reason: `retry schedule ended after ${retries} retries: ${reason}`,
            exitCode,
            cause
          })
        }
        scheduleState = step.value[0]
        retries++
        const delay = Duration.millis(step.value[1])
        publish(bus, task, "BackoffScheduled", { id, task: name, attempt, delay, source: "Failure", reason })
        if (!Exit.isSuccess(yield* Effect.exit(restore(sleep(delay, zero))))) return TaskOutcome.Canceled
      }
    }).pipe(Effect.flatMap((outcome) => Effect.sync(() => env.commit(task, outcome))))
  )
