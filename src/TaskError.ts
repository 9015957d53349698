/**
 * Errors that describe how a task attempt ended: the `TaskFatal` a task fails
 * with to stop for good, and the `TaskTimeout` and `TaskPanicked` failures the
 * supervisor records for timed-out and defective attempts.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

/**
 * Fail a task with `TaskFatal` to stop it without retrying: its outcome is
 * `Fatal`. An `exitCode` is carried to the events and the outcome.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TaskFatal extends Data.TaggedError("TaskFatal")<{
  readonly reason: string
  readonly exitCode?: number | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason
  }
}

/**
 * An attempt ran longer than the task's timeout and was interrupted. It is
 * retryable and consumes the retry budget.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TaskTimeout extends Data.TaggedError("TaskTimeout")<{
  readonly timeout: Duration.Duration
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `timed out after ${Duration.format(this.timeout)}`
  }
}

/**
 * An attempt died with a defect. It is retryable; a retry schedule sees it as
 * its input.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TaskPanicked extends Data.TaggedError("TaskPanicked")<{
  readonly defect: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `task panicked: ${describe(this.defect)}`
  }
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskFatal = (u: unknown): u is TaskFatal => Predicate.isTagged(u, "TaskFatal")

/**
 * The text a failure contributes to events and outcomes: an error's message,
 * else its `_tag`, else its string form.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const describe = (error: unknown): string => {
  try {
    return describeUnsafe(error)
  } catch {
    // a failure whose message or toString throws must not take its task or subscriber down with it
    return "a failure that cannot be described"
  }
}

const describeUnsafe = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== "") {
    return error.message
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") {
    return error._tag
  }
  if (typeof error === "string") {
    return error
  }
  try {
    const json = JSON.stringify(error)
    return json === undefined ? String(error) : json
  } catch {
    return String(error)
  }
}

/**
 * The numeric `exitCode` a failure carries, if any.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const exitCodeOf = (error: unknown): number | undefined =>
  Predicate.hasProperty(error, "exitCode") && typeof error.exitCode === "number" ? error.exitCode : undefined
