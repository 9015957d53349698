/** The retry loop of one task: attempts, their scopes, classification of failures, backoff. */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import type * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Tracer from "effect/Tracer"
import type * as SupervisorEvent from "../SupervisorEvent.js"
import { attemptContext } from "./attemptContext.js"
import { AttemptScope } from "./attemptScope.js"
import type { Bus, Fields } from "./bus.js"
import { zeroDelay } from "./eventLoop.js"
import type { Permits } from "./permits.js"
import { type Resolved, TimedOut } from "./resolve.js"
import type { Task } from "./task.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskTimeout } from "./taskError.js"
import * as TaskOutcome from "./taskOutcome.js"

/** The parts of the supervisor an actor uses. */
export interface ActorEnv {
  readonly bus: Bus
  readonly permits: Permits | undefined
  /** The terminal commit of the outcome the actor decided on. */
  readonly commit: (task: Task, outcome: TaskOutcome.TaskOutcome<unknown>) => void
}

/** Who added a task: its attempts run with this context and these fiber refs, on this clock. */
export interface Caller {
  readonly context: Context.Context<never>
  readonly fiberRefs: FiberRefs.FiberRefs
  readonly clock: Clock.Clock
  /** Whether each attempt gets a span. */
  readonly tracing: boolean
}

const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * The calling fiber, as a task's caller: its requirements are the caller's.
 * An attempt gets a span when tracing is enabled and a tracer other than
 * Effect's built-in one (which exports nothing) is installed.
 */
export const callerOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Caller => ({
  context: fiber.currentContext,
  fiberRefs: fiber.getFiberRefs(),
  clock: Context.get(fiber.currentDefaultServices, Clock.Clock),
  tracing: fiber.getFiberRef(FiberRef.currentTracerEnabled) && fiber.currentTracer !== builtInTracer
})

// ---------------------------------------------------------------------------
// failures

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

// ---------------------------------------------------------------------------
// waits

const oneMilli = Duration.millis(1)
const interruptedExit = Exit.interrupt(FiberId.none)
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * A zero delay arms no timer (even of 0 ms, it costs about a millisecond on
 * Node); on a clock other than the live one (`TestClock`) it is a plain yield,
 * as no real time is involved.
 */
const liveZero = Effect.interruptible(zeroDelay)
const testZero = Effect.interruptible(Effect.yieldNow())

/** The actor's fiber runs uninterruptibly, except where it waits: a stop always lets it decide and commit. */
const actorFlags = RuntimeFlags.disable(Runtime.defaultRuntime.runtimeFlags, RuntimeFlags.Interruption)

/** What the actor waits for, and so what its continuation resumes. */
type Wait = "Permit" | "Attempt" | "Release" | "Schedule" | "Delay"

/**
 * The retry loop of one task, as a state machine on one fiber. Each step
 * returns the effect the fiber runs next; the loop suspends only in a wait
 * (a permit, an attempt, its scope's release, the retry schedule, a delay),
 * each resumed by the one continuation of the actor, so a parked task holds
 * two frames (that continuation and the attempt's interruptible region) and
 * no generator. It ends with the terminal commit of the outcome it decided.
 * Attempts never overlap.
 */
class Actor {
  private waiting: Wait = "Permit"
  private scheduleState: unknown
  private retries = 0
  private started = 0
  /** From the end of an attempt to its decision: what failed, and whether it timed out. */
  private cause: Cause.Cause<unknown> | undefined = undefined
  private timedOut = false
  /** While the retry schedule decides: the failure being handled, as reported. */
  private reason = ""
  private exitCode: number | undefined = undefined
  private stepAt = 0
  /** The continuation of every wait (the actor is the handler object `Effect.matchCauseEffect` is given). */
  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => this.resume(cause, undefined)
  readonly onSuccess = (value: unknown): Effect.Effect<void> => this.resume(undefined, value)

  /** The scope of the current (or next) attempt, in the context the attempt runs in. */
  scope = new AttemptScope()
  /** One attempt: the task's effect, bounded by its timeout, interruptible (the loop around it is not). */
  private readonly attemptEffect: Effect.Effect<unknown, unknown>

  constructor(
    private readonly env: ActorEnv,
    private readonly task: Task,
    caller: Caller,
    /** The services of the caller, under each attempt's own. */
    private readonly services: Context.Context<never> = caller.context,
    private readonly clock: Clock.Clock = caller.clock,
    private readonly tracing: boolean = caller.tracing
  ) {
    this.scheduleState = task.spec.initial
    this.attemptEffect = Effect.interruptible(task.spec.body)
  }

  private wait(kind: Wait, effect: Effect.Effect<unknown, unknown>): Effect.Effect<void> {
    this.waiting = kind
    return Effect.matchCauseEffect(effect, this)
  }

  private resume(cause: Cause.Cause<unknown> | undefined, value: unknown): Effect.Effect<void> {
    switch (this.waiting) {
      case "Permit":
        if (cause === undefined) return this.attempt()
        // interrupted, possibly after the permit was handed over
        this.env.permits!.release(this.task)
        return this.commit(TaskOutcome.Canceled)
      case "Attempt":
        return this.ended(cause, cause === undefined && value === TimedOut)
      case "Release":
        return this.released(cause)
      case "Schedule":
        return this.scheduled(cause, value as readonly [unknown, unknown, ScheduleDecision.ScheduleDecision])
      case "Delay":
        return cause === undefined ? this.next() : this.commit(TaskOutcome.Canceled)
    }
  }

  private commit(outcome: TaskOutcome.TaskOutcome<unknown>): Effect.Effect<void> {
    this.env.commit(this.task, outcome)
    return Effect.void
  }

  /** Nothing is published once the task was force-aborted and its terminal events are out. */
  private publish<K extends SupervisorEvent.Kind>(tag: K, fields: Fields<K>): void {
    if (!this.task.finished) this.env.bus.emit(tag, fields)
  }

  /** The first step, or the step after a delay: a permit, then an attempt. */
  next(): Effect.Effect<void> {
    const { permits } = this.env
    if (permits === undefined) return this.attempt()
    this.task.enter("Waiting")
    return this.wait("Permit", Effect.interruptible(permits.take(this.task)))
  }

  private attempt(): Effect.Effect<void> {
    const { spec, task } = this
    // stopped before it began (the fiber starts uninterruptible, so it always gets here to commit)
    if (task.stopped) return this.commit(TaskOutcome.Canceled)
    const attempt = ++task.attempt
    task.enter("Running")
    this.publish("AttemptStarting", { id: task.id, task: spec.name, attempt })
    this.started = this.clock.unsafeCurrentTimeMillis()
    return this.wait(
      "Attempt",
      this.tracing
        ? Effect.interruptible(Effect.withSpan(spec.body, "taskvisor.attempt", {
          attributes: { task: spec.name, attempt },
          captureStackTrace: false
        }))
        : this.attemptEffect
    )
  }

  private get spec(): Resolved {
    return this.task.spec
  }

  /**
   * An attempt ended (`cause`: it failed; `timedOut`: its timeout struck).
   * Its scope closes now (a timed-out attempt's as interrupted, as
   * `Effect.scoped` inside `Effect.timeout` would), uninterruptibly.
   */
  private ended(cause: Cause.Cause<unknown> | undefined, timedOut: boolean): Effect.Effect<void> {
    const closing = this.scope.end(
      timedOut ? interruptedExit : cause === undefined ? Exit.void : Exit.failCause(cause)
    )
    this.cause = timedOut ? Cause.fail(new TaskTimeout({ timeout: this.spec.timeout! })) : cause
    this.timedOut = timedOut
    return closing === undefined ? this.released(undefined) : this.wait("Release", closing)
  }

  /** The attempt's scope is closed (`released`: what failed while releasing): decide what comes next. */
  private released(released: Cause.Cause<unknown> | undefined): Effect.Effect<void> {
    const { spec, task } = this
    const { id } = task
    const { name } = spec
    const attempt = task.attempt
    this.env.permits?.release(task)
    const elapsed = this.clock.unsafeCurrentTimeMillis() - this.started
    const duration = Duration.millis(elapsed)
    const timedOut = this.timedOut
    let cause = this.cause
    this.cause = undefined
    if (released !== undefined) cause = cause === undefined ? released : Cause.sequential(cause, released)
    const interrupted = cause !== undefined && !timedOut && Cause.isInterruptedOnly(cause)

    // interrupted by itself, or stopped: once a stop is claimed it decides the outcome, and a failure while
    // stopping is kept on it
    if (interrupted || (task.stopped && cause !== undefined)) {
      const kept = interrupted ? undefined : cause
      this.publish("AttemptCanceled", { id, task: name, attempt, duration, cause: kept })
      return this.commit(kept === undefined ? TaskOutcome.Canceled : TaskOutcome.canceledWith(kept))
    }

    if (cause === undefined) {
      this.publish("AttemptSucceeded", { id, task: name, attempt, duration })
      this.retries = 0
      this.scheduleState = spec.initial
      if (task.stopped) return this.commit(TaskOutcome.Canceled)
      if (spec.restart._tag !== "Always") return this.commit(TaskOutcome.Completed)
      const interval = spec.restart.interval
      if (interval === undefined) {
        // at most one attempt per millisecond
        return this.wait(
          "Delay",
          this.between(
            elapsed < 1 ? Effect.interruptible(Effect.sleep(Duration.subtract(oneMilli, duration))) : this.zero
          )
        )
      }
      const delay = Duration.max(interval, Duration.millis(Math.max(0, 1 - elapsed)))
      this.publish("BackoffScheduled", { id, task: name, attempt, delay, source: "Success", reason: undefined })
      return this.wait("Delay", this.between(this.sleep(delay)))
    }

    let failure: unknown
    let reason: string
    let exitCode: number | undefined
    if (timedOut) {
      failure = new TaskTimeout({ timeout: spec.timeout! })
      reason = describe(failure)
      exitCode = undefined
      this.publish("AttemptTimedOut", { id, task: name, attempt, duration, timeout: spec.timeout! })
    } else {
      // not interrupted only: a typed failure, else a defect
      const typed = Cause.failureOption(cause)
      failure = Option.isSome(typed)
        ? typed.value
        : new TaskPanicked({ defect: Option.getOrUndefined(Cause.dieOption(cause)) })
      reason = describe(failure)
      const code = guard("reading exitCode", () => exitCodeOf(failure))
      exitCode = code instanceof Broken ? undefined : code
      this.publish("AttemptFailed", { id, task: name, attempt, duration, reason, exitCode })
      if (code instanceof Broken) return this.commit(brokenOutcome(code, reason, exitCode, cause))
      if (Option.isSome(typed)) {
        const fatal = classify(spec, failure)
        if (fatal === true) return this.commit(TaskOutcome.Fatal({ reason, exitCode, cause }))
        if (fatal instanceof Broken) return this.commit(brokenOutcome(fatal, reason, exitCode, cause))
      }
    }

    if (spec.restart._tag === "Never") return this.commit(TaskOutcome.Failed({ reason, exitCode, cause }))
    if (spec.maxRetries !== undefined && this.retries >= spec.maxRetries) {
      return this.commit(TaskOutcome.Failed({
        reason: `retry limit reached after ${this.retries} of ${spec.maxRetries} retries: ${reason}`,
        exitCode,
        cause
      }))
    }
    const now = this.clock.unsafeCurrentTimeMillis()
    this.cause = cause
    this.reason = reason
    this.exitCode = exitCode
    this.stepAt = now
    const state = this.scheduleState
    // the schedule's requirements come with the caller's context the actor runs in
    return this.wait(
      "Schedule",
      this.between(Effect.interruptible(Effect.suspend(() =>
        spec.schedule.step(now, failure, state) as Effect.Effect<
          readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
        >
      )))
    )
  }

  /** The retry schedule answered (`failed`: it failed, or was interrupted). */
  private scheduled(
    failed: Cause.Cause<unknown> | undefined,
    step: readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
  ): Effect.Effect<void> {
    const { exitCode, reason, task } = this
    // set with the failure the schedule was asked about
    const cause = this.cause!
    this.cause = undefined
    if (failed !== undefined) {
      if (Cause.isInterruptedOnly(failed)) return this.commit(TaskOutcome.Canceled)
      return this.commit(brokenOutcome(new Broken("retry schedule", failed), reason, exitCode, cause))
    }
    const decided = guard("retry schedule", () => decide(this.stepAt, step))
    if (decided instanceof Broken) return this.commit(brokenOutcome(decided, reason, exitCode, cause))
    if (decided === undefined) {
      return this.commit(TaskOutcome.Failed({
        reason: `retry schedule ended after ${this.retries} retries: ${reason}`,
        exitCode,
        cause
      }))
    }
    this.scheduleState = decided[0]
    this.retries++
    const delay = Duration.millis(decided[1])
    this.publish("BackoffScheduled", {
      id: task.id,
      task: this.spec.name,
      attempt: task.attempt,
      delay,
      source: "Failure",
      reason
    })
    return this.wait("Delay", this.sleep(delay))
  }

  private get zero(): Effect.Effect<void> {
    return this.clock === liveClock ? liveZero : testZero
  }

  private sleep(delay: Duration.Duration): Effect.Effect<void> {
    return Duration.isZero(delay)
      ? this.zero
      : Effect.interruptible(Duration.isFinite(delay) ? Effect.sleep(delay) : Effect.never)
  }

  /**
   * Between attempts, before `then`: the next attempt's scope and
   * `CurrentTask` are set in place (not provided around the attempt, so no
   * frame stays on a parked fiber's stack), for the schedule and the delay too.
   */
  private between<A, E>(then: Effect.Effect<A, E>): Effect.Effect<A, E> {
    const { task } = this
    task.enter("BackingOff")
    this.scope = new AttemptScope()
    return Effect.zipRight(FiberRef.set(FiberRef.currentContext, attemptContext(this.services, task, this.scope)), then)
  }
}

/**
 * How an actor's fiber starts: `Now` runs its first step at once, in the
 * caller's turn, until it first suspends (as `FiberMap.run` starts its
 * fibers); `Later` schedules it, for a start from inside another task's
 * terminal commit (a controller's next owner), which must not nest.
 */
export type Start = "Now" | "Later"

/**
 * Start the actor of a registered task on its own fiber, with its caller's
 * fiber refs and the context of its first attempt.
 */
export const start = (env: ActorEnv, task: Task, caller: Caller, when: Start): void => {
  const actor = new Actor(env, task, caller)
  const runtime = Runtime.make({
    context: attemptContext(caller.context, task, actor.scope),
    fiberRefs: caller.fiberRefs,
    runtimeFlags: actorFlags
  })
  // started now, the first step is taken here, the fiber running on from its first wait
  const fiber = Runtime.runFork(runtime, when === "Now" ? actor.next() : Effect.suspend(() => actor.next()), {
    immediate: when === "Now"
  })
  // a task that ran to its end here has let its fiber go already
  if (task.finished) return
  task.fiber = fiber
  // a stop claimed while it ran here, before its fiber was known (the task stopping itself), reaches it now
  if (task.stopped) fiber.unsafeInterruptAsFork(FiberId.none)
}
