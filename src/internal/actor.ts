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
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type * as RestartPolicy from "../RestartPolicy.js"
import * as SupervisorEvent from "../SupervisorEvent.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskTimeout } from "../TaskError.js"
import * as TaskOutcome from "../TaskOutcome.js"
import { CurrentTask } from "../TaskSpec.js"
import { AttemptScope } from "./attemptScope.js"
import { zeroDelay } from "./eventLoop.js"
import type { Outcome } from "./handle.js"
import type { Permits } from "./permits.js"
import type { Bus } from "./subscribers.js"

/** A task spec with every setting resolved against the supervisor defaults. */
export interface Resolved {
  readonly name: string
  /** One attempt: the task's effect bounded by the timeout (a success with `TimedOut`); its scope is the entry's. */
  readonly attempt: Effect.Effect<unknown, unknown>
  readonly restart: RestartPolicy.RestartPolicy
  readonly schedule: Schedule.Schedule<unknown, unknown, unknown>
  /** The schedule's initial state, read once at admission. */
  readonly initial: unknown
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
  /** What the actor is doing; `list` shows `Stopping` instead once a stop is claimed. */
  phase: Exclude<TaskState, "Stopping">
  attempt: number
  /** The scope of the current (or next) attempt, in the context the attempt runs in. */
  scope: AttemptScope
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
  readonly permits: Permits | undefined
}

/** What a timed-out attempt returns instead of its value. */
export const TimedOut = Symbol.for("effect-taskvisor/TimedOut")
const oneMilli = Duration.millis(1)

/** A zero delay only yields: a timer, even of 0 ms, costs about a millisecond on Node. */
const sleep = (delay: Duration.Duration): Effect.Effect<void> =>
  Duration.isZero(delay) ? zeroDelay : Effect.sleep(delay)

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
export const attemptContext = <R>(base: Context.Context<R>, entry: Entry): Context.Context<R> => {
  const services = new Map(base.unsafeMap)
  services.set(CurrentTask.key, { id: entry.id, name: entry.spec.name, attempt: entry.attempt + 1 })
  services.set(Scope.Scope.key, entry.scope)
  return Context.unsafeMake(services)
}

const traced = (entry: Entry): Effect.Effect<unknown, unknown> =>
  Effect.withSpan(entry.spec.attempt, "taskvisor.attempt", {
    attributes: { task: entry.spec.name, attempt: entry.attempt },
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

/** The next schedule state and delay in milliseconds, or `undefined` when the schedule is done. */
const decide = (
  now: number,
  [state, , decision]: readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
): readonly [unknown, number] | undefined => {
  if (ScheduleDecision.isDone(decision)) return undefined
  const delay = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
  if (!Number.isFinite(delay)) throw new Error(`it asked for an invalid delay (${delay} ms)`)
  return [state, delay]
}

/**
 * The retry loop of one task. It runs uninterruptibly except where it waits
 * (permit, attempt, delay), so a stop always lets it publish the attempt's
 * terminal event and record the outcome. Attempts never overlap.
 */
export const run = (env: ActorEnv, entry: Entry, tracing: boolean): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { bus, permits } = env
      const spec = entry.spec
      const { id } = entry
      const { name } = spec
      const clock = yield* Effect.clock
      const context = yield* Effect.context<never>()
      let scheduleState = spec.initial
      let retries = 0
      // nothing is published once the task was force-aborted and its terminal events are out
      const live = () => bus.active && entry.finished === undefined

      const pause = function*(delay: Effect.Effect<void>) {
        entry.phase = "BackingOff"
        const slept = yield* Effect.exit(restore(delay))
        return Exit.isSuccess(slept)
      }

      while (true) {
        if (permits !== undefined) {
          entry.phase = "Waiting"
          const permit = yield* Effect.exit(restore(permits.take(entry)))
          if (Exit.isFailure(permit)) {
            // interrupted after the permit was handed over, before it resumed
            permits.release(entry)
            return TaskOutcome.Canceled
          }
        }
        // the first attempt's context is the one the actor was forked with; later ones are set in place
        // rather than provided around the attempt, so no frame stays on a parked fiber's stack
        if (entry.attempt > 0) {
          entry.scope = new AttemptScope()
          yield* FiberRef.set(FiberRef.currentContext, attemptContext(context, entry))
        }
        const attempt = ++entry.attempt
        entry.phase = "Running"
        if (live()) {
          bus.publish(SupervisorEvent.AttemptStarting({ seq: bus.next(), at: bus.now(), id, task: name, attempt }))
        }
        const started = clock.unsafeCurrentTimeMillis()
        let exit = yield* Effect.exit(restore(tracing ? traced(entry) : spec.attempt))
        // the attempt's scope closes before anything else; a release that fails fails the attempt
        const closing = entry.scope.end(exit)
        if (closing !== undefined) {
          const closed = yield* Effect.exit(closing)
          if (Exit.isFailure(closed)) {
            exit = Exit.failCause(Exit.isFailure(exit) ? Cause.sequential(exit.cause, closed.cause) : closed.cause)
          }
        }
        permits?.release(entry)
        const elapsed = clock.unsafeCurrentTimeMillis() - started
        const duration = Duration.millis(elapsed)
        const succeeded = Exit.isSuccess(exit) && exit.value !== TimedOut
        const interrupted = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)

        // interrupted by itself, or stopped: once a stop is claimed it decides the outcome, and a failure while
        // stopping is kept on it
        if (interrupted || (entry.state === "Removing" && !succeeded)) {
          const kept = Exit.isFailure(exit) && !interrupted ? exit.cause : undefined
          if (live()) {
            bus.publish(SupervisorEvent.AttemptCanceled({
              seq: bus.next(),
              at: bus.now(),
              id,
              task: name,
              attempt,
              duration,
              cause: kept
            }))
          }
          return kept === undefined ? TaskOutcome.Canceled : TaskOutcome.canceledWith(kept)
        }

        let failure: unknown
        let cause: Cause.Cause<unknown>
        let reason: string
        let exitCode: number | undefined
        if (succeeded) {
          if (live()) {
            bus.publish(
              SupervisorEvent.AttemptSucceeded({ seq: bus.next(), at: bus.now(), id, task: name, attempt, duration })
            )
          }
          retries = 0
          scheduleState = spec.initial
          if (spec.restart._tag !== "Always" || entry.state === "Removing") {
            return entry.state === "Removing" ? TaskOutcome.Canceled : TaskOutcome.Completed
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
          } else if (!(yield* pause(elapsed < 1 ? Effect.sleep(Duration.subtract(oneMilli, duration)) : zeroDelay))) {
            return TaskOutcome.Canceled
          }
          continue
        } else if (Exit.isSuccess(exit)) {
          failure = new TaskTimeout({ timeout: spec.timeout! })
          cause = Cause.fail(failure)
          reason = describe(failure)
          exitCode = undefined
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
          // not interrupted only: a typed failure, else a defect
          const typed = Cause.failureOption(cause)
          failure = Option.isSome(typed)
            ? typed.value
            : new TaskPanicked({ defect: Option.getOrUndefined(Cause.dieOption(cause)) })
          reason = describe(failure)
          const code = guard("reading exitCode", () => exitCodeOf(failure))
          exitCode = code instanceof Broken ? undefined : code
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
