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
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as validate from "./internal/spec/validate.js"
import { ConfigError } from "./SupervisorError.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type RestartPolicy = Data.TaggedEnum<{
  Never: {}
  OnFailure: {}
  Always: { readonly interval: Duration.Duration | undefined }
}>

const RestartPolicy = Data.taggedEnum<RestartPolicy>()

/**
 * @since 0.1.0
 * @category Guards
 */
export const $is = RestartPolicy.$is

/**
 * @since 0.1.0
 * @category Guards
 */
export const $match = RestartPolicy.$match

/**
 * Run the task once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const never: RestartPolicy = RestartPolicy.Never()

/**
 * Retry failed attempts; stop after a success.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const onFailure: RestartPolicy = RestartPolicy.OnFailure()

/**
 * Run the task again after every success and retry its failures. A zero or
 * missing `interval` restarts after at least 1 ms. An invalid interval
 * (negative, NaN, infinite, malformed) throws a `ConfigError` naming it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const always = (options?: { readonly interval?: Duration.DurationInput | undefined }): RestartPolicy => {
  const interval = options?.interval === undefined ? undefined : validate.duration("interval", options.interval)
  if (interval instanceof ConfigError) throw interval
  return RestartPolicy.Always({
    interval: interval === undefined || Duration.isZero(interval) ? undefined : interval
  })
}
