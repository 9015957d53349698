/**
 * The typed lifecycle events a supervisor publishes. Their kinds, order and
 * fields follow taskvisor 0.7; every event has a `seq` (strictly increasing
 * per supervisor, from 1) and an `at` (epoch milliseconds from Effect's `Clock`).
 *
 * Per task the order is: `TaskAddRequested`, `TaskAdded`, then per attempt
 * `AttemptStarting` followed by exactly one of `AttemptSucceeded`,
 * `AttemptCanceled`, `AttemptFailed`, `AttemptTimedOut` and possibly a
 * `BackoffScheduled`, and finally `TaskFinished` then `TaskRemoved`.
 *
 * Events are diagnostics delivered best-effort: outcomes and stops never
 * depend on them.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type { RejectionKind, TaskOutcome } from "./TaskOutcome.js"

/**
 * What every event carries.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Base {
  readonly seq: number
  readonly at: number
}

/**
 * What every event about one task carries.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TaskRef extends Base {
  readonly id: number
  readonly task: string
}

/**
 * What every event about one attempt carries.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AttemptRef extends TaskRef {
  readonly attempt: number
}

/**
 * A controller slot's status: `Running` (it has an owner), `Terminating` (a
 * `replace` is stopping the owner) or `Idle` (no owner and nothing queued).
 *
 * @since 0.1.0
 * @category Models
 */
export type SlotStatus = "Idle" | "Running" | "Terminating"

/**
 * A task was submitted; its admission decision follows.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskAddRequested extends TaskRef {
  readonly _tag: "TaskAddRequested"
}

/**
 * The task is registered; its first attempt may start.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskAdded extends TaskRef {
  readonly _tag: "TaskAdded"
}

/**
 * The task was rejected (duplicate name, or a rejected batch); it never runs.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskAddFailed extends TaskRef {
  readonly _tag: "TaskAddFailed"
  readonly rejection: RejectionKind
  readonly reason: string
}

/**
 * An attempt begins (after a concurrency permit, if any, was obtained).
 *
 * @since 0.1.0
 * @category Events
 */
export interface AttemptStarting extends AttemptRef {
  readonly _tag: "AttemptStarting"
}

/**
 * The attempt returned a value.
 *
 * @since 0.1.0
 * @category Events
 */
export interface AttemptSucceeded extends AttemptRef {
  readonly _tag: "AttemptSucceeded"
  readonly duration: Duration.Duration
}

/**
 * The attempt was interrupted, by a stop or by itself; `cause` is what failed
 * while it stopped (a finalizer that died, an uninterruptible tail that
 * failed), if anything did.
 *
 * @since 0.1.0
 * @category Events
 */
export interface AttemptCanceled extends AttemptRef {
  readonly _tag: "AttemptCanceled"
  readonly duration: Duration.Duration
  readonly cause: Cause.Cause<unknown> | undefined
}

/**
 * The attempt failed or died.
 *
 * @since 0.1.0
 * @category Events
 */
export interface AttemptFailed extends AttemptRef {
  readonly _tag: "AttemptFailed"
  readonly duration: Duration.Duration
  readonly reason: string
  readonly exitCode: number | undefined
}

/**
 * The attempt exceeded its timeout and was interrupted.
 *
 * @since 0.1.0
 * @category Events
 */
export interface AttemptTimedOut extends AttemptRef {
  readonly _tag: "AttemptTimedOut"
  readonly duration: Duration.Duration
  readonly timeout: Duration.Duration
}

/**
 * The task waits `delay` before its next attempt; `attempt` is the one that just ended.
 *
 * @since 0.1.0
 * @category Events
 */
export interface BackoffScheduled extends AttemptRef {
  readonly _tag: "BackoffScheduled"
  readonly delay: Duration.Duration
  readonly source: "Success" | "Failure"
  readonly reason: string | undefined
}

/**
 * A `remove` or `cancel` claimed the task's stop.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskRemoveRequested extends TaskRef {
  readonly _tag: "TaskRemoveRequested"
  readonly reason: string | undefined
}

/**
 * The task's terminal outcome; published exactly once per registered task.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskFinished extends TaskRef {
  readonly _tag: "TaskFinished"
  readonly outcome: TaskOutcome<unknown>
}

/**
 * The task left the registry; its name is free.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TaskRemoved extends TaskRef {
  readonly _tag: "TaskRemoved"
}

/**
 * `shutdown` was called or the supervisor's scope closed.
 *
 * @since 0.1.0
 * @category Events
 */
export interface ShutdownRequested extends Base {
  readonly _tag: "ShutdownRequested"
}

/**
 * Shutdown stopped every task within grace.
 *
 * @since 0.1.0
 * @category Events
 */
export interface AllStoppedWithinGrace extends Base {
  readonly _tag: "AllStoppedWithinGrace"
}

/**
 * Shutdown force-aborted the `stuck` tasks after `grace`.
 *
 * @since 0.1.0
 * @category Events
 */
export interface GraceExceeded extends Base {
  readonly _tag: "GraceExceeded"
  readonly grace: Duration.Duration
  readonly stuck: ReadonlyArray<string>
}

/**
 * A subscriber's queue was full (or closed); `dropped` counts the ordinary
 * events it lost so far (never diagnostic ones, such as the reports of its own
 * losses).
 *
 * @since 0.1.0
 * @category Events
 */
export interface SubscriberOverflow extends Base {
  readonly _tag: "SubscriberOverflow"
  readonly subscriber: string
  readonly reason: "full" | "closed"
  readonly dropped: number
}

/**
 * A subscriber failed or died handling an event; it keeps receiving.
 *
 * @since 0.1.0
 * @category Events
 */
export interface SubscriberPanicked extends Base {
  readonly _tag: "SubscriberPanicked"
  readonly subscriber: string
  readonly reason: string
}

/**
 * An internal component failed; the supervisor carries on.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RuntimeFailure extends Base {
  readonly _tag: "RuntimeFailure"
  readonly component: string
  readonly reason: string
}

/**
 * The controller accepted a submission: it became the slot's owner or waits
 * in its queue (`reason` says which).
 *
 * @since 0.1.0
 * @category Events
 */
export interface ControllerSubmitted extends Base {
  readonly _tag: "ControllerSubmitted"
  readonly id: number
  readonly slot: string
  readonly reason: string
}

/**
 * The controller turned a submission away; it never runs.
 *
 * @since 0.1.0
 * @category Events
 */
export interface ControllerRejected extends Base {
  readonly _tag: "ControllerRejected"
  readonly id: number
  readonly slot: string
  readonly rejection: RejectionKind
  readonly reason: string
}

/**
 * A slot changed status: `Idle` to `Running` on admission, `Running` to
 * `Terminating` on a replace.
 *
 * @since 0.1.0
 * @category Events
 */
export interface ControllerSlotTransition extends Base {
  readonly _tag: "ControllerSlotTransition"
  readonly slot: string
  readonly from: SlotStatus
  readonly to: SlotStatus
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category Events
 */
export type SupervisorEvent =
  | TaskAddRequested
  | TaskAdded
  | TaskAddFailed
  | AttemptStarting
  | AttemptSucceeded
  | AttemptCanceled
  | AttemptFailed
  | AttemptTimedOut
  | BackoffScheduled
  | TaskRemoveRequested
  | TaskFinished
  | TaskRemoved
  | ShutdownRequested
  | AllStoppedWithinGrace
  | GraceExceeded
  | SubscriberOverflow
  | SubscriberPanicked
  | RuntimeFailure
  | ControllerSubmitted
  | ControllerRejected
  | ControllerSlotTransition

const Constructors = Data.taggedEnum<SupervisorEvent>()

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
  AttemptStarting,
  AttemptSucceeded,
  AttemptTimedOut,
  BackoffScheduled,
  ControllerRejected,
  ControllerSlotTransition,
  ControllerSubmitted,
  GraceExceeded,
  RuntimeFailure,
  ShutdownRequested,
  SubscriberOverflow,
  SubscriberPanicked,
  TaskAddFailed,
  TaskAddRequested,
  TaskAdded,
  TaskFinished,
  TaskRemoveRequested,
  TaskRemoved
} = Constructors

/**
 * @since 0.1.0
 * @category Models
 */
export type Kind = SupervisorEvent["_tag"]

const labels: { readonly [K in Kind]: string } = {
  TaskAddRequested: "task_add_requested",
  TaskAdded: "task_added",
  TaskAddFailed: "task_add_failed",
  AttemptStarting: "attempt_starting",
  AttemptSucceeded: "attempt_succeeded",
  AttemptCanceled: "attempt_canceled",
  AttemptFailed: "attempt_failed",
  AttemptTimedOut: "attempt_timed_out",
  BackoffScheduled: "backoff_scheduled",
  TaskRemoveRequested: "task_remove_requested",
  TaskFinished: "task_finished",
  TaskRemoved: "task_removed",
  ShutdownRequested: "shutdown_requested",
  AllStoppedWithinGrace: "all_stopped_within_grace",
  GraceExceeded: "grace_exceeded",
  SubscriberOverflow: "subscriber_overflow",
  SubscriberPanicked: "subscriber_panicked",
  RuntimeFailure: "runtime_failure",
  ControllerSubmitted: "controller_submitted",
  ControllerRejected: "controller_rejected",
  ControllerSlotTransition: "controller_slot_transition"
}

/**
 * The snake_case label of an event kind, e.g. `attempt_starting`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const kindLabel = (kind: Kind): string => labels[kind]

/**
 * The snake_case label of an event, e.g. `attempt_starting`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const label = (self: SupervisorEvent): string => labels[self._tag]

/**
 * Diagnostic events report on the supervisor's own machinery; an overflow or
 * failure while delivering one is never reported again.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isDiagnostic = (self: SupervisorEvent): boolean =>
  self._tag === "SubscriberOverflow" || self._tag === "SubscriberPanicked" || self._tag === "RuntimeFailure"
