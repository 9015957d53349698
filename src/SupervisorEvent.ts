/**
 * The typed lifecycle events a supervisor publishes. Their kinds, order and
 * fields follow taskvisor 0.7; every event has a `seq` (strictly increasing
 * per supervisor, from 1) and an `at` (epoch milliseconds from Effect's `Clock`).
 *
 * Per task the order is: `TaskAddRequested`, `TaskAdded`, then per attempt
 * `AttemptStarting` (then `AttemptReady`, for a task that says when it is
 * ready, such as a child process with `readyWhen`) followed by exactly one of `AttemptSucceeded`,
 * `AttemptCanceled`, `AttemptFailed`, `AttemptTimedOut`, `AttemptStalled` and
 * possibly an `IntensityExceeded`, a `TaskParked` or a `BackoffScheduled`, and
 * finally `TaskFinished` then `TaskRemoved`. A group's child's events name the
 * group (`group`) and the child by its path (`task`).
 *
 * Events are diagnostics delivered best-effort: outcomes and stops never
 * depend on them.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/data/supervisorEvent.js"

/**
 * What every event carries.
 *
 * @since 0.1.0
 * @category Models
 */
export type Base = internal.Base

/**
 * What every event about one task carries.
 *
 * @since 0.1.0
 * @category Models
 */
export type TaskRef = internal.TaskRef

/**
 * What every event about one attempt carries.
 *
 * @since 0.1.0
 * @category Models
 */
export type AttemptRef = internal.AttemptRef

/**
 * A controller slot's status: `Running` (it has an owner), `Terminating` (a
 * `replace` is stopping the owner) or `Idle` (no owner and nothing queued).
 *
 * @since 0.1.0
 * @category Models
 */
export type SlotStatus = internal.SlotStatus

/**
 * A task was submitted; its admission decision follows.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskAddRequested = internal.TaskAddRequested

/**
 * The task is registered; its first attempt may start.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskAdded = internal.TaskAdded

/**
 * The task was rejected (duplicate name, or a rejected batch); it never runs.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskAddFailed = internal.TaskAddFailed

/**
 * An attempt begins (after a concurrency permit, if any, was obtained).
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptStarting = internal.AttemptStarting

/**
 * An attempt that was `Starting` is ready, and its task `Running`: published
 * only for a task that says when it is ready (a child process with
 * `readyWhen` or `readyTimeout`), at most once per attempt; `duration` is
 * how long it took from the attempt's start.
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptReady = internal.AttemptReady

/**
 * The attempt returned a value.
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptSucceeded = internal.AttemptSucceeded

/**
 * The attempt was interrupted, by a stop or by itself; `cause` is what failed
 * while it stopped (a finalizer that died, an uninterruptible tail that
 * failed), if anything did.
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptCanceled = internal.AttemptCanceled

/**
 * The attempt failed or died.
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptFailed = internal.AttemptFailed

/**
 * The attempt exceeded its timeout and was interrupted.
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptTimedOut = internal.AttemptTimedOut

/**
 * The attempt reported no progress for its watchdog's period and was
 * interrupted; it counts as a retryable failure (`TaskStalled`).
 *
 * @since 0.1.0
 * @category Events
 */
export type AttemptStalled = internal.AttemptStalled

/**
 * More restarts than the restart intensity allows happened inside its window:
 * the task gives up (`Fail`), or is parked (`Park`). For a group, the window
 * counts its children's restarts, and the group's attempt gives up.
 *
 * @since 0.1.0
 * @category Events
 */
export type IntensityExceeded = internal.IntensityExceeded

/**
 * The task exceeded its restart intensity and is parked: it stays registered,
 * shown `Parked` by `list`, and tries again every `park` until an attempt
 * succeeds. Published once per parking.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskParked = internal.TaskParked

/**
 * A group restarts `children` (in start order) because `child` restarts, as
 * its strategy says: after stopping them in reverse start order.
 *
 * @since 0.1.0
 * @category Events
 */
export type GroupRestarting = internal.GroupRestarting

/**
 * An operator asked `restart`: the running attempt ends now (`AttemptCanceled`)
 * or the wait between attempts is cut short, and the next attempt starts at
 * once, its backoff, retry budget and restart intensity untouched.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskRestartRequested = internal.TaskRestartRequested

/**
 * An operator asked `pause`: the running attempt is interrupted (or the wait
 * between attempts given up) and the task waits, `Paused` in `list`, until
 * `resume`.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskPaused = internal.TaskPaused

/**
 * An operator asked `resume` of a paused task: its next attempt starts now.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskResumed = internal.TaskResumed

/**
 * An operator asked `trigger` of a task waiting between attempts (a periodic
 * task's interval, a backoff, a park): its next attempt starts now.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskTriggered = internal.TaskTriggered

/**
 * The task waits `delay` before its next attempt; `attempt` is the one that just ended.
 *
 * @since 0.1.0
 * @category Events
 */
export type BackoffScheduled = internal.BackoffScheduled

/**
 * A `remove` or `cancel` claimed the task's stop.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskRemoveRequested = internal.TaskRemoveRequested

/**
 * The task's terminal outcome; published exactly once per registered task.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskFinished = internal.TaskFinished

/**
 * The task left the registry; its name is free.
 *
 * @since 0.1.0
 * @category Events
 */
export type TaskRemoved = internal.TaskRemoved

/**
 * `shutdown` was called or the supervisor's scope closed.
 *
 * @since 0.1.0
 * @category Events
 */
export type ShutdownRequested = internal.ShutdownRequested

/**
 * Shutdown stopped every task within grace.
 *
 * @since 0.1.0
 * @category Events
 */
export type AllStoppedWithinGrace = internal.AllStoppedWithinGrace

/**
 * Shutdown force-aborted the `stuck` tasks after `grace`.
 *
 * @since 0.1.0
 * @category Events
 */
export type GraceExceeded = internal.GraceExceeded

/**
 * A subscriber's queue was full; `dropped` counts the ordinary
 * events it lost so far (never diagnostic ones, such as the reports of its own
 * losses).
 *
 * @since 0.1.0
 * @category Events
 */
export type SubscriberOverflow = internal.SubscriberOverflow

/**
 * A subscriber failed or died handling an event; it keeps receiving.
 *
 * @since 0.1.0
 * @category Events
 */
export type SubscriberPanicked = internal.SubscriberPanicked

/**
 * An internal component failed and the supervisor carried on: an HTTP route
 * that failed unexpectedly (`component: "http"`), or a component following
 * the registry (the controller, the HTTP endpoint's readiness) that threw.
 *
 * @since 0.1.0
 * @category Events
 */
export type RuntimeFailure = internal.RuntimeFailure

/**
 * The controller accepted a submission: it became the slot's owner or waits
 * in its queue (`reason` says which).
 *
 * @since 0.1.0
 * @category Events
 */
export type ControllerSubmitted = internal.ControllerSubmitted

/**
 * The controller turned a submission away; it never runs.
 *
 * @since 0.1.0
 * @category Events
 */
export type ControllerRejected = internal.ControllerRejected

/**
 * A slot changed status: `Idle` to `Running` on admission, `Running` to
 * `Terminating` on a replace.
 *
 * @since 0.1.0
 * @category Events
 */
export type ControllerSlotTransition = internal.ControllerSlotTransition

/**
 * @since 0.1.0
 * @category Events
 */
export type SupervisorEvent = internal.SupervisorEvent

/**
 * Why an owner let a singleton go: `Handover` (the engine moved its shard to
 * another runner), `Shutdown` (its runner is stopping) or `Fenced` (it could
 * not confirm its lease in time, and stopped its task so that no other owner
 * can overlap it).
 *
 * @since 0.1.0
 * @category Models
 */
export type SingletonRelease = internal.SingletonRelease

/**
 * How a singleton runs nowhere: `NoOwner` (no runner answers for it) or
 * `NotRunning` (its owner holds it and its task is not running: parked,
 * paused, or ended and waiting to be re-armed).
 *
 * @since 0.1.0
 * @category Models
 */
export type SingletonAbsence = internal.SingletonAbsence

/**
 * A cluster singleton (`ClusterTask.singleton`) is now owned by this runner;
 * its task is being added to this supervisor.
 *
 * @since 0.1.0
 * @category Events
 */
export type SingletonAcquired = internal.SingletonAcquired

/**
 * This runner let a cluster singleton go, after stopping its task.
 *
 * @since 0.1.0
 * @category Events
 */
export type SingletonReleased = internal.SingletonReleased

/**
 * A cluster singleton has run nowhere for longer than its `unownedAfter`:
 * published by every runner that registered it, again each `unownedAfter`
 * while it lasts.
 *
 * @since 0.1.0
 * @category Events
 */
export type SingletonUnowned = internal.SingletonUnowned

/**
 * Why a cron task's scheduled time did not run: a run of it was still running
 * and its `overlap` is `skip` (or `bufferOne` with one kept already)
 * (`Overlap`), or the time passed while no run could start and is outside
 * its `catchUp` window (`Missed`).
 *
 * @since 0.1.0
 * @category Models
 */
export type SkipReason = internal.SkipReason

/**
 * A cron task (`TaskSpec.cron`) did not run at a scheduled time: one event
 * per overlapping time, one for all the times missed together.
 *
 * @since 0.1.0
 * @category Events
 */
export type RunSkipped = internal.RunSkipped

/**
 * A cron task's scheduled time came while a run of it was still running; its
 * `overlap` (`bufferOne`, `bufferAll`) keeps it to run when the runs before it end.
 *
 * @since 0.1.0
 * @category Events
 */
export type RunBuffered = internal.RunBuffered

/**
 * A cron task's scheduled time came while a run of it was still running; its
 * `overlap` (`cancelRunning`) interrupts that run (its attempt ends
 * `AttemptCanceled`) and starts the new one.
 *
 * @since 0.1.0
 * @category Events
 */
export type RunCanceled = internal.RunCanceled

/**
 * Constructors, `$is` and `$match` for every event kind.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const {
  $is,
  $match,
  AllStoppedWithinGrace,
  AttemptCanceled,
  AttemptFailed,
  AttemptReady,
  AttemptStarting,
  AttemptSucceeded,
  AttemptStalled,
  AttemptTimedOut,
  BackoffScheduled,
  ControllerRejected,
  ControllerSlotTransition,
  ControllerSubmitted,
  GraceExceeded,
  GroupRestarting,
  IntensityExceeded,
  RunBuffered,
  RunCanceled,
  RunSkipped,
  RuntimeFailure,
  ShutdownRequested,
  SingletonAcquired,
  SingletonReleased,
  SingletonUnowned,
  SubscriberOverflow,
  SubscriberPanicked,
  TaskAddFailed,
  TaskAddRequested,
  TaskAdded,
  TaskFinished,
  TaskParked,
  TaskPaused,
  TaskRemoveRequested,
  TaskRemoved,
  TaskRestartRequested,
  TaskResumed,
  TaskTriggered
} = internal.Constructors

/**
 * @since 0.1.0
 * @category Models
 */
export type Kind = internal.Kind

/**
 * The snake_case label of an event kind, e.g. `attempt_starting`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const kindLabel: (kind: Kind) => string = internal.kindLabel

/**
 * The snake_case label of an event, e.g. `attempt_starting`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const label: (self: SupervisorEvent) => string = internal.labelOf

/**
 * Diagnostic events report on the supervisor's own machinery; an overflow or
 * failure while delivering one is never reported again.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isDiagnostic: (self: SupervisorEvent) => boolean = internal.isDiagnostic
