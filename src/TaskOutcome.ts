/**
 * How a task ended, delivered exactly once through its `TaskHandle` and
 * mirrored by the `TaskFinished` event.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as internal from "./internal/data/taskOutcome.js"

/**
 * Why submitted work was turned away before it ran.
 *
 * @since 0.1.0
 * @category Models
 */
export type RejectionKind = internal.RejectionKind

/**
 * - `Completed`: the last attempt succeeded and no restart was due.
 * - `Failed`: a retryable failure with no retry left (or restart `never`).
 * - `Fatal`: the task failed with `TaskFatal` or a failure its `isFatal` accepts.
 * - `Canceled`: the task was stopped, or interrupted itself. Once a stop is
 *   claimed the outcome is `Canceled` whatever the task's policy; a failure
 *   that happened while it stopped (a finalizer that died, an uninterruptible
 *   tail that failed) is kept as its `cause`.
 * - `ForceAborted`: the task ignored interruption for longer than the grace period.
 * - `Rejected`: the work never ran.
 *
 * `Failed` and `Fatal` carry the last attempt's cause; a timed-out attempt
 * fails with `TaskTimeout`.
 *
 * @since 0.1.0
 * @category Models
 */
export type TaskOutcome<E = unknown> = internal.TaskOutcome<E>

/**
 * @since 0.1.0
 * @category Models
 */
export type Completed = internal.Completed

/**
 * @since 0.1.0
 * @category Models
 */
export type Failed<E> = internal.Failed<E>

/**
 * @since 0.1.0
 * @category Models
 */
export type Fatal<E> = internal.Fatal<E>

/**
 * @since 0.1.0
 * @category Models
 */
export type Canceled<E = never> = internal.Canceled<E>

/**
 * @since 0.1.0
 * @category Models
 */
export type ForceAborted = internal.ForceAborted

/**
 * @since 0.1.0
 * @category Models
 */
export type Rejected = internal.Rejected

/**
 * @since 0.1.0
 * @category Constructors
 */
export const Completed: Completed = internal.Completed

/**
 * @since 0.1.0
 * @category Constructors
 */
export const Failed: <E>(args: Omit<Failed<E>, "_tag">) => TaskOutcome<E> = internal.Failed

/**
 * @since 0.1.0
 * @category Constructors
 */
export const Fatal: <E>(args: Omit<Fatal<E>, "_tag">) => TaskOutcome<E> = internal.Fatal

/**
 * A stop with nothing failing on the way.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const Canceled: Canceled = internal.Canceled

/**
 * A stop during which the task failed: `cause` holds what failed.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const canceledWith: <E>(cause: Cause.Cause<E>) => TaskOutcome<E> = internal.canceledWith

/**
 * @since 0.1.0
 * @category Constructors
 */
export const ForceAborted: ForceAborted = internal.ForceAborted

/**
 * @since 0.1.0
 * @category Constructors
 */
export const Rejected: (kind: RejectionKind, reason: string) => Rejected = internal.Rejected

/**
 * @since 0.1.0
 * @category Guards
 */
export const $is: typeof internal.$is = internal.$is

/**
 * @since 0.1.0
 * @category Guards
 */
export const $match: typeof internal.$match = internal.$match

/**
 * The snake_case label of an outcome, e.g. `outcome_completed`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const label: (self: TaskOutcome<unknown>) => string = internal.label

/**
 * The snake_case label of a rejection kind, e.g. `slot_busy`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const rejectionLabel = (kind: RejectionKind): string => rejectionLabels[kind]

const rejectionLabels: { readonly [K in RejectionKind]: string } = {
  AlreadyExists: "already_exists",
  BatchRejected: "batch_rejected",
  SlotBusy: "slot_busy",
  QueueFull: "queue_full",
  SupersededByReplace: "superseded_by_replace",
  RemovedFromQueue: "removed_from_queue",
  ControllerShuttingDown: "controller_shutting_down"
}

/**
 * The outcome's reason text, if it has one.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const reason: (self: TaskOutcome<unknown>) => string | undefined = internal.reason

/**
 * The outcome's exit code, if it has one.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const exitCode: (self: TaskOutcome<unknown>) => number | undefined = internal.exitCode

/**
 * Only `Completed` is a success.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isSuccess = (self: TaskOutcome<unknown>): self is Completed => self._tag === "Completed"
