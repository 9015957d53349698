/**
 * The delay between a failed attempt and the next one: `first × factor^n`,
 * capped at `max`, then jittered and floored.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/spec/backoffPolicy.js"
import type { InvalidBackoff } from "./SupervisorError.js"

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
   * @since 0.1.0
   * @category Models
   */
  Jitter
} from "./internal/spec/backoffPolicy.js"

type BackoffPolicy = internal.BackoffPolicy
type Jitter = internal.Jitter

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
 * Throws `InvalidBackoff` if `first` is negative, NaN, infinite or malformed.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const exponential: (first: Duration.DurationInput) => BackoffPolicy = internal.exponential

/**
 * The same delay every time, no jitter. Throws `InvalidBackoff` if `delay` is
 * negative, NaN, infinite or malformed.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const constant: (delay: Duration.DurationInput) => BackoffPolicy = internal.constant

/**
 * The default: from 200 ms doubling up to 30 s with equal jitter, so the first
 * delay falls in `[100 ms, 200 ms]`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaultPolicy: BackoffPolicy = internal.defaultPolicy

/**
 * Set the cap; `first` and `floor` are lowered to it if needed. Throws
 * `InvalidBackoff` if `max` is negative, NaN, infinite or malformed.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withMax: {
  (max: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy
} = internal.withMax

/**
 * @since 0.1.0
 * @category Combinators
 */
export const withJitter: {
  (jitter: Jitter): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, jitter: Jitter): BackoffPolicy
} = internal.withJitter

/**
 * Never wait less than `floor` (itself capped at `max`). Throws
 * `InvalidBackoff` if `floor` is negative, NaN, infinite or malformed.
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
 * Jitter draws from Effect's `Random`, so a seeded `Random` pins it.
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
 * `delayForRetry` of its index and outputting that delay.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const toSchedule: (self: BackoffPolicy) => Schedule.Schedule<Duration.Duration, unknown> = internal.toSchedule
