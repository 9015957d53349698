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
import type * as Tracer from "effect/Tracer"
import type * as SupervisorEvent from "../data/supervisorEvent.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskStalled, TaskTimeout } from "../data/taskError.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import { AttemptScope } from "../effectInternals/attemptScope.js"
import type { Bus, Fields } from "../events/bus.js"
import type { AttemptResult } from "../events/metrics.js"
import { zeroDelay } from "../primitives/eventLoop.js"
import type { Permits } from "../primitives/permits.js"
import { RestartWindow } from "../primitives/restartWindow.js"
import { type Resolved, TimedOut } from "../spec/resolve.js"
import { type AttemptControl, type Host, noControl } from "../task/attemptControl.js"
import type { Caller } from "../task/caller.js"
import type { ActorDetails, Failure, LastAttempt, OperatorControl, Task } from "../task/task.js"
import { attemptContext } from "./attemptContext.js"

/** The parts of the supervisor an actor uses. */
export interface ActorEnv {
  readonly bus: Bus
  /** What a group's attempt supervises its children through. */
  readonly host: Host
  readonly permits: Permits | undefined
  /** The terminal commit of the outcome the actor decided on. */
  readonly commit: (task: Task, outcome: TaskOutcome.TaskOutcome<unknown>) => void
}

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
type Wait = "Gate" | "Permit" | "Attempt" | "Release" | "Schedule" | "Delay"

/** What an attempt watched by a watchdog returns when it reports no progress for the watchdog's period. */
class Stalled {
  constructor(readonly sinceProgress: number) {}
}

/** What an attempt returns when its group restarts it (private: no task can return it). */
const Recycled: unique symbol = Symbol("effect-taskvisor/Recycled")

/** How an attempt ended other than by its own success or failure. */
type Ending = typeof TimedOut | typeof Recycled | Stalled | undefined

/**
 * The retry loop of one task, as a state machine on one fiber. Each step
 * returns the effect the fiber runs next; the loop suspends only in a wait
 * (its group's gate, a permit, an attempt, its scope's release, the retry
 * schedule, a delay), each resumed by the one continuation of the actor, so a
 * suspended task holds two frames (that continuation and the attempt's
 * interruptible region) and no generator. It ends with the terminal commit of
 * the outcome it decided. Attempts never overlap.
 */
class Actor {
  private waiting: Wait = "Permit"
  private scheduleState: unknown
  private retries = 0
  private started = 0
  /** From the end of an attempt to its decision: what failed, and how it ended if not by itself. */
  private cause: Cause.Cause<unknown> | undefined = undefined
  private ending: Ending = undefined
  /** While the retry schedule decides: the failure being handled, as reported. */
  private reason = ""
  private exitCode: number | undefined = undefined
  private stepAt = 0
  /** The recent restarts, against the task's restart intensity. */
  private readonly window: RestartWindow | undefined
  /** Exceeded its restart intensity: it tries again every park interval until an attempt succeeds. */
  private parked = false
  /** When the running attempt last reported progress, for its watchdog. */
  private lastProgress = 0
  /** What `TaskSpec.progress` does in this task's attempts, and, for a group, its host. */
  private readonly attemptControl: AttemptControl
  /**
   * An operator's control the actor's fiber was interrupted for: that fiber
   * ends, and the task waits paused (`Pause`) or a fresh fiber starts its next
   * attempt at once (`Restart`). Never cleared while the interruption is on its
   * way, so it is never taken for a stop.
   */
  private requested: "Restart" | "Pause" | undefined = undefined
  /** While paused: the fiber refs its next fiber starts with. */
  private pausedRefs: FiberRefs.FiberRefs | undefined = undefined
  /** With a tracer installed: the running attempt's span, and the previous attempt's, its next one links to. */
  private spans: { current: Tracer.Span | undefined; previous: Tracer.Span | undefined } | undefined = undefined
  /** How the last attempt ended, and the last failures, oldest first (the crash history); from the first end. */
  private history: { last: LastAttempt; failures: Array<Failure> | undefined } | undefined = undefined
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
    const { spec } = task
    this.scheduleState = spec.initial
    this.attemptEffect = Effect.interruptible(spec.body)
    this.window = spec.intensity === undefined ? undefined : new RestartWindow(spec.intensity)
    this.attemptControl = spec.watchdog === undefined && !spec.hostsChildren ? noControl : {
      progress: spec.watchdog === undefined ? Effect.void : Effect.sync(() => {
        this.lastProgress = this.clock.unsafeCurrentTimeMillis()
      }),
      host: spec.hostsChildren ? { host: env.host, task } : undefined
    }
  }

  /** The context of the next attempt. */
  context(): Context.Context<never> {
    return attemptContext(this.services, this.task, this.scope, this.attemptControl)
  }

  private wait(kind: Wait, effect: Effect.Effect<unknown, unknown>): Effect.Effect<void> {
    this.waiting = kind
    return Effect.matchCauseEffect(effect, this)
  }

  private resume(cause: Cause.Cause<unknown> | undefined, value: unknown): Effect.Effect<void> {
    // interrupted for an operator's control between attempts: the wait is given up (an attempt ends first)
    // (the attempt's release decides through `released`: the attempt ends, its permit is given back)
    if (
      cause !== undefined && this.controlled && this.waiting !== "Attempt" && this.waiting !== "Release" &&
      Cause.isInterruptedOnly(cause)
    ) {
      if (this.waiting === "Permit") this.env.permits!.release(this.task)
      this.cause = undefined
      return this.respawn()
    }
    switch (this.waiting) {
      case "Gate":
      case "Delay":
        // the gate is read again: its group may have closed it anew (a restart queued behind the one that opened it)
        return cause === undefined ? this.next() : this.commit(TaskOutcome.Canceled)
      case "Permit":
        if (cause === undefined) return this.attempt()
        // interrupted, possibly after the permit was handed over
        this.env.permits!.release(this.task)
        return this.commit(TaskOutcome.Canceled)
      case "Attempt":
        return this.ended(cause, cause === undefined ? endingOf(value) : undefined)
      case "Release":
        return this.released(cause)
      case "Schedule":
        return this.scheduled(cause, value as readonly [unknown, unknown, ScheduleDecision.ScheduleDecision])
    }
  }

  private commit(outcome: TaskOutcome.TaskOutcome<unknown>): Effect.Effect<void> {
    this.env.commit(this.task, outcome)
    return Effect.void
  }

  /** Nothing is published once the task was force-aborted and its terminal events are out. */
  private publish<K extends SupervisorEvent.Kind>(tag: K, fields: Fields<K>): void {
    const { member } = this.task
    if (this.task.finished) return
    // the fields are a fresh object of the caller's, which `emit` stamps in place too
    if (member !== undefined) (fields as { group?: string }).group = member.group
    this.env.bus.emit(tag, fields)
  }

  /** The first step, or the step after a delay: the group's gate, a permit, then an attempt. */
  next(): Effect.Effect<void> {
    const { task } = this
    const gate = task.member?.gate(task)
    if (gate === undefined) return this.afterGate()
    task.enter("Waiting")
    return this.wait("Gate", Effect.interruptible(gate))
  }

  private afterGate(): Effect.Effect<void> {
    const { permits } = this.env
    // a group holds no permit: its children take theirs
    if (permits === undefined || this.spec.hostsChildren) return this.attempt()
    this.task.enter("Waiting")
    return this.wait("Permit", Effect.interruptible(permits.take(this.task)))
  }

  private attempt(): Effect.Effect<void> {
    const { spec, task } = this
    // stopped before it began (the fiber starts uninterruptible, so it always gets here to commit)
    if (task.stopped) return this.commit(TaskOutcome.Canceled)
    // a control came before it began: no attempt to end for it (its interruption is on its way to this fiber)
    if (this.requested !== undefined) {
      this.env.permits?.release(task)
      return this.respawn()
    }
    const attempt = ++task.attempt
    task.enter("Running")
    this.publish("AttemptStarting", { id: task.id, task: spec.name, attempt })
    if (attempt > 1 && spec.metrics !== undefined) {
      spec.metrics.restarted(task.counters ??= spec.metrics.counters(spec.name))
    }
    this.started = this.lastProgress = this.clock.unsafeCurrentTimeMillis()
    task.member?.started(task)
    return this.wait("Attempt", this.attemptOf(attempt))
  }

  /** The attempt's effect: raced against its watchdog and its group's restart, if it has them. */
  private attemptOf(attempt: number): Effect.Effect<unknown, unknown> {
    const { spec, task } = this
    const body = this.tracing ? Effect.interruptible(this.traced(spec.body, attempt)) : this.attemptEffect
    const recycled = task.member?.recycle(task)
    const stalled = spec.watchdog === undefined ? undefined : this.watchdog(Duration.toMillis(spec.watchdog))
    if (recycled === undefined && stalled === undefined) return body
    const signal = recycled === undefined
      ? stalled!
      : stalled === undefined
      ? Effect.as(recycled, Recycled)
      : Effect.raceFirst(stalled, Effect.as(recycled, Recycled))
    // raced uninterruptibly, the two sides each interruptible: a stop reaches them through the actor's fiber, and
    // the race returns only once both have ended (an interruptible race would return at once, its sides running on)
    return Effect.raceFirst(body, Effect.interruptible(signal))
  }

  /**
   * The attempt in a span of its own (`taskvisor.attempt`, under the caller's
   * span), linked to the task's previous attempt's; `attemptEnded` ends it,
   * with the attempt's result.
   */
  private traced(body: Effect.Effect<unknown, unknown>, attempt: number): Effect.Effect<unknown, unknown> {
    const { task } = this
    const spans = this.spans ??= { current: undefined, previous: undefined }
    const links: ReadonlyArray<Tracer.SpanLink> = spans.previous === undefined
      ? []
      : [{ _tag: "SpanLink", span: spans.previous, attributes: { relation: "previous_attempt" } }]
    return Effect.flatMap(
      Effect.makeSpan("taskvisor.attempt", {
        attributes: { task: task.spec.name, id: task.id, attempt },
        links,
        captureStackTrace: false
      }),
      (span) => {
        spans.current = span
        return Effect.withParentSpan(body, span)
      }
    )
  }

  /** Completes once the attempt has reported no progress for `period`; one timer at a time. */
  private watchdog(period: number): Effect.Effect<Stalled> {
    return Effect.suspend(() => {
      const idle = this.clock.unsafeCurrentTimeMillis() - this.lastProgress
      return idle >= period
        ? Effect.succeed(new Stalled(idle))
        : Effect.zipRight(Effect.sleep(Duration.millis(period - idle)), this.watchdog(period))
    })
  }

  private get spec(): Resolved {
    return this.task.spec
  }

  /**
   * An attempt ended (`cause`: it failed; `ending`: it was ended by its
   * timeout, its watchdog or its group). Its scope closes now (as interrupted
   * when the attempt was, as `Effect.scoped` inside `Effect.timeout` would),
   * uninterruptibly.
   */
  private ended(cause: Cause.Cause<unknown> | undefined, ending: Ending): Effect.Effect<void> {
    const closing = this.scope.end(
      ending !== undefined ? interruptedExit : cause === undefined ? Exit.void : Exit.failCause(cause)
    )
    const { spec } = this
    this.cause = ending === TimedOut
      ? Cause.fail(new TaskTimeout({ timeout: spec.timeout! }))
      : ending instanceof Stalled
      ? Cause.fail(new TaskStalled({ watchdog: spec.watchdog!, sinceProgress: Duration.millis(ending.sinceProgress) }))
      : cause
    this.ending = ending
    return closing === undefined ? this.released(undefined) : this.wait("Release", closing)
  }

  /** The attempt's scope is closed (`released`: what failed while releasing): decide what comes next. */
  private released(released: Cause.Cause<unknown> | undefined): Effect.Effect<void> {
    const { spec, task } = this
    const { id } = task
    const { name } = spec
    const attempt = task.attempt
    this.env.permits?.release(task)
    const endedAt = this.clock.unsafeCurrentTimeMillis()
    const elapsed = endedAt - this.started
    const duration = Duration.millis(elapsed)
    const ending = this.ending
    this.ending = undefined
    let cause = this.cause
    this.cause = undefined
    if (released !== undefined) cause = cause === undefined ? released : Cause.sequential(cause, released)
    const interrupted = cause !== undefined && ending === undefined && Cause.isInterruptedOnly(cause)
    // interrupted (for a stop, a control, or by itself), stopped while it failed, or restarted by its group
    const canceled = interrupted || (task.stopped && cause !== undefined) || ending === Recycled

    // first the attempt's end is reported, however it ended
    let failure: unknown
    let reason = ""
    let exitCode: number | undefined
    let unreadable: Broken | undefined
    let typed = Option.none<unknown>()
    if (canceled) {
      // a failure while stopping (or being restarted) is kept on it
      this.canceled(endedAt, duration, interrupted ? undefined : cause)
    } else if (cause === undefined) {
      this.publish("AttemptSucceeded", { id, task: name, attempt, duration })
      this.attemptEnded("succeeded", endedAt, undefined, undefined)
      this.recovered()
    } else {
      // a long enough run is a recovery, failed or not: the backoff, the retry budget and a parking start over
      if (spec.resetAfter !== undefined && elapsed >= spec.resetAfter) this.recovered()
      if (ending === TimedOut || ending instanceof Stalled) {
        // the failure `ended` recorded for it
        failure = Cause.squash(cause)
        reason = describe(failure)
        if (ending === TimedOut) {
          this.publish("AttemptTimedOut", { id, task: name, attempt, duration, timeout: spec.timeout! })
          this.attemptEnded("timed_out", endedAt, reason, undefined)
        } else {
          this.publish("AttemptStalled", {
            id,
            task: name,
            attempt,
            duration,
            sinceProgress: Duration.millis(ending.sinceProgress),
            watchdog: spec.watchdog!
          })
          this.attemptEnded("stalled", endedAt, reason, undefined)
        }
      } else {
        // not interrupted only: a typed failure, else a defect
        typed = Cause.failureOption(cause)
        failure = Option.isSome(typed)
          ? typed.value
          : new TaskPanicked({ defect: Option.getOrUndefined(Cause.dieOption(cause)) })
        reason = describe(failure)
        const code = guard("reading exitCode", () => exitCodeOf(failure))
        if (code instanceof Broken) unreadable = code
        else exitCode = code
        this.publish("AttemptFailed", { id, task: name, attempt, duration, reason, exitCode })
        this.attemptEnded("failed", endedAt, reason, exitCode)
      }
    }

    // an operator's control that came while the attempt ran or released its scope decides what comes next, whatever
    // its end would have: nothing is counted against the budget, the group restarts nothing
    if (this.controlled) {
      task.member?.recycled(task)
      return this.respawn()
    }

    if (canceled) {
      // once a stop is claimed it decides the outcome; a failure while stopping is kept on it
      if (interrupted || task.stopped) {
        const kept = interrupted ? undefined : cause
        return this.commit(kept === undefined ? TaskOutcome.Canceled : TaskOutcome.canceledWith(kept))
      }
      // restarted by its group: it waits at its gate for its turn to start again
      task.member!.recycled(task)
      return this.wait("Delay", this.between(Effect.void))
    }

    if (cause === undefined) {
      if (task.stopped) return this.commit(TaskOutcome.Canceled)
      if (spec.restart._tag !== "Always") return this.commit(TaskOutcome.Completed)
      const gaveUp = this.restarting("restarted after a success", undefined, undefined)
      if (gaveUp !== undefined) return gaveUp
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

    if (unreadable !== undefined) return this.commit(brokenOutcome(unreadable, reason, exitCode, cause))
    if (Option.isSome(typed)) {
      const fatal = classify(spec, failure)
      if (fatal === true) return this.commit(TaskOutcome.Fatal({ reason, exitCode, cause }))
      if (fatal instanceof Broken) return this.commit(brokenOutcome(fatal, reason, exitCode, cause))
    }
    if (spec.restart._tag === "Never") return this.commit(TaskOutcome.Failed({ reason, exitCode, cause }))
    // parked, it tries again every park interval, whatever its backoff and retry budget say
    if (this.parked) {
      task.member?.restarting(task, reason)
      return this.park(reason)
    }
    if (spec.maxRetries !== undefined && this.retries >= spec.maxRetries) {
      return this.commit(TaskOutcome.Failed({
        reason: `retry limit reached after ${this.retries} of ${spec.maxRetries} retries: ${reason}`,
        exitCode,
        cause
      }))
    }
    const now = endedAt
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

  /**
   * An operator's control came, and the task is not stopping: it decides
   * what comes next, over what an attempt's end or a wait would have.
   */
  private get controlled(): boolean {
    return this.requested !== undefined && !this.task.stopped
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
    const gaveUp = this.restarting(reason, exitCode, cause)
    if (gaveUp !== undefined) return gaveUp
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

  /**
   * The task is about to restart: counted against its restart intensity. Past
   * it, it gives up (the effect that commits `Failed`) or is parked (the
   * effect that waits for its next try); within it, its group is told.
   */
  private restarting(
    reason: string,
    exitCode: number | undefined,
    cause: Cause.Cause<unknown> | undefined
  ): Effect.Effect<void> | undefined {
    const { task, window } = this
    const restarts = window?.exceeded(this.clock.unsafeCurrentTimeMillis())
    if (restarts === undefined) {
      task.member?.restarting(task, reason)
      return undefined
    }
    const why = window!.describe(restarts)
    const { park, within } = window!.intensity
    this.publish("IntensityExceeded", {
      id: task.id,
      task: this.spec.name,
      restarts,
      within,
      action: park === undefined ? "Fail" : "Park",
      reason: `${why}: ${reason}`
    })
    if (park === undefined) {
      return this.commit(TaskOutcome.Failed({ reason: `${why}: ${reason}`, exitCode, cause: cause ?? Cause.empty }))
    }
    this.parked = true
    this.publish("TaskParked", { id: task.id, task: this.spec.name, park, reason: `${why}: ${reason}` })
    task.member?.restarting(task, reason)
    // after a success there is no failure to name
    return this.park(cause === undefined ? undefined : reason)
  }

  /** Parked: wait the park interval, then try again (`reason`: the failure it follows, if it follows one). */
  private park(reason: string | undefined): Effect.Effect<void> {
    const { task } = this
    const park = this.window!.intensity.park!
    this.publish("BackoffScheduled", {
      id: task.id,
      task: this.spec.name,
      attempt: task.attempt,
      delay: park,
      source: reason === undefined ? "Success" : "Failure",
      reason
    })
    const wait = this.between(this.sleep(park))
    task.enter("Parked")
    return this.wait("Delay", wait)
  }

  /** A success, or a run past its reset uptime: the backoff, the retry budget and the restart window start over. */
  private recovered(): void {
    this.retries = 0
    this.scheduleState = this.spec.initial
    if (this.parked) {
      this.parked = false
      this.window!.clear()
    }
  }

  /** The attempt ended canceled (`cause`: what failed while it stopped). */
  private canceled(endedAt: number, duration: Duration.Duration, cause: Cause.Cause<unknown> | undefined): void {
    const { task } = this
    this.publish("AttemptCanceled", { id: task.id, task: task.spec.name, attempt: task.attempt, duration, cause })
    this.attemptEnded("canceled", endedAt, undefined, undefined)
  }

  /** An attempt ended: its metrics, how it ended, and a failure in the crash history. */
  private attemptEnded(
    result: AttemptResult,
    at: number,
    reason: string | undefined,
    exitCode: number | undefined
  ): void {
    const { task } = this
    // an attempt that returns after its task was force-aborted counts nowhere: the task's end is reported already
    if (task.finished) return
    const { metrics } = task.spec
    if (metrics !== undefined) {
      metrics.ended(task.counters ??= metrics.counters(task.spec.name), result, at - this.started)
    }
    this.endSpan(result, reason)
    const last: LastAttempt = { result, reason, at }
    const history = this.history ??= { last, failures: undefined }
    history.last = last
    if (reason === undefined) return
    const failures = history.failures ??= []
    if (failures.length === historySize) failures.shift()
    failures.push({ at, attempt: task.attempt, reason, exitCode })
  }

  /** The running attempt's span ends with `result` (and `reason`, ending it as an error), if it has one. */
  private endSpan(result: AttemptResult | "force_aborted", reason: string | undefined): void {
    const span = this.spans?.current
    if (span === undefined) return
    span.attribute("result", result)
    if (reason !== undefined) span.attribute("reason", reason)
    span.end(this.clock.unsafeCurrentTimeNanos(), reason === undefined ? Exit.void : Exit.fail(reason))
    this.spans!.previous = span
    this.spans!.current = undefined
  }

  /** The task was force-aborted (see `Task.Actor`). */
  abandoned(): void {
    this.endSpan("force_aborted", "it did not stop within its grace")
  }

  /** An operator's control (see `Task.Actor`). */
  control(kind: OperatorControl): boolean {
    const { task } = this
    if (task.stopped) return false
    const phase = task.state._tag
    switch (kind) {
      case "Pause":
        return phase === "Paused" || phase === "Admitted" || this.requested === "Pause"
          ? false
          : this.interrupt("Pause")
      case "Resume":
        if (phase === "Paused") return this.resumed()
        // a pause still on its way: the task goes on at once instead
        if (this.requested !== "Pause") return false
        this.requested = "Restart"
        return true
      case "Restart":
        if (phase === "Paused") return this.resumed()
        return phase === "Running" || phase === "BackingOff" || phase === "Parked" ? this.interrupt("Restart") : false
      case "Trigger":
        // a pause on its way is not a wait to cut short
        return (phase === "BackingOff" || phase === "Parked") && this.requested !== "Pause"
          ? this.interrupt("Restart")
          : false
    }
  }

  /** Interrupt the actor's fiber for a control: it ends its attempt or its wait, then `respawn`s. */
  private interrupt(requested: "Restart" | "Pause"): boolean {
    this.requested = requested
    // a fiber not known yet (the task is in its first step) is interrupted as soon as it is
    this.task.fiber?.unsafeInterruptAsFork(FiberId.none)
    return true
  }

  /** A paused task goes on: a fresh fiber starts its next attempt. */
  private resumed(): boolean {
    const fiberRefs = this.pausedRefs!
    this.pausedRefs = undefined
    this.task.enter("Waiting")
    this.run("Later", fiberRefs)
    return true
  }

  /**
   * The fiber interrupted for a control ends here (an interrupted fiber would
   * be interrupted again in its next wait): the task waits paused, with no
   * fiber, or a fresh fiber goes on to its next attempt at once.
   */
  private respawn(): Effect.Effect<void> {
    return Effect.withFiberRuntime((fiber) => {
      const { task } = this
      const paused = this.requested === "Pause"
      // the next fiber goes on with this one's fiber refs (the caller's, as the attempts left them)
      const fiberRefs = fiber.getFiberRefs()
      this.requested = undefined
      this.scope = new AttemptScope()
      if (paused) {
        this.pausedRefs = fiberRefs
        task.enter("Paused")
        task.fiber = undefined
        task.member?.paused(task)
      } else {
        task.enter("Waiting")
        this.run("Later", fiberRefs)
      }
      return Effect.void
    })
  }

  details(): ActorDetails {
    return {
      attemptStartedAt: this.task.alive ? this.started : undefined,
      last: this.history?.last,
      failures: this.history?.failures === undefined ? [] : this.history.failures.slice()
    }
  }

  /**
   * Run the actor on a fiber of its own, with `fiberRefs` (its caller's, or
   * those its previous fiber had) and the context of its next attempt: its
   * first, or the next after a control.
   */
  run(when: Start, fiberRefs: FiberRefs.FiberRefs): void {
    const { task } = this
    const runtime = Runtime.make({ context: this.context(), fiberRefs, runtimeFlags: actorFlags })
    // a task that adds a task starts it inside its own first step: past a depth, the next ones are scheduled
    // instead, so a chain of tasks adding tasks cannot overflow the stack
    const now = when === "Now" && nested < maxNested
    nested++
    let fiber: Fiber.RuntimeFiber<void>
    try {
      // started now, the first step is taken here, the fiber running on from its first wait
      fiber = Runtime.runFork(runtime, now ? this.next() : Effect.suspend(() => this.next()), { immediate: now })
    } finally {
      nested--
    }
    // a stop or a control claimed while it ran here, before its fiber was known (the task stopping itself), reaches
    // it now, unless the fiber has ended already (as a task that ran to its end here has)
    if ((task.stopped || this.requested !== undefined) && fiber.unsafePoll() === null) {
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
    // a task that ran to its end here has let its fiber go already
    if (!task.finished) task.fiber = fiber
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
    this.task.enter("BackingOff")
    this.scope = new AttemptScope()
    return Effect.zipRight(FiberRef.set(FiberRef.currentContext, this.context()), then)
  }
}

/** How an attempt that succeeded ended: by itself, or by its timeout, watchdog or group. */
const endingOf = (value: unknown): Ending =>
  value === TimedOut || value === Recycled || value instanceof Stalled ? value : undefined

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
  task.enter("Waiting")
  const actor = new Actor(env, task, caller)
  task.actor = actor
  actor.run(when, caller.fiberRefs)
}

/** How many failures a task's crash history keeps. */
const historySize = 10

/** How many actors are taking their first step now, one inside another's. */
let nested = 0
const maxNested = 64
