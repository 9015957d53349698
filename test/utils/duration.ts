import { assert } from "@effect/vitest"
import * as Duration from "effect/Duration"

/** Assert that two durations are equal, showing both in a readable form when they are not. */
export const assertDuration = (actual: Duration.Duration, expected: Duration.DurationInput, message?: string): void => {
  const wanted = Duration.decode(expected)
  assert.isTrue(
    Duration.equals(actual, wanted),
    `${message === undefined ? "" : `${message}: `}expected ${Duration.format(wanted)}, got ${Duration.format(actual)}`
  )
}

/** Assert that `lower <= actual <= upper` (inclusive). */
export const assertDurationBetween = (
  actual: Duration.Duration,
  lower: Duration.DurationInput,
  upper: Duration.DurationInput,
  message?: string
): void => {
  const lo = Duration.decode(lower)
  const hi = Duration.decode(upper)
  assert.isTrue(
    Duration.between(actual, { minimum: lo, maximum: hi }),
    `${message === undefined ? "" : `${message}: `}expected ${Duration.format(actual)} in [${Duration.format(lo)}, ${
      Duration.format(hi)
    }]`
  )
}
