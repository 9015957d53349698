/**
 * The delay between a failed attempt and the next one: `first × factor^n`,
 * capped at `max`, then jittered and floored.
 *
 * Invalid values: `make` fails with `InvalidBackoff` and `unsafeMake`,
 * `unsafeExponential` and `unsafeConstant` throw it. The builders and
 * combinators that return a policy (`exponential`, `constant`, `withMax`,
 * `withFloor`, `withJitter`) do not throw: given an invalid value, they return
 * a policy that carries its `InvalidBackoff` (the first one, through further
 * combinators). A supervisor refuses such a policy where it is used, `add`,
 * `run` and `Controller.submit` (or `SupervisorConfig.make` and `layer`, for
 * `defaults.retry`), with a `ConfigError` naming the task's `backoff` and
 * giving the reason; `delayForRetry` and `toSchedule` die with it.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/config/backoffPolicy.js"
import * as retry from "./internal/config/retry.js"
import type { ConfigError, InvalidBackoff } from "./SupervisorError.js"

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
   * @since 0.1.0
   * @category Models
   */
  BackoffPolicy,
  /**
   * How a computed delay is randomised:
   *
   * - `none`: the delay itself;
   * - `full`: uniform in `[0, delay]`;
   * - `equal`: uniform in `[delay / 2, delay]`;
   * - `randomizedBand`: uniform in `[first, min(3 × delay, max)]` (can exceed the delay).
   *
   * Then the policy's floor, and a floor of 1 ms when the delay is not zero:
   * `full` never draws 0 (`preview` gives each bound as drawn).
   *
   * @since 0.1.0
   * @category Models
   */
  Jitter
} from "./internal/config/backoffPolicy.js"

export type {
  /**
   * One delay of `preview`: after attempt `attempt` fails, the task waits
   * `delay`, which the policy's jitter drew between `min` and `max` (equal
   * without jitter).
   *
   * @since 0.1.0
   * @category Models
   */
  Delay
} from "./internal/config/retry.js"

type BackoffPolicy = internal.BackoffPolicy
type Jitter = internal.Jitter
type Delay = retry.Delay

/**
 * @since 0.1.0
 * @category Guards
 */
export const isBackoffPolicy: (u: unknown) => u is BackoffPolicy = internal.isBackoffPolicy

/**
 * A validated policy: `factor` must be finite and `>= 1`, `first` must not
 * exceed `max`, both finite and non-negative.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options: {
  readonly first: Duration.DurationInput
  readonly max: Duration.DurationInput
  readonly factor: number
  readonly jitter?: Jitter | undefined
}) => Effect.Effect<BackoffPolicy, InvalidBackoff> = internal.make

/**
 * Like `make`, but throws `InvalidBackoff` for invalid parameters.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unsafeMake: (options: Parameters<typeof make>[0]) => BackoffPolicy = internal.unsafeMake

/**
 * Doubling delays from `first`, capped at `max(first, 30 seconds)`, no jitter.
 * A `first` that is negative, NaN, infinite or malformed does not throw: it
 * gives a policy that is refused where it is used (see the module's note on
 * invalid values); `unsafeExponential` throws instead.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const exponential: (first: Duration.DurationInput) => BackoffPolicy = internal.exponential

/**
 * Like `exponential`, but an invalid `first` throws `InvalidBackoff` at once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unsafeExponential: (first: Duration.DurationInput) => BackoffPolicy = internal.unsafeExponential

/**
 * The same delay every time, no jitter. A `delay` that is negative, NaN,
 * infinite or malformed gives a policy that is refused where it is used (see
 * the module's note on invalid values); `unsafeConstant` throws instead.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const constant: (delay: Duration.DurationInput) => BackoffPolicy = internal.constant

/**
 * Like `constant`, but an invalid `delay` throws `InvalidBackoff` at once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unsafeConstant: (delay: Duration.DurationInput) => BackoffPolicy = internal.unsafeConstant

/**
 * The default: from 200 ms doubling up to 30 s with equal jitter, so the first
 * delay falls in `[100 ms, 200 ms]`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaultPolicy: BackoffPolicy = internal.defaultPolicy

/**
 * Set the cap; `first` and `floor` are lowered to it if needed. A `max` that
 * is negative, NaN, infinite or malformed gives a policy that is refused where
 * it is used (see the module's note on invalid values).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withMax: {
  (max: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy
} = internal.withMax

/**
 * Set the jitter; one that is not a `Jitter` (a cast) gives a policy that is
 * refused where it is used (see the module's note on invalid values).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withJitter: {
  (jitter: Jitter): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, jitter: Jitter): BackoffPolicy
} = internal.withJitter

/**
 * Never wait less than `floor` (itself capped at `max`). A `floor` that is
 * negative, NaN, infinite or malformed gives a policy that is refused where it
 * is used (see the module's note on invalid values).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withFloor: {
  (floor: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, floor: Duration.DurationInput): BackoffPolicy
} = internal.withFloor

/**
 * The delay before retry `index` (0-based: index 0 follows the first failure).
 * Jitter draws from Effect's `Random`, so a seeded `Random` pins it. For a
 * policy built from an invalid value it dies with that `InvalidBackoff`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const delayForRetry: {
  (index: number): (self: BackoffPolicy) => Effect.Effect<Duration.Duration>
  (self: BackoffPolicy, index: number): Effect.Effect<Duration.Duration>
} = internal.delayForRetry

/**
 * The policy as a `Schedule` that recurs forever, each recurrence delayed by
 * `delayForRetry` of its index and outputting that delay. For a policy built
 * from an invalid value its first step dies with that `InvalidBackoff`, as
 * `Schedule.cron` of a malformed expression does, and a supervisor refuses it
 * where it is used (`add`, the config's defaults), as it refuses the policy.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const toSchedule: (self: BackoffPolicy) => Schedule.Schedule<Duration.Duration, unknown> = internal.toSchedule

/**
 * The first `n` delays a task with this policy waits, when every attempt
 * fails: each with the attempt it follows and the bounds its jitter draws
 * within. They are computed by what the supervisor runs after a failure (the
 * policy's schedule and its decision), so under the same seeded `Random` they
 * are the delays a supervised task schedules (its `BackoffScheduled` events),
 * with no supervisor. A value that is not a valid policy, or an `n` that is
 * not a whole number from 0 to 100,000, fails with a `ConfigError` naming
 * `policy` or `n`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Random from "effect/Random"
 * import { BackoffPolicy } from "effect-taskvisor"
 *
 * // [{ attempt: 1, delay: 1xx ms, min: 100 ms, max: 200 ms }, { attempt: 2, ... }, ...]
 * const delays = BackoffPolicy.preview(BackoffPolicy.defaultPolicy, 5).pipe(
 *   Effect.withRandom(Random.make("seed"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category Accessors
 */
export const preview: {
  (n: number): (self: BackoffPolicy) => Effect.Effect<ReadonlyArray<Delay>, ConfigError>
  (self: BackoffPolicy, n: number): Effect.Effect<ReadonlyArray<Delay>, ConfigError>
} = retry.preview
