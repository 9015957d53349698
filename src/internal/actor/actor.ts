/** The step machine of one task: its waits (gate, permit, attempt, release, schedule, delay) and what each decides. */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import type * as FiberRefs from "effect/FiberRefs"
import { type Resolved, TimedOut } from "../config/resolve.js"
import * as Retry from "../config/retry.js"
import type * as SupervisorEvent from "../data/supervisorEvent.js"
import { TaskTimeout } from "../data/taskError.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import { AttemptScope } from "../effectInternals/attemptScope.js"
import type { Bus, Fields } from "../events/bus.js"
import type { AttemptResult } from "../events/metrics.js"
import type { Permits } from "../primitives/permits.js"
import { RestartWindow } from "../primitives/restartWindow.js"
import { leave } from "../primitives/wakeups.js"
import type { AttemptControl, Host } from "../task/attemptControl.js"
import type { Caller } from "../task/caller.js"
import type { Faults } from "../task/faults.js"
import type { ActorDetails, OperatorControl, Phase, Task } from "../task/task.js"
import { attemptContext } from "./attemptContext.js"
import { actionOf, type Mode, type Normal, normal, type Parked, parked, type Paused, type Request } from "./controls.js"
import { CronRuns } from "./cron.js"
import { sleep, until, untilAs, zeroOn } from "./delay.js"
import {
  type AttemptFailure,
  Broken,
  brokenOutcome,
  causeOf,
  type Ending,
  endingOf,
  failureOf,
  Recycled,
  Stalled,
  Superseded,
  terminalOutcome
} from "./failure.js"
import { fork, type Start } from "./fiber.js"
import { History, noHistory } from "./history.js"
import { AttemptSpans } from "./tracing.js"

export type { Start } from "./fiber.js"

/** The parts of the supervisor an actor uses. */
export interface ActorEnv {
  readonly bus: Bus
  /** What a group's attempt supervises its children through. */
  readonly host: Host
  readonly permits: Permits | undefined
  /** The terminal commit of the outcome the actor decided on. */
  readonly commit: (task: Task, outcome: TaskOutcome.TaskOutcome<unknown>) => void
  /** The control of an attempt that needs none of its own (no watchdog, no children, no readiness): the grace. */
  readonly control: AttemptControl
  /** The faults injected into attempts, when the supervisor was built with fault injection. */
  readonly faults: Faults | undefined
}

// ---------------------------------------------------------------------------
// steps

/** Waiting for its group's gate to open. */
interface Gate {
  readonly _tag: "Gate"
}

/** Waiting for a permit. */
interface Permit {
  readonly _tag: "Permit"
}

/** Waiting for its attempt to end. */
interface Attempt {
  readonly _tag: "Attempt"
}

/** Waiting for the ended attempt's scope to close: what failed in the attempt, and how it ended if not by itself. */
interface Release {
  readonly _tag: "Release"
  readonly cause: Cause.Cause<unknown> | undefined
  readonly ending: Ending
}

/** Waiting for the retry schedule to decide on `failure`, asked `at` (the clock's milliseconds). */
interface Schedule {
  readonly _tag: "Schedule"
  readonly failure: AttemptFailure
  readonly at: number
}

/** Waiting out a delay before its next step (a backoff, a park interval, its turn at its group's gate). */
interface Delay {
  readonly _tag: "Delay"
}

/** A cron task between runs: reading or writing its store, or waiting for its next time; `then` goes on. */
interface Scheduled {
  readonly _tag: "Scheduled"
  readonly then: (value: unknown) => Effect.Effect<void>
}

/** A cron task waiting for the time of its next run. */
interface Upcoming {
  readonly _tag: "Upcoming"
}

/** Not waiting: taking a step, paused, or done (no continuation is pending, and no step's data is kept). */
interface Idle {
  readonly _tag: "Idle"
}

/** What the actor waits for, with what its continuation needs. */
type Wait = Gate | Permit | Attempt | Release | Schedule | Delay | Scheduled | Upcoming

const Gate: Gate = { _tag: "Gate" }
const Permit: Permit = { _tag: "Permit" }
const Attempt: Attempt = { _tag: "Attempt" }
const Delay: Delay = { _tag: "Delay" }
const Upcoming: Upcoming = { _tag: "Upcoming" }
const Idle: Idle = { _tag: "Idle" }

const oneMilli = Duration.millis(1)
const interruptedExit = Exit.interrupt(FiberId.none)

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
  private step: Wait | Idle = Idle
  private mode: Mode = normal
  /**
   * An operator's control the actor's fiber was interrupted for. Never
   * cleared while the interruption is on its way, so it is never taken for a stop.
   */
  private requested: Request | undefined = undefined
  private scheduleState: unknown
  private retries = 0
  private started = 0
  /** The recent restarts, against the task's restart intensity. */
  private readonly window: RestartWindow | undefined
  /** When the running attempt last reported progress, for its watchdog. */
  private lastProgress = 0
  /** What `TaskSpec.progress` does in this task's attempts, and, for a group, its host. */
  private readonly attemptControl: AttemptControl
  /** Done when the task is force-aborted, for an attempt that awaits it (`AttemptControl.forceAborted`). */
  private readonly forceAborted: Deferred.Deferred<void> | undefined
  /** With a tracer installed, from its first attempt. */
  private spans: AttemptSpans | undefined = undefined
  /** From its first attempt's end. */
  private history: History | undefined = undefined
  /** For a cron task: its schedule. */
  private readonly cron: CronRuns | undefined
  /** The continuation of every wait (the actor is the handler object `Effect.matchCauseEffect` is given). */
  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => this.wake(cause, undefined)
  readonly onSuccess = (value: unknown): Effect.Effect<void> => this.wake(undefined, value)

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
    this.cron = spec.cron === undefined ? undefined : new CronRuns(spec.cron, spec.name, services)
    this.forceAborted = spec.awaitsForceAbort ? Deferred.unsafeMake<void>(FiberId.none) : undefined
    const ownControl = spec.watchdog !== undefined || spec.hostsChildren || spec.awaitsReady || spec.awaitsForceAbort
    this.attemptControl = !ownControl ? env.control : {
      progress: spec.watchdog === undefined ? Effect.void : Effect.sync(() => {
        this.lastProgress = this.clock.unsafeCurrentTimeMillis()
      }),
      ready: spec.awaitsReady ? Effect.sync(() => this.ready()) : Effect.void,
      grace: env.control.grace,
      forceAborted: this.forceAborted === undefined ? Effect.never : Deferred.await(this.forceAborted),
      host: spec.hostsChildren ? { host: env.host, task } : undefined
    }
  }

  /** The running attempt of a task that awaits it is ready: `Starting` ends (once per attempt). */
  private ready(): void {
    const { task } = this
    const { state } = task
    if ((state._tag === "Stopping" ? state.during : state._tag) !== "Starting") return
    task.enter("Running")
    const duration = Duration.millis(this.clock.unsafeCurrentTimeMillis() - this.started)
    this.publish("AttemptReady", { id: task.id, task: task.spec.name, attempt: task.attempt, duration })
  }

  /** The context of the next attempt. */
  context(): Context.Context<never> {
    return attemptContext(this.services, this.task, this.scope, this.attemptControl)
  }

  private wait(step: Wait, effect: Effect.Effect<unknown, unknown>): Effect.Effect<void> {
    this.step = step
    return Effect.matchCauseEffect(effect, this)
  }

  /** A wait ended (`cause`: it failed or was interrupted). */
  private wake(cause: Cause.Cause<unknown> | undefined, value: unknown): Effect.Effect<void> {
    // only a wait has a continuation; its data goes to it and is not kept (a paused or finished task keeps no failure)
    const step = this.step as Wait
    this.step = Idle
    // interrupted waiting for its next time: it leaves the waiters of that time (its wait has no canceler)
    if (step === Upcoming && cause !== undefined) leave(this.cron!.next!, this.cron!)
    // interrupted for an operator's control between attempts: the wait is given up (an attempt ends first)
    // (the attempt's release decides through `onRelease`: the attempt ends, its permit is given back)
    if (
      cause !== undefined && this.controlled && step._tag !== "Attempt" && step._tag !== "Release" &&
      Cause.isInterruptedOnly(cause)
    ) {
      if (step._tag === "Permit") this.env.permits!.release(this.task)
      return this.respawn()
    }
    switch (step._tag) {
      case "Gate":
      case "Delay":
        // the gate is read again: its group may have closed it anew (a restart queued behind the one that opened it)
        return cause === undefined ? this.next() : this.commit(TaskOutcome.Canceled)
      case "Permit": {
        if (cause === undefined) {
          // a restart of its group may have closed its gate while it waited: the permit goes back, it waits its turn
          const gate = this.gate()
          if (gate === undefined) return this.attempt()
          this.env.permits!.release(this.task)
          return gate
        }
        // interrupted, possibly after the permit was handed over
        this.env.permits!.release(this.task)
        return this.commit(TaskOutcome.Canceled)
      }
      case "Attempt":
        return this.onEnd(cause, cause === undefined ? endingOf(value) : undefined)
      case "Release":
        return this.onRelease(step.cause, step.ending, cause)
      case "Schedule":
        return this.onSchedule(step, cause, value as Retry.Decision)
      case "Scheduled":
        return cause === undefined ? step.then(value) : this.commit(TaskOutcome.Canceled)
      case "Upcoming":
        return cause === undefined ? this.runSlot(this.cron!, this.cron!.upcoming!) : this.commit(TaskOutcome.Canceled)
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

  /**
   * The first step, or the step after a delay: the group's gate, a permit,
   * then an attempt; a cron task with no run due waits for its schedule first.
   */
  next(): Effect.Effect<void> {
    const { cron } = this
    if (cron !== undefined && cron.slot === undefined) return this.scheduled(cron)
    return this.gate() ?? this.takePermit()
  }

  /** A cron task between runs: the next attempt's scope and context, its store read once, then `plan`. */
  private scheduled(cron: CronRuns): Effect.Effect<void> {
    const stored = cron.cursor === undefined ? cron.load() : Effect.void
    return this.wait(
      { _tag: "Scheduled", then: (value) => this.plan(cron, value as number | undefined) },
      this.between(stored, "Scheduled")
    )
  }

  /**
   * What a cron task runs next (`stored`: the last scheduled run its store
   * kept, read as it starts): a run asked for by `trigger`, a kept run, the
   * missed times within its catch-up window (once), or a wait for its next time.
   */
  private plan(cron: CronRuns, stored: number | undefined): Effect.Effect<void> {
    const now = this.clock.unsafeCurrentTimeMillis()
    if (cron.cursor === undefined) cron.cursor = stored ?? now
    if (cron.triggered) {
      // a manual run: the schedule does not move, nothing is stored
      cron.triggered = false
      cron.slot = now
      return this.next()
    }
    const kept = cron.takeKept()
    if (kept !== undefined) return this.runSlot(cron, kept)
    const missed = cron.missed(now)
    if (missed !== undefined) {
      // a time that comes as a run ends is due, not missed
      if (missed.count === 1 && missed.latest === now) return this.runSlot(cron, now)
      cron.cursor = missed.latest
      if (cron.catchesUp(missed.latest, now)) return this.runSlot(cron, missed.latest)
      const { task } = this
      this.publish("RunSkipped", {
        id: task.id,
        task: this.spec.name,
        scheduledAt: missed.latest,
        skipped: missed.count,
        why: "Missed"
      })
    }
    const at = cron.nextAfter(cron.cursor) ?? Infinity
    cron.upcoming = at
    // skipped times are dealt with: stored, a restart does not count them missed again
    if (missed !== undefined) {
      return this.wait({ _tag: "Scheduled", then: () => this.awaitNext(cron) }, cron.save(missed.latest))
    }
    return this.awaitNext(cron)
  }

  /** A cron task waits for its upcoming time, plus its jitter. */
  private awaitNext(cron: CronRuns): Effect.Effect<void> {
    const at = cron.upcoming!
    if (cron.plan.jitter === 0) {
      cron.next = at
      return this.untilNext(cron)
    }
    return this.wait({
      _tag: "Scheduled",
      then: (jitter) => {
        cron.next = at + (jitter as number)
        return this.untilNext(cron)
      }
    }, cron.jitter())
  }

  /**
   * A cron task waits for its next run (`cron.next`), the wait a constant
   * step (no continuation or closure of its own, for 10,000 scheduled tasks'
   * heap) on `untilAs`, which shares one timer among all waiting tasks on the
   * live clock, the task's `CronRuns` its sleeper: the wait has no canceler,
   * `wake` leaves the waiters if it is interrupted. It ends once the clock
   * reads `next` (at once if it does already), and the upcoming time runs.
   */
  private untilNext(cron: CronRuns): Effect.Effect<void> {
    return this.wait(Upcoming, untilAs(this.clock, cron.next!, cron))
  }

  /** A cron task's run for the scheduled time `at` is due: the time is stored, then the run starts. */
  private runSlot(cron: CronRuns, at: number): Effect.Effect<void> {
    cron.next = undefined
    cron.slot = at
    if (at > cron.cursor!) cron.cursor = at
    return this.wait({ _tag: "Scheduled", then: () => this.next() }, cron.save(at))
  }

  /** A cron task's run is over (it succeeded, or its failure is not retried within its slot): it waits for its next. */
  private runOver(cron: CronRuns): Effect.Effect<void> {
    cron.slot = undefined
    this.retries = 0
    this.scheduleState = this.spec.initial
    return this.next()
  }

  /**
   * While a cron task's attempt runs: its next scheduled time, and what its
   * `overlap` does then; completes only for `cancelRunning`, with the time
   * whose run replaces the running one. `overlapping`: the runs `allow` started.
   */
  private watch(
    cron: CronRuns,
    attempt: number,
    overlapping: Array<Fiber.RuntimeFiber<unknown, unknown>> | undefined
  ): Effect.Effect<Superseded> {
    return Effect.suspend(() => {
      const at = cron.nextAfter(cron.cursor!)
      if (at === undefined) return Effect.never
      cron.next = at
      return Effect.zipRight(
        until(this.clock, at),
        Effect.suspend(() => this.overlapped(cron, at, attempt, overlapping))
      )
    })
  }

  /** The scheduled time `at` came while the cron task's attempt runs. */
  private overlapped(
    cron: CronRuns,
    at: number,
    attempt: number,
    overlapping: Array<Fiber.RuntimeFiber<unknown, unknown>> | undefined
  ): Effect.Effect<Superseded> {
    cron.cursor = at
    const { task } = this
    const name = this.spec.name
    const { overlap } = cron.plan
    // `bufferOne` keeps the first, `bufferAll` up to a bound (a run that always outlasts its slot)
    const skips = overlap === "skip" ||
      (overlap === "bufferOne" && cron.keptCount >= 1) ||
      (overlap === "bufferAll" && cron.keptCount >= maxBuffered)
    if (skips) {
      this.publish("RunSkipped", { id: task.id, task: name, scheduledAt: at, skipped: 1, why: "Overlap" })
      // dealt with: stored, a restart does not count it missed
      return Effect.zipRight(cron.save(at), this.watch(cron, attempt, overlapping))
    }
    switch (overlap) {
      case "cancelRunning":
        this.publish("RunCanceled", { id: task.id, task: name, attempt, scheduledAt: at })
        cron.next = undefined
        return Effect.succeed(new Superseded(at))
      case "allow":
        return Effect.flatMap(
          Effect.zipRight(cron.save(at), Effect.forkDaemon(this.overlappingRun)),
          (fiber) => {
            overlapping!.push(fiber)
            return this.watch(cron, attempt, overlapping)
          }
        )
      default:
        cron.keep(at)
        this.publish("RunBuffered", { id: task.id, task: name, scheduledAt: at, buffered: cron.keptCount })
        return this.watch(cron, attempt, overlapping)
    }
  }

  /** A run `allow` starts beside the running one: the task's effect, its timeout a failure of the attempt. */
  private get overlappingRun(): Effect.Effect<void, unknown> {
    const { timeout } = this.spec
    return Effect.flatMap(
      this.attemptEffect,
      (value) => value === TimedOut ? Effect.fail(new TaskTimeout({ timeout: timeout! })) : Effect.void
    )
  }

  /** The wait at its group's gate, if the gate is closed. */
  private gate(): Effect.Effect<void> | undefined {
    const { task } = this
    const gate = task.member?.gate(task)
    if (gate === undefined) return undefined
    task.enter("Waiting")
    return this.wait(Gate, Effect.interruptible(gate))
  }

  private takePermit(): Effect.Effect<void> {
    const { permits } = this.env
    // a group holds no permit: its children take theirs
    if (permits === undefined || this.spec.hostsChildren) return this.attempt()
    this.task.enter("Waiting")
    return this.wait(Permit, Effect.interruptible(permits.take(this.task)))
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
    task.enter(spec.awaitsReady ? "Starting" : "Running")
    this.publish("AttemptStarting", { id: task.id, task: spec.name, attempt })
    if (attempt > 1 && spec.metrics !== undefined) {
      spec.metrics.restarted(task.counters ??= spec.metrics.counters(spec.name))
    }
    this.started = this.lastProgress = this.clock.unsafeCurrentTimeMillis()
    task.member?.onStarted(task)
    return this.wait(Attempt, this.attemptOf(attempt))
  }

  /** The attempt's effect: raced against its watchdog and its group's restart, if it has them. */
  private attemptOf(attempt: number): Effect.Effect<unknown, unknown> {
    const { spec, task } = this
    const faulted = this.env.faults?.attempt(spec, attempt)
    const body = this.tracing
      ? Effect.interruptible((this.spans ??= new AttemptSpans()).trace(faulted ?? spec.body, task, attempt))
      : faulted === undefined
      ? this.attemptEffect
      : Effect.interruptible(faulted)
    const recycled = task.member?.recycle(task)
    const stalled = spec.watchdog === undefined ? undefined : this.watchdog(Duration.toMillis(spec.watchdog))
    const { cron } = this
    if (recycled === undefined && stalled === undefined && cron === undefined) return body
    const overlapping = cron?.plan.overlap === "allow" ? [] : undefined
    const signal = firstOf(
      firstOf(stalled, recycled === undefined ? undefined : Effect.as(recycled, Recycled)),
      cron === undefined ? undefined : this.watch(cron, attempt, overlapping)
    )!
    // raced uninterruptibly, the two sides each interruptible: a stop reaches them through the actor's fiber, and
    // the race returns only once both have ended (an interruptible race would return at once, its sides running on)
    if (overlapping === undefined) return Effect.raceFirst(body, Effect.interruptible(signal))
    // the runs `allow` starts beside this one are part of its attempt: it ends once they all have (its schedule
    // watched meanwhile), or fails with the first that fails, the others interrupted
    return Effect.ensuring(
      Effect.raceFirst(Effect.zipLeft(body, Effect.interruptible(joinEach(overlapping))), Effect.interruptible(signal)),
      Effect.suspend(() => Fiber.interruptAll(overlapping))
    )
  }

  /** Completes once the attempt has reported no progress for `period`; one timer at a time. */
  private watchdog(period: number): Effect.Effect<Stalled> {
    return Effect.suspend(() => {
      const quiet = this.clock.unsafeCurrentTimeMillis() - this.lastProgress
      return quiet >= period
        ? Effect.succeed(new Stalled(quiet))
        : Effect.zipRight(Effect.sleep(Duration.millis(period - quiet)), this.watchdog(period))
    })
  }

  private get spec(): Resolved {
    return this.task.spec
  }

  /**
   * The attempt ended (`cause`: it failed; `ending`: it was ended by its
   * timeout, its watchdog or its group). Its scope closes now (as interrupted
   * when the attempt was, as `Effect.scoped` inside `Effect.timeout` would),
   * uninterruptibly.
   */
  private onEnd(cause: Cause.Cause<unknown> | undefined, ending: Ending): Effect.Effect<void> {
    const closing = this.scope.end(
      ending !== undefined ? interruptedExit : cause === undefined ? Exit.void : Exit.failCause(cause)
    )
    const failed = causeOf(this.spec, cause, ending)
    return closing === undefined
      ? this.onRelease(failed, ending, undefined)
      : this.wait({ _tag: "Release", cause: failed, ending }, closing)
  }

  /**
   * The attempt's scope is closed (`failed`: what failed in the attempt;
   * `ending`: how it ended if not by itself; `releaseFailed`: what failed
   * while releasing): its end is reported, however it ended, then what comes
   * next is decided.
   */
  private onRelease(
    failed: Cause.Cause<unknown> | undefined,
    ending: Ending,
    releaseFailed: Cause.Cause<unknown> | undefined
  ): Effect.Effect<void> {
    const { task } = this
    this.env.permits?.release(task)
    const endedAt = this.clock.unsafeCurrentTimeMillis()
    const elapsed = endedAt - this.started
    const cause = releaseFailed === undefined
      ? failed
      : failed === undefined
      ? releaseFailed
      : Cause.sequential(failed, releaseFailed)
    const interrupted = cause !== undefined && ending === undefined && Cause.isInterruptedOnly(cause)
    // interrupted (for a stop, a control, or by itself), stopped while it failed, restarted by its group, or
    // replaced by the run of its next scheduled time
    const canceled = interrupted || (task.stopped && cause !== undefined) || ending === Recycled ||
      ending instanceof Superseded
    // a failure while stopping (or being restarted) is kept on it
    const kept = interrupted ? undefined : cause
    let failure: AttemptFailure | undefined
    if (canceled) this.reportCanceled(endedAt, kept)
    else failure = this.report(endedAt, cause, ending)

    // an operator's control that came while the attempt ran or released its scope decides what comes next, whatever
    // its end would have: nothing is counted against the budget, the group restarts nothing
    if (this.controlled) {
      task.member?.onRecycled(task)
      return this.respawn()
    }
    if (canceled) {
      // once a stop is claimed it decides the outcome; a failure while stopping is kept on it
      if (interrupted || task.stopped) {
        return this.commit(kept === undefined ? TaskOutcome.Canceled : TaskOutcome.canceledWith(kept))
      }
      // replaced by the run of its next scheduled time, which starts now (in a scope of its own)
      if (ending instanceof Superseded) {
        const { scheduledAt } = ending
        return this.wait(
          { _tag: "Scheduled", then: () => this.runSlot(this.cron!, scheduledAt) },
          this.between(Effect.void, "Waiting")
        )
      }
      // restarted by its group: it waits at its gate for its turn to start again
      task.member!.onRecycled(task)
      return this.wait(Delay, this.between(Effect.void))
    }
    return failure === undefined ? this.afterSuccess(elapsed) : this.afterFailure(failure, endedAt)
  }

  /** The attempt ended canceled (`kept`: what failed while it stopped). */
  private reportCanceled(endedAt: number, kept: Cause.Cause<unknown> | undefined): void {
    const { task } = this
    const duration = Duration.millis(endedAt - this.started)
    this.publish("AttemptCanceled", { id: task.id, task: task.spec.name, attempt: task.attempt, duration, cause: kept })
    this.record("canceled", endedAt, undefined, undefined)
  }

  /** The attempt ended by itself, by its timeout or by its watchdog: reported, and its failure if it failed. */
  private report(endedAt: number, cause: Cause.Cause<unknown> | undefined, ending: Ending): AttemptFailure | undefined {
    const { spec, task } = this
    const { id } = task
    const { name } = spec
    const attempt = task.attempt
    const elapsed = endedAt - this.started
    const duration = Duration.millis(elapsed)
    if (cause === undefined) {
      this.publish("AttemptSucceeded", { id, task: name, attempt, duration })
      this.record("succeeded", endedAt, undefined, undefined)
      this.recover()
      return undefined
    }
    // a long enough run is a recovery, failed or not: the backoff, the retry budget and a parking start over
    if (spec.resetAfter !== undefined && elapsed >= spec.resetAfter) this.recover()
    const failure = failureOf(cause, ending)
    const { exitCode, reason } = failure
    if (ending === TimedOut) {
      this.publish("AttemptTimedOut", { id, task: name, attempt, duration, timeout: spec.timeout! })
      this.record("timed_out", endedAt, reason, undefined)
    } else if (ending instanceof Stalled) {
      this.publish("AttemptStalled", {
        id,
        task: name,
        attempt,
        duration,
        sinceProgress: Duration.millis(ending.sinceProgress),
        watchdog: spec.watchdog!
      })
      this.record("stalled", endedAt, reason, undefined)
    } else {
      this.publish("AttemptFailed", { id, task: name, attempt, duration, reason, exitCode })
      this.record("failed", endedAt, reason, exitCode)
    }
    return failure
  }

  /** The attempt succeeded (in `elapsed` milliseconds): the task completes, or restarts if it always does. */
  private afterSuccess(elapsed: number): Effect.Effect<void> {
    const { spec, task } = this
    if (task.stopped) return this.commit(TaskOutcome.Canceled)
    if (this.cron !== undefined) return this.runOver(this.cron)
    if (spec.restart._tag !== "Always") return this.commit(TaskOutcome.Completed)
    const gaveUp = this.chargeRestart("restarted after a success", undefined)
    if (gaveUp !== undefined) return gaveUp
    const interval = spec.restart.interval
    if (interval === undefined) {
      // at most one attempt per millisecond
      return this.wait(
        Delay,
        this.between(
          elapsed < 1
            ? Effect.interruptible(Effect.sleep(Duration.subtract(oneMilli, Duration.millis(elapsed))))
            : zeroOn(this.clock)
        )
      )
    }
    const delay = Duration.max(interval, Duration.millis(Math.max(0, 1 - elapsed)))
    this.publish("BackoffScheduled", {
      id: task.id,
      task: spec.name,
      attempt: task.attempt,
      delay,
      source: "Success",
      reason: undefined
    })
    return this.wait(Delay, this.between(sleep(this.clock, delay)))
  }

  /** The attempt failed (ended at `endedAt`): the task ends, is parked, or asks its retry schedule when to retry. */
  private afterFailure(failure: AttemptFailure, endedAt: number): Effect.Effect<void> {
    const { spec, task } = this
    const terminal = terminalOutcome(spec, failure)
    if (terminal !== undefined) return this.commit(terminal)
    const { exitCode, reason } = failure
    const { cron } = this
    if (spec.restart._tag === "Never") {
      return cron === undefined
        ? this.commit(TaskOutcome.Failed({ reason, exitCode, cause: failure.cause }))
        : this.runOver(cron)
    }
    // parked, it tries again every park interval, whatever its backoff and retry budget say
    if (this.mode._tag === "Parked") {
      task.member?.onRestarting(task, reason)
      return this.park(reason)
    }
    if (spec.maxRetries !== undefined && this.retries >= spec.maxRetries) {
      // a cron task's run is over; the task is not
      if (cron !== undefined) return this.runOver(cron)
      return this.commit(TaskOutcome.Failed({
        reason: `retry limit reached after ${this.retries} of ${spec.maxRetries} retries: ${reason}`,
        exitCode,
        cause: failure.cause
      }))
    }
    const state = this.scheduleState
    // the schedule's requirements come with the caller's context the actor runs in
    return this.wait(
      { _tag: "Schedule", failure, at: endedAt },
      this.between(
        Effect.interruptible(
          Retry.next(spec.schedule, endedAt, failure.error, state) as Effect.Effect<Retry.Decision, unknown>
        )
      )
    )
  }

  /**
   * An operator's control came, and the task is not stopping: it decides
   * what comes next, over what an attempt's end or a wait would have.
   */
  private get controlled(): boolean {
    return this.requested !== undefined && !this.task.stopped
  }

  /**
   * The retry schedule decided `decided` on `step.failure` (`failed`: it
   * failed, died, answered with something that is not a decision, or was interrupted).
   */
  private onSchedule(
    step: Schedule,
    failed: Cause.Cause<unknown> | undefined,
    decided: Retry.Decision
  ): Effect.Effect<void> {
    const { failure } = step
    const { exitCode, reason } = failure
    if (failed !== undefined) {
      if (Cause.isInterruptedOnly(failed)) return this.commit(TaskOutcome.Canceled)
      return this.commit(brokenOutcome(new Broken("retry schedule", failed), failure))
    }
    const { cron } = this
    // a cron task's run is over when its retries end, or the next would start at or after its next scheduled time
    if (
      cron !== undefined &&
      (decided === undefined || step.at + decided[1] >= (cron.nextAfter(cron.cursor!) ?? Infinity))
    ) {
      return this.runOver(cron)
    }
    if (decided === undefined) {
      return this.commit(TaskOutcome.Failed({
        reason: `retry schedule ended after ${this.retries} retries: ${reason}`,
        exitCode,
        cause: failure.cause
      }))
    }
    const gaveUp = this.chargeRestart(reason, failure)
    if (gaveUp !== undefined) return gaveUp
    this.scheduleState = decided[0]
    this.retries++
    const delay = Duration.millis(decided[1])
    const { task } = this
    this.publish("BackoffScheduled", {
      id: task.id,
      task: this.spec.name,
      attempt: task.attempt,
      delay,
      source: "Failure",
      reason
    })
    return this.wait(Delay, sleep(this.clock, delay))
  }

  /**
   * The task is about to restart (after `failure`, or a success): counted
   * against its restart intensity. Past it, it gives up (the effect that
   * commits `Failed`) or is parked (the effect that waits for its next try);
   * within it, its group is told.
   */
  private chargeRestart(reason: string, failure: AttemptFailure | undefined): Effect.Effect<void> | undefined {
    const { task, window } = this
    const restarts = window?.exceeded(this.clock.unsafeCurrentTimeMillis())
    if (restarts === undefined) {
      task.member?.onRestarting(task, reason)
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
      return this.commit(TaskOutcome.Failed({
        reason: `${why}: ${reason}`,
        exitCode: failure?.exitCode,
        cause: failure?.cause ?? Cause.empty
      }))
    }
    this.mode = parked
    this.publish("TaskParked", { id: task.id, task: this.spec.name, park, reason: `${why}: ${reason}` })
    task.member?.onRestarting(task, reason)
    // after a success there is no failure to name
    return this.park(failure === undefined ? undefined : reason)
  }

  /** Parked: wait the park interval, then try again (`reason`: the failure it follows, if it follows one). */
  private park(reason: string | undefined): Effect.Effect<void> {
    const { task } = this
    const interval = this.window!.intensity.park!
    this.publish("BackoffScheduled", {
      id: task.id,
      task: this.spec.name,
      attempt: task.attempt,
      delay: interval,
      source: reason === undefined ? "Success" : "Failure",
      reason
    })
    const wait = this.between(sleep(this.clock, interval))
    task.enter("Parked")
    return this.wait(Delay, wait)
  }

  /** A success, or a run past its reset uptime: the backoff, the retry budget and the restart window start over. */
  private recover(): void {
    this.retries = 0
    this.scheduleState = this.spec.initial
    if (this.mode._tag === "Parked") {
      this.mode = normal
      this.window!.clear()
    }
  }

  /** An attempt ended: its metrics, its span, and its crash history. */
  private record(
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
    this.spans?.end(result, reason, this.clock)
    const history = this.history ??= new History()
    history.record(result, at, task.attempt, reason, exitCode)
  }

  /** The task was force-aborted (see `Task.Actor`). */
  abandon(): void {
    if (this.forceAborted !== undefined) Deferred.unsafeDone(this.forceAborted, Exit.void)
    this.spans?.end("force_aborted", "it did not stop within its grace", this.clock)
  }

  /** An operator's control (see `Task.Actor`). */
  control(kind: OperatorControl): boolean {
    const { task } = this
    if (task.stopped) return false
    const phase = task.state._tag
    const action = actionOf(kind, phase, this.requested)
    // a cron task waiting for its schedule runs now, its schedule not moved
    if (action === "Restart" && phase === "Scheduled" && this.cron?.slot === undefined) this.cron!.triggered = true
    switch (action) {
      case undefined:
        return false
      case "Unpause":
        return this.unpause()
      case "Redirect":
        this.requested = "Restart"
        return true
      default:
        return this.interrupt(action)
    }
  }

  /** Interrupt the actor's fiber for a control: it ends its attempt or its wait, then `respawn`s. */
  private interrupt(requested: Request): boolean {
    this.requested = requested
    // a fiber not known yet (the task is in its first step) is interrupted as soon as it is
    this.task.fiber?.unsafeInterruptAsFork(FiberId.none)
    return true
  }

  /** A paused task goes on: a fresh fiber starts its next attempt. */
  private unpause(): boolean {
    // only a paused task is unpaused
    const mode = this.mode as Paused
    this.mode = mode.then
    this.task.enter("Waiting")
    this.run("Later", mode.fiberRefs)
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
        // a paused cron task's schedule is suspended
        this.cron?.suspend()
        // a paused task has no fiber to respawn
        this.mode = { _tag: "Paused", fiberRefs, then: this.mode as Normal | Parked }
        task.enter("Paused")
        task.fiber = undefined
        task.member?.onPaused(task)
      } else {
        task.enter("Waiting")
        this.run("Later", fiberRefs)
      }
      return Effect.void
    })
  }

  nextRunAt(): number | undefined {
    const next = this.cron?.next
    return next === undefined || next === Infinity ? undefined : next
  }

  details(): ActorDetails {
    const attemptStartedAt = this.task.alive ? this.started : undefined
    return this.history === undefined ? noHistory(attemptStartedAt) : this.history.details(attemptStartedAt)
  }

  /**
   * Run the actor on a fiber of its own, with `fiberRefs` (its caller's, or
   * those its previous fiber had) and the context of its next attempt: its
   * first, or the next after a control.
   */
  run(when: Start, fiberRefs: FiberRefs.FiberRefs): void {
    const { task } = this
    const fiber = fork(this, this.context(), fiberRefs, when)
    // a stop or a control claimed while it ran here, before its fiber was known (the task stopping itself), reaches
    // it now, unless the fiber has ended already (as a task that ran to its end here has)
    if ((task.stopped || this.requested !== undefined) && fiber.unsafePoll() === null) {
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
    // a task that ran to its end here has let its fiber go already
    if (!task.finished) task.fiber = fiber
  }

  /**
   * Between attempts, before `then`: the next attempt's scope and
   * `CurrentTask` are set in place (not provided around the attempt, so no
   * frame stays on a parked fiber's stack), for the schedule and the delay too.
   */
  private between<A, E>(then: Effect.Effect<A, E>, phase: Phase = "BackingOff"): Effect.Effect<A, E> {
    this.task.enter(phase)
    this.scope = new AttemptScope()
    return Effect.zipRight(FiberRef.set(FiberRef.currentContext, this.context()), then)
  }
}

/** The most scheduled times `bufferAll` keeps; past it, they are skipped. */
const maxBuffered = 1_000

/** Join the fibers of `fibers` one by one, those added meanwhile too, until none is left. */
const joinEach = (fibers: Array<Fiber.RuntimeFiber<unknown, unknown>>): Effect.Effect<void, unknown> =>
  Effect.suspend(() => {
    const fiber = fibers[0]
    return fiber === undefined
      ? Effect.void
      : Effect.zipRight(
        Fiber.join(fiber),
        Effect.suspend(() => {
          fibers.shift()
          return joinEach(fibers)
        })
      )
  })

/** The first of two signals to complete, either of which may be absent. */
const firstOf = <A, B>(
  a: Effect.Effect<A> | undefined,
  b: Effect.Effect<B> | undefined
): Effect.Effect<A | B> | undefined => a === undefined ? b : b === undefined ? a : Effect.raceFirst(a, b)

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
