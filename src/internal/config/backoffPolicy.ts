/** The backoff policy as data (its model and prototype), its validation, and its delays and schedule. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { InvalidBackoff } from "../data/supervisorError.js"
import * as validation from "./validate.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/BackoffPolicy")

export type TypeId = typeof TypeId

export type Jitter = "none" | "full" | "equal" | "randomizedBand"

export interface BackoffPolicy extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly first: Duration.Duration
  readonly max: Duration.Duration
  readonly factor: number
  readonly jitter: Jitter
  /** The smallest delay ever used; zero means none. */
  readonly floor: Duration.Duration
}

/**
 * Why a policy built from an invalid value cannot run; only such a policy has
 * one. It is reported where the policy is used: a supervisor refuses it with a
 * typed error, and its delays die with it (as `Schedule.cron` of a malformed
 * expression does).
 */
const Invalid: unique symbol = Symbol.for("effect-taskvisor/BackoffPolicy/Invalid")

interface Invalidated {
  readonly [Invalid]?: InvalidBackoff
}

export const invalidOf = (self: BackoffPolicy): InvalidBackoff | undefined => (self as Invalidated)[Invalid]

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: BackoffPolicy) {
    const invalid = invalidOf(this)
    return {
      _id: "BackoffPolicy",
      first: this.first.toJSON(),
      max: this.max.toJSON(),
      factor: this.factor,
      jitter: this.jitter,
      floor: this.floor.toJSON(),
      ...(invalid === undefined ? {} : { invalid: invalid.reason })
    }
  }
}

type Fields = Omit<BackoffPolicy, TypeId | "pipe" | "toJSON" | "toString" | typeof Inspectable.NodeInspectSymbol>

const build = (fields: Fields, invalid: InvalidBackoff | undefined): BackoffPolicy => {
  const policy = Object.assign(Object.create(Proto), fields)
  if (invalid !== undefined) policy[Invalid] = invalid
  return policy
}

const fieldsOf = (self: BackoffPolicy): Fields => ({
  first: self.first,
  max: self.max,
  factor: self.factor,
  jitter: self.jitter,
  floor: self.floor
})

/** `self` with some fields replaced, or, given why they are invalid, unchanged and carrying it (the first one kept). */
const derive = (self: BackoffPolicy, change: Partial<Fields> | InvalidBackoff): BackoffPolicy =>
  change instanceof InvalidBackoff
    ? build(fieldsOf(self), invalidOf(self) ?? change)
    : build({ ...fieldsOf(self), ...change }, invalidOf(self))

export const isBackoffPolicy = (u: unknown): u is BackoffPolicy => Predicate.hasProperty(u, TypeId)

const validate = (options: {
  readonly first: Duration.DurationInput
  readonly max: Duration.DurationInput
  readonly factor: number
  readonly jitter?: Jitter | undefined
}): BackoffPolicy | InvalidBackoff => {
  const { factor } = options
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
    return new InvalidBackoff({ reason: `factor must be finite and >= 1, got ${factor}` })
  }
  const first = decodeDuration("first", options.first)
  if (first instanceof InvalidBackoff) return first
  const max = decodeDuration("max", options.max)
  if (max instanceof InvalidBackoff) return max
  if (Duration.greaterThan(first, max)) {
    return new InvalidBackoff({
      reason: `first delay ${Duration.format(first)} exceeds max ${Duration.format(max)}`
    })
  }
  const jitter = options.jitter ?? "none"
  if (!jitters.includes(jitter)) return unknownJitter(jitter)
  return build({ first, max, factor, jitter, floor: Duration.zero }, undefined)
}

const jitters: ReadonlyArray<Jitter> = ["none", "full", "equal", "randomizedBand"]

const unknownJitter = (jitter: unknown) => new InvalidBackoff({ reason: `unknown jitter '${String(jitter)}'` })

const decodeDuration = (field: string, input: Duration.DurationInput): Duration.Duration | InvalidBackoff => {
  const decoded = validation.decodeDuration(input)
  return typeof decoded === "string" ? new InvalidBackoff({ reason: `${field} ${decoded}` }) : decoded
}

export const make = (options: {
  readonly first: Duration.DurationInput
  readonly max: Duration.DurationInput
  readonly factor: number
  readonly jitter?: Jitter | undefined
}): Effect.Effect<BackoffPolicy, InvalidBackoff> => {
  const result = validate(options)
  return result instanceof InvalidBackoff ? Effect.fail(result) : Effect.succeed(result)
}

export const unsafeMake = (options: Parameters<typeof make>[0]): BackoffPolicy => {
  const result = validate(options)
  if (result instanceof InvalidBackoff) throw result
  return result
}

const thirtySeconds = Duration.seconds(30)

/**
 * No jitter, delays from `first` growing by `factor` up to `max(first, 30 s)`;
 * an invalid `first` (named `field`) gives a policy that carries why, its
 * delays zero: a negative or NaN delay never runs as a zero one, it is refused
 * where the policy is used.
 */
const plain = (field: string, input: Duration.DurationInput, factor: number): BackoffPolicy => {
  const first = decodeDuration(field, input)
  return first instanceof InvalidBackoff
    ? build({ first: Duration.zero, max: thirtySeconds, factor, jitter: "none", floor: Duration.zero }, first)
    : build({ first, max: Duration.max(first, thirtySeconds), factor, jitter: "none", floor: Duration.zero }, undefined)
}

export const exponential = (first: Duration.DurationInput): BackoffPolicy => plain("first", first, 2)

export const constant = (delay: Duration.DurationInput): BackoffPolicy => plain("delay", delay, 1)

/** `policy`, or its `InvalidBackoff` thrown at once. */
const unsafe = (policy: BackoffPolicy): BackoffPolicy => {
  const invalid = invalidOf(policy)
  if (invalid !== undefined) throw invalid
  return policy
}

export const unsafeExponential = (first: Duration.DurationInput): BackoffPolicy => unsafe(exponential(first))

export const unsafeConstant = (delay: Duration.DurationInput): BackoffPolicy => unsafe(constant(delay))

export const defaultPolicy: BackoffPolicy = build({
  first: Duration.millis(200),
  max: thirtySeconds,
  factor: 2,
  jitter: "equal",
  floor: Duration.zero
}, undefined)

export const withMax: {
  (max: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy
} = dual(2, (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy => {
  const m = decodeDuration("max", max)
  return derive(
    self,
    m instanceof InvalidBackoff ? m : { max: m, first: Duration.min(self.first, m), floor: Duration.min(self.floor, m) }
  )
})

export const withJitter: {
  (jitter: Jitter): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, jitter: Jitter): BackoffPolicy
} = dual(
  2,
  (self: BackoffPolicy, jitter: Jitter): BackoffPolicy =>
    derive(self, jitters.includes(jitter) ? { jitter } : unknownJitter(jitter))
)

export const withFloor: {
  (floor: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, floor: Duration.DurationInput): BackoffPolicy
} = dual(2, (self: BackoffPolicy, floor: Duration.DurationInput): BackoffPolicy => {
  const f = decodeDuration("floor", floor)
  return derive(self, f instanceof InvalidBackoff ? f : { floor: Duration.min(f, self.max) })
})

/** The delay before a retry, in milliseconds: the least and the greatest it can be, and how it is drawn. */
export interface Spread {
  readonly min: number
  readonly max: number
  /** The delay: drawn from Effect's `Random` between `min` and `max`, or `min` itself when they are equal. */
  readonly draw: Effect.Effect<number>
}

const fixed = (delay: number): Spread => ({ min: delay, max: delay, draw: Effect.succeed(delay) })

/**
 * The delay before retry `index` (0-based) of a valid policy: `first ×
 * factor^index` capped at `max`, the jitter's range over it (a whole number of
 * milliseconds is drawn in it, its lower end kept if it holds none), then the
 * floor, and 1 ms unless the base is zero. What `delayForRetry` draws, and the
 * bounds `preview` reports.
 */
export const spreadOf = (self: BackoffPolicy, index: number): Spread => {
  const firstMs = Duration.toMillis(self.first)
  const maxMs = Duration.toMillis(self.max)
  const floorMs = Duration.toMillis(self.floor)
  let base = 0
  if (firstMs > 0) {
    const grown = firstMs * Math.pow(self.factor, Math.max(0, index))
    base = Number.isFinite(grown) ? Math.min(grown, maxMs) : maxMs
  }
  const finish = (raw: number) => {
    const floored = Math.max(raw, floorMs)
    return base === 0 ? floored : Math.max(floored, Math.min(1, maxMs))
  }
  if (base === 0 || self.jitter === "none") return fixed(finish(base))
  const [low, high] = jitterRange(self.jitter, base, firstMs, maxMs)
  const lo = Math.ceil(low)
  const hi = Math.floor(high)
  return hi < lo
    ? fixed(finish(low))
    : { min: finish(lo), max: finish(hi), draw: Effect.map(Random.nextIntBetween(lo, hi + 1), finish) }
}

/** The range a jitter draws from around a non-zero `base`. */
const jitterRange = (
  jitter: Exclude<Jitter, "none">,
  base: number,
  firstMs: number,
  maxMs: number
): readonly [number, number] => {
  switch (jitter) {
    case "full":
      return [0, base]
    case "equal":
      return [base / 2, base]
    case "randomizedBand": {
      const lower = Math.min(firstMs, maxMs)
      return [lower, Math.max(lower, Math.min(base * 3, maxMs))]
    }
  }
}

export const delayForRetry: {
  (index: number): (self: BackoffPolicy) => Effect.Effect<Duration.Duration>
  (self: BackoffPolicy, index: number): Effect.Effect<Duration.Duration>
} = dual(2, (self: BackoffPolicy, index: number): Effect.Effect<Duration.Duration> => {
  const invalid = invalidOf(self)
  return invalid !== undefined ? Effect.die(invalid) : Effect.map(spreadOf(self, index).draw, Duration.millis)
})

/** The schedules `toSchedule` made of invalid policies, with why: a supervisor refuses them as it refuses the policy. */
const invalidSchedules = new WeakMap<Schedule.Schedule<unknown, unknown, unknown>, InvalidBackoff>()

export const invalidScheduleOf = (schedule: Schedule.Schedule<unknown, unknown, unknown>): InvalidBackoff | undefined =>
  invalidSchedules.get(schedule)

export const toSchedule = (self: BackoffPolicy): Schedule.Schedule<Duration.Duration, unknown> => {
  const schedule = Schedule.makeWithState(0, (now, _input, index) =>
    Effect.map(delayForRetry(self, index), (delay) =>
      [
        index + 1,
        delay,
        ScheduleDecision.continueWith(ScheduleInterval.after(now + Duration.toMillis(delay)))
      ] as const))
  const invalid = invalidOf(self)
  if (invalid !== undefined) invalidSchedules.set(schedule, invalid)
  return schedule
}
