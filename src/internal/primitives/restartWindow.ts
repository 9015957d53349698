/** OTP's restart intensity: the restarts within a sliding window, counted as they happen. */
import * as Duration from "effect/Duration"

/** A restart intensity as the retry loop and a group use it. */
export interface Intensity {
  readonly maxRestarts: number
  readonly within: Duration.Duration
  /** How long a task that exceeded it waits between tries; `undefined`: it gives up. */
  readonly park: Duration.Duration | undefined
}

/**
 * The times of the recent restarts of one task (or of one group's children).
 * As OTP's supervisor counts them, a restart exactly `within` ago still
 * counts, one a millisecond older no longer does, and the restart being
 * recorded counts too: `maxRestarts` restarts in a window are allowed, one
 * more is not.
 */
export class RestartWindow {
  private times: Array<number> = []
  private readonly within: number

  constructor(readonly intensity: Intensity) {
    this.within = Duration.toMillis(intensity.within)
  }

  /** Record a restart at `now`: the number of restarts in the window if that is more than allowed. */
  exceeded(now: number): number | undefined {
    const threshold = now - this.within
    const times = this.times.filter((time) => time >= threshold)
    times.push(now)
    // the window never needs more than one restart beyond the limit
    this.times = times.length > this.intensity.maxRestarts + 1 ? times.slice(1) : times
    return times.length > this.intensity.maxRestarts ? times.length : undefined
  }

  clear(): void {
    this.times = []
  }

  /** How the window is named in a reason: `4 restarts within 5s`. */
  describe(restarts: number): string {
    return `${restarts} restarts within ${Duration.format(this.intensity.within)}`
  }
}
