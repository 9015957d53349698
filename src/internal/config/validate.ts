/** Validation of settings: durations and counts given in code or read through `Config`. */
import * as Config from "effect/Config"
import * as ConfigErrors from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ConfigError } from "../data/supervisorError.js"
import type { Intensity } from "../primitives/restartWindow.js"

/** A finite, non-negative duration, or the reason `input` is not one. */
export const decodeDuration = (input: Duration.DurationInput): Duration.Duration | string => {
  if (typeof input === "number" && Number.isNaN(input)) return "must be a duration, got NaN"
  // Duration.decode reads a NaN in an hrtime tuple as zero
  if (Array.isArray(input) && input.some(Number.isNaN)) return `must be a duration, got ${show(input)}`
  if (isNegative(input)) return `must not be negative, got ${show(input)}`
  let decoded: Duration.Duration
  try {
    decoded = Duration.decode(input)
  } catch {
    return `must be a duration, got ${Array.isArray(input) ? show(input) : JSON.stringify(String(input))}`
  }
  return Duration.isFinite(decoded) ? decoded : "must be finite"
}

const show = (input: Duration.DurationInput): string =>
  Array.isArray(input) ? `[${input.map(String).join(", ")}]` : String(input)

// Duration.decode clamps negative input to zero; a negative setting is an error here
const isNegative = (input: Duration.DurationInput): boolean => {
  switch (typeof input) {
    case "number":
      return input < 0
    case "bigint":
      return input < BigInt(0)
    case "string":
      return input.trim().startsWith("-")
    default:
      return Array.isArray(input) && (input[0] < 0 || input[1] < 0)
  }
}

/** A finite, non-negative duration, or a ConfigError naming `field`. */
export const duration = (field: string, input: Duration.DurationInput): Duration.Duration | ConfigError => {
  const decoded = decodeDuration(input)
  return typeof decoded === "string" ? new ConfigError({ field, reason: decoded }) : decoded
}

/** A safe whole number of at least `min`, or a ConfigError naming `field`. */
export const integer = (field: string, input: number, min: number): number | ConfigError => {
  if (typeof input !== "number" || !Number.isInteger(input)) {
    return new ConfigError({ field, reason: `must be a whole number, got ${String(input)}` })
  }
  if (input < min) {
    return new ConfigError({
      field,
      reason: min === 1 ? `must be greater than zero, got ${input}` : `must be at least ${min}, got ${input}`
    })
  }
  // beyond it, numbers are no longer exact (MAX_SAFE_INTEGER + 2 reads as MAX_SAFE_INTEGER + 1)
  if (input > Number.MAX_SAFE_INTEGER) {
    return new ConfigError({ field, reason: `must be at most ${Number.MAX_SAFE_INTEGER}, got ${input}` })
  }
  return input
}

/** A positive, finite duration, or a ConfigError naming `field`. */
export const positiveDuration = (field: string, input: Duration.DurationInput): Duration.Duration | ConfigError => {
  const decoded = duration(field, input)
  return decoded instanceof ConfigError || !Duration.isZero(decoded)
    ? decoded
    : new ConfigError({ field, reason: "must be greater than zero" })
}

export type { Intensity }

/** A restart intensity (`maxRestarts`, `within`, `onExhausted`), or a ConfigError naming what is wrong with it. */
export const intensity = (field: string, input: unknown, parks: boolean): Intensity | ConfigError => {
  if (typeof input !== "object" || input === null) {
    return new ConfigError({ field, reason: "must be an object with maxRestarts and within" })
  }
  const { maxRestarts, onExhausted, within } = input as {
    readonly maxRestarts?: unknown
    readonly within?: unknown
    readonly onExhausted?: unknown
  }
  const max = integer(`${field}.maxRestarts`, maxRestarts as number, 0)
  if (max instanceof ConfigError) return max
  const window = positiveDuration(`${field}.within`, within as Duration.DurationInput)
  if (window instanceof ConfigError) return window
  if (onExhausted === undefined || onExhausted === "fail") return { maxRestarts: max, within: window, park: undefined }
  const park = parks && typeof onExhausted === "object" && onExhausted !== null && "park" in onExhausted
    ? positiveDuration(`${field}.onExhausted.park`, (onExhausted as { readonly park: Duration.DurationInput }).park)
    : new ConfigError({
      field: `${field}.onExhausted`,
      reason: parks ? `must be "fail" or { park }` : "a group's intensity gives up: only \"fail\" applies"
    })
  return park instanceof ConfigError ? park : { maxRestarts: max, within: window, park }
}

/**
 * A duration read through `Config`: Effect's duration text (`"5 seconds"`) or a
 * number of milliseconds. Decoded here rather than by `Config.duration`, which
 * reads `"-5 seconds"` as zero.
 */
export const durationConfig = (name: string, description: string): Config.Config<Duration.Duration> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const number = text.trim() === "" ? Number.NaN : Number(text)
      const decoded = decodeDuration(Number.isNaN(number) ? text as Duration.DurationInput : number)
      return typeof decoded === "string" ? Either.left(ConfigErrors.InvalidData([], decoded)) : Either.right(decoded)
    }),
    Config.withDescription(description)
  )

/**
 * A whole number of at least `min` read through `Config`. Decoded here rather
 * than by `Config.integer`, which reads an empty variable as 0.
 */
export const integerConfig = (name: string, min: number, description: string): Config.Config<number> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const number = text.trim() === "" ? Number.NaN : Number(text)
      if (Number.isNaN(number)) {
        return Either.left(ConfigErrors.InvalidData([], `must be a whole number, got ${JSON.stringify(text)}`))
      }
      const checked = integer(name, number, min)
      return checked instanceof ConfigError
        ? Either.left(ConfigErrors.InvalidData([], checked.reason))
        : Either.right(checked)
    }),
    Config.withDescription(description)
  )

/**
 * Read `config` as `Settings` under `prefix` (environment variables
 * `<PREFIX>_<NAME>` with the default provider); a bad value fails with a
 * `ConfigError` naming the field (`fields` maps a variable's suffix to it) and
 * the variable.
 */
export const fromConfig = <A>(
  config: Config.Config<A>,
  prefix: string,
  fields: Readonly<Record<string, string>>
): Effect.Effect<A, ConfigError> =>
  Effect.mapError(Config.nested(config, prefix), (error) => {
    const [path, reason] = firstProblem(error)
    const variable = path.join("_")
    return new ConfigError({ field: fields[path.slice(1).join("_")] ?? prefix, reason, variable })
  })

const firstProblem = (error: ConfigErrors.ConfigError): readonly [ReadonlyArray<string>, string] => {
  switch (error._op) {
    case "And":
    case "Or":
      return firstProblem(error.left)
    default:
      return [error.path, error.message]
  }
}

/** A boolean setting. */
export const boolean = (field: string, value: unknown): boolean | ConfigError =>
  typeof value === "boolean" ? value : new ConfigError({ field, reason: `must be true or false, got ${String(value)}` })

const autoShutdowns = ["never", "anySignificant", "allSignificant"] as const

/** When significant tasks (or a group's significant children) shut their supervisor (or group) down. */
export const autoShutdown = (field: string, value: unknown): typeof autoShutdowns[number] | ConfigError =>
  autoShutdowns.includes(value as never)
    ? value as typeof autoShutdowns[number]
    : new ConfigError({ field, reason: `must be never, anySignificant or allSignificant, got ${String(value)}` })
