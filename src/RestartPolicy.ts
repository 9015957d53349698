/**
 * When a task runs again after an attempt ends.
 *
 * - `never`: one attempt; a failure ends the task `Failed`.
 * - `onFailure`: retry failures with backoff; a success ends the task `Completed`.
 * - `always({ interval })`: run again after every success (after `interval`, or
 *   after at least 1 ms without one) and retry failures with backoff.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as internal from "./internal/config/restartPolicy.js"

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

export type {
  /**
   * A restart policy: `Never`, `OnFailure`, or `Always` with its `interval`
   * (`undefined`: at least 1 ms). Policies are structurally equal values
   * (`Equal`), pipeable and inspectable.
   *
   * @since 0.1.0
   * @category Models
   */
  RestartPolicy
} from "./internal/config/restartPolicy.js"

type RestartPolicy = internal.RestartPolicy

/**
 * @since 0.1.0
 * @category Guards
 */
export const isRestartPolicy: (u: unknown) => u is RestartPolicy = internal.isRestartPolicy

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
 * Run the task once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const never: RestartPolicy = internal.never

/**
 * Retry failed attempts; stop after a success.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const onFailure: RestartPolicy = internal.onFailure

/**
 * Run the task again after every success and retry its failures. A zero or
 * missing `interval` restarts after at least 1 ms. An invalid interval
 * (negative, NaN, infinite, malformed) does not throw: a task with the policy
 * is refused where it is added (`add`, `run`, `Controller.submit`, as
 * `SupervisorConfig` defaults by `SupervisorConfig.make`/`layer`) with a
 * `ConfigError` naming the task's `restart` and the interval. `unsafeAlways`
 * throws instead.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const always: (options?: { readonly interval?: Duration.DurationInput | undefined }) => RestartPolicy =
  internal.always

/**
 * Like `always`, but an invalid interval throws a `ConfigError` naming
 * `interval` at once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unsafeAlways: (options?: { readonly interval?: Duration.DurationInput | undefined }) => RestartPolicy =
  internal.unsafeAlways
