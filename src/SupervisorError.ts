/**
 * The errors the supervisor itself raises: admission, lookup, shutdown and
 * configuration problems. Every error names what went wrong.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/SupervisorError")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category Guards
 */
export const isSupervisorError = (u: unknown): u is SupervisorError => Predicate.hasProperty(u, TypeId)

/**
 * A task with this name is registered, or still stopping, in the supervisor.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TaskAlreadyExists extends Data.TaggedError("TaskAlreadyExists")<{
  readonly taskName: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `task name '${this.taskName}' already exists`
  }
}

/**
 * This supervisor never issued this task id: a programming error. Stopping a
 * task that is gone, or a name not registered now, is not an error (`remove`
 * and `cancel` return `false`).
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * The supervisor has started shutting down and admits no more work.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * Some tasks did not stop within the grace period and were force-aborted.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * `cancel` with a timeout gave up waiting for the task's terminal cleanup.
 * Cancellation goes on in the background.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * `run` was called a second time on the same supervisor.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * A configuration or task setting has an invalid value. `variable` names the
 * environment variable it was read from, if it was.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * A backoff policy was built with invalid parameters.
 *
 * @since 0.1.0
 * @category Errors
 */
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

/**
 * @since 0.1.0
 * @category Errors
 */
export type SupervisorError =
  | TaskAlreadyExists
  | TaskNotFound
  | ShuttingDown
  | GraceExceeded
  | TaskTerminationTimeout
  | AlreadyRunning
  | ConfigError
  | InvalidBackoff
