/** The errors the supervisor raises, sharing one `TypeId`. */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import { reason, type TaskOutcome } from "./taskOutcome.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/SupervisorError")

export type TypeId = typeof TypeId

export class TaskAlreadyExists extends Data.TaggedError("TaskAlreadyExists")<{
  readonly taskName: string
  /** Why the name cannot be used, when it is not simply registered already (a group's child's path). */
  readonly reason?: string | undefined
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason === undefined
      ? `task name '${this.taskName}' already exists`
      : `task name '${this.taskName}' cannot be used: ${this.reason}`
  }
}

export class TaskNotFound extends Data.TaggedError("TaskNotFound")<{
  readonly target: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `task id #${this.target} was never issued by this supervisor`
  }
}

export class ShuttingDown extends Data.TaggedError("ShuttingDown")<{}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "supervisor is shutting down"
  }
}

export class GraceExceeded extends Data.TaggedError("GraceExceeded")<{
  readonly grace: Duration.Duration
  readonly stuck: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `shutdown grace of ${Duration.format(this.grace)} exceeded; stuck: ${this.stuck.join(", ")}`
  }
}

export class TaskTerminationTimeout extends Data.TaggedError("TaskTerminationTimeout")<{
  readonly id: number
  readonly taskName: string
  readonly timeout: Duration.Duration
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `task '${this.taskName}' (#${this.id}) did not terminate within ${Duration.format(this.timeout)}`
  }
}

export class AlreadyRunning extends Data.TaggedError("AlreadyRunning")<{}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "supervisor run() was already started"
  }
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly field: string
  readonly reason: string
  readonly variable?: string | undefined
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.variable === undefined
      ? `invalid ${this.field}: ${this.reason}`
      : `invalid ${this.field} (${this.variable}): ${this.reason}`
  }
}

export class SignificantTaskFailed extends Data.TaggedError("SignificantTaskFailed")<{
  readonly taskName: string
  /** How it ended: `Failed` or `Fatal`, with its reason and cause. */
  readonly outcome: TaskOutcome<unknown>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.ending}; the supervisor shut down`
  }

  /**
   * How the task ended.
   *
   * @since 0.1.0
   */
  get ending(): string {
    return endingOf(this.taskName, this.outcome)
  }
}

/** How a significant task ended, as its supervisor's shutdown reason says it. */
export const endingOf = (taskName: string, outcome: TaskOutcome<unknown>): string => {
  const why = reason(outcome)
  return `significant task '${taskName}' ended ${outcome._tag}${why === undefined ? "" : `: ${why}`}`
}

export class InvalidBackoff extends Data.TaggedError("InvalidBackoff")<{
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `invalid backoff: ${this.reason}`
  }
}
