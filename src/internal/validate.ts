import * as Duration from "effect/Duration"
import { ConfigError } from "../SupervisorError.js"

/** A finite, non-negative duration, or a ConfigError naming `field`. */
export const duration = (field: string, input: Duration.DurationInput): Duration.Duration | ConfigError => {
  if (typeof input === "number") {
    if (Number.isNaN(input)) return new ConfigError({ field, reason: "must be a duration, got NaN" })
    if (input < 0) return new ConfigError({ field, reason: `must not be negative, got ${input}` })
  }
  if (typeof input === "bigint" && input < BigInt(0)) {
    return new ConfigError({ field, reason: `must not be negative, got ${input}` })
  }
  let decoded: Duration.Duration
  try {
    decoded = Duration.decode(input)
  } catch {
    return new ConfigError({ field, reason: `must be a duration, got ${JSON.stringify(String(input))}` })
  }
  if (!Duration.isFinite(decoded)) return new ConfigError({ field, reason: "must be finite" })
  return decoded
}

/** A whole number of at least `min`, or a ConfigError naming `field`. */
export const integer = (field: string, input: number, min: number): number | ConfigError => {
  if (typeof input !== "number" || !Number.isSafeInteger(input)) {
    return new ConfigError({ field, reason: `must be a whole number, got ${String(input)}` })
  }
  if (input < min) {
    return new ConfigError({
      field,
      reason: min === 1 ? `must be greater than zero, got ${input}` : `must be at least ${min}, got ${input}`
    })
  }
  return input
}
