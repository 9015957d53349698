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

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: BackoffPolicy) {
    return {
      _id: "BackoffPolicy",
      first: this.first.toJSON(),
      max: this.max.toJSON(),
      factor: this.factor,
      jitter: this.jitter,
      floor: this.floor.toJSON()
    }
  }
}

const unsafeBuild = (
  fields: Omit<BackoffPolicy, TypeId | "pipe" | "toJSON" | "toString" | typeof Inspectable.NodeInspectSymbol>
) => Object.assign(Object.create(Proto), fields) as BackoffPolicy

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
  if (!jitters.includes(jitter)) {
    return new InvalidBackoff({ reason: `unknown jitter '${String(jitter)}'` })
  }
  return unsafeBuild({ first, max, factor, jitter, floor: Duration.zero })
}

const jitters: ReadonlyArray<Jitter> = ["none", "full", "equal", "randomizedBand"]

const decodeDuration = (field: string, input: Duration.DurationInput): Duration.Duration | InvalidBackoff => {
  const decoded = validation.decodeDuration(input)
  return typeof decoded === "string" ? new InvalidBackoff({ reason: `${field} ${decoded}` }) : decoded
}

// the builders return a policy, so like `unsafeMake` they throw: a negative or NaN delay must not become a zero one
const unsafeDecodeDuration = (field: string, input: Duration.DurationInput): Duration.Duration => {
  const decoded = decodeDuration(field, input)
  if (decoded instanceof InvalidBackoff) throw decoded
  return decoded
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

export const exponential = (first: Duration.DurationInput): BackoffPolicy => {
  const d = unsafeDecodeDuration("first", first)
  return unsafeBuild({ first: d, max: Duration.max(d, thirtySeconds), factor: 2, jitter: "none", floor: Duration.zero })
}

export const constant = (delay: Duration.DurationInput): BackoffPolicy => {
  const d = unsafeDecodeDuration("delay", delay)
  return unsafeBuild({ first: d, max: Duration.max(d, thirtySeconds), factor: 1, jitter: "none", floor: Duration.zero })
}

export const defaultPolicy: BackoffPolicy = unsafeBuild({
  first: Duration.millis(200),
  max: thirtySeconds,
  factor: 2,
  jitter: "equal",
  floor: Duration.zero
})

export const withMax: {
  (max: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy
} = dual(2, (self: BackoffPolicy, max: Duration.DurationInput): BackoffPolicy => {
  const m = unsafeDecodeDuration("max", max)
  return unsafeBuild({
    ...fieldsOf(self),
    max: m,
    first: Duration.min(self.first, m),
    floor: Duration.min(self.floor, m)
  })
})

export const withJitter: {
  (jitter: Jitter): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, jitter: Jitter): BackoffPolicy
} = dual(2, (self: BackoffPolicy, jitter: Jitter): BackoffPolicy => unsafeBuild({ ...fieldsOf(self), jitter }))

export const withFloor: {
  (floor: Duration.DurationInput): (self: BackoffPolicy) => BackoffPolicy
  (self: BackoffPolicy, floor: Duration.DurationInput): BackoffPolicy
} = dual(
  2,
  (self: BackoffPolicy, floor: Duration.DurationInput): BackoffPolicy =>
    unsafeBuild({ ...fieldsOf(self), floor: Duration.min(unsafeDecodeDuration("floor", floor), self.max) })
)

const fieldsOf = (self: BackoffPolicy) => ({
  first: self.first,
  max: self.max,
  factor: self.factor,
  jitter: self.jitter,
  floor: self.floor
})

/** A whole number of milliseconds drawn uniformly from `[low, high]`, or `low` if the range holds none. */
const uniform = (low: number, high: number): Effect.Effect<number> => {
  const lo = Math.ceil(low)
  const hi = Math.floor(high)
  return hi < lo ? Effect.succeed(low) : Random.nextIntBetween(lo, hi + 1)
}

export const delayForRetry: {
  (index: number): (self: BackoffPolicy) => Effect.Effect<Duration.Duration>
  (self: BackoffPolicy, index: number): Effect.Effect<Duration.Duration>
} = dual(2, (self: BackoffPolicy, index: number): Effect.Effect<Duration.Duration> => {
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
    return Duration.millis(base === 0 ? floored : Math.max(floored, Math.min(1, maxMs)))
  }
  if (base === 0) return Effect.succeed(finish(0))
  switch (self.jitter) {
    case "none":
      return Effect.succeed(finish(base))
    case "full":
      return Effect.map(uniform(0, base), finish)
    case "equal":
      return Effect.map(uniform(base / 2, base), finish)
    case "randomizedBand": {
      const lower = Math.min(firstMs, maxMs)
      const upper = Math.max(lower, Math.min(base * 3, maxMs))
      return Effect.map(uniform(lower, upper), finish)
    }
  }
})

export const toSchedule = (self: BackoffPolicy): Schedule.Schedule<Duration.Duration, unknown> =>
  Schedule.makeWithState(0, (now, _input, index) =>
    Effect.map(delayForRetry(self, index), (delay) =>
      [
        index + 1,
        delay,
        ScheduleDecision.continueWith(ScheduleInterval.after(now + Duration.toMillis(delay)))
      ] as const))
