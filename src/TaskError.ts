/**
 * Errors that describe how a task attempt ended: the `TaskFatal` a task fails
 * with to stop for good, the `TaskTimeout`, `TaskStalled` and `TaskPanicked`
 * failures the supervisor records for timed-out, stalled and defective
 * attempts, and the `GroupFailed` a group's attempt ends with when it gives up.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/data/taskError.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * Any of the errors of this module.
 *
 * @since 0.1.0
 * @category Errors
 */
export type TaskError = internal.TaskError

/**
 * Whether a value is one of the errors of this module (`TaskFatal`,
 * `TaskTimeout`, `TaskPanicked`, `TaskStalled`, `GroupFailed`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTaskError: (u: unknown) => u is TaskError = internal.isTaskError

export {
  /**
   * A group's attempt gave up: a child gave up (`child` names it, by its path),
   * or its children restarted more often than the group's intensity allows.
   * The group's own restart policy decides what happens next, as a supervisor
   * escalates to its parent in OTP.
   *
   * @since 0.1.0
   * @category Errors
   */
  GroupFailed,
  /**
   * Fail a task with `TaskFatal` to stop it without retrying: its outcome is
   * `Fatal`. An `exitCode` is carried to the events and the outcome.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskFatal,
  /**
   * An attempt died with a defect. It is retryable; a retry schedule sees it as
   * its input.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskPanicked,
  /**
   * An attempt reported no progress for its watchdog's period and was
   * interrupted. It is retryable and consumes the retry budget.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskStalled,
  /**
   * An attempt ran longer than the task's timeout and was interrupted. It is
   * retryable and consumes the retry budget.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskTimeout
} from "./internal/data/taskError.js"

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskFatal: (u: unknown) => u is internal.TaskFatal = internal.isTaskFatal

/**
 * The text a failure contributes to events and outcomes: an error's message,
 * else its `_tag`, else its string form.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const describe: (error: unknown) => string = internal.describe

/**
 * The numeric `exitCode` a failure carries, if any.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const exitCodeOf: (error: unknown) => number | undefined = internal.exitCodeOf
