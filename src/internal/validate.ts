import * as Duration from "effect/Duration"
import { ConfigError } from "../SupervisorError.js"

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
