/**
 * The errors the supervisor itself raises: admission, lookup, shutdown and
 * configuration problems. Every error names what went wrong.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/data/supervisorError.js"

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
 * @since 0.1.0
 * @category Guards
 */
export const isSupervisorError = (u: unknown): u is SupervisorError => Predicate.hasProperty(u, internal.TypeId)

export {
  /**
   * `run` was called a second time on the same supervisor.
   *
   * @since 0.1.0
   * @category Errors
   */
  AlreadyRunning,
  /**
   * A configuration or task setting has an invalid value. `variable` names the
   * environment variable it was read from, if it was: its path joined with `_`,
   * as `ConfigProvider.fromEnv` reads it.
   *
   * @since 0.1.0
   * @category Errors
   */
  ConfigError,
  /**
   * Some tasks did not stop within the grace period and were force-aborted.
   *
   * @since 0.1.0
   * @category Errors
   */
  GraceExceeded,
  /**
   * A backoff policy was built with invalid parameters.
   *
   * @since 0.1.0
   * @category Errors
   */
  InvalidBackoff,
  /**
   * The supervisor has started shutting down and admits no more work.
   *
   * @since 0.1.0
   * @category Errors
   */
  ShuttingDown,
  /**
   * A significant task added to a supervisor with `autoShutdown` ended
   * `Failed` or `Fatal` by itself, and the supervisor shut down for it:
   * `TaskSupervisor.join` fails with it, so a program whose main effect joins
   * the supervisor ends with an error (`NodeRuntime.runMain` exits non-zero).
   *
   * @since 0.1.0
   * @category Errors
   */
  SignificantTaskFailed,
  /**
   * A task with this name is registered, or still stopping, in the
   * supervisor; or, as its `reason` says, the name is a path a registered
   * group keeps for one of its children, or a group's child's path is taken.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskAlreadyExists,
  /**
   * This supervisor never issued this task id: a programming error. Stopping a
   * task that is gone, or a name not registered now, is not an error (`remove`
   * and `cancel` return `false`).
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskNotFound,
  /**
   * `cancel` with a timeout gave up waiting for the task's terminal cleanup.
   * Cancellation goes on in the background.
   *
   * @since 0.1.0
   * @category Errors
   */
  TaskTerminationTimeout
} from "./internal/data/supervisorError.js"

/**
 * @since 0.1.0
 * @category Errors
 */
export type SupervisorError =
  | internal.TaskAlreadyExists
  | internal.TaskNotFound
  | internal.ShuttingDown
  | internal.GraceExceeded
  | internal.TaskTerminationTimeout
  | internal.AlreadyRunning
  | internal.SignificantTaskFailed
  | internal.ConfigError
  | internal.InvalidBackoff
