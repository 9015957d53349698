/** When a stop that asks first forces its end (SIGKILL, `terminate()`): its own delay, bounded by the grace. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { grace } from "../task/attemptControl.js"

/** The delay when no grace bounds it (an attempt run outside a supervisor) and the task sets none. */
const unbounded = Duration.seconds(5)

/**
 * How long a stop waits after it asked before it forces: `after` (or, when
 * `undefined`, as long as it may), at most the supervisor's grace less
 * `margin` of it, left for the forced end to complete within the grace.
 */
export const forceAfter = (
  after: Duration.Duration | undefined,
  margin: (grace: Duration.Duration) => Duration.Duration
): Effect.Effect<Duration.Duration> =>
  Effect.map(grace, (bound) => {
    if (bound === undefined) return after ?? unbounded
    const latest = Duration.subtract(bound, margin(bound))
    return after === undefined ? latest : Duration.min(after, latest)
  })
