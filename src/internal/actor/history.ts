/** A task's crash history: how its last attempt ended, and its last failures, oldest first. */
import type { AttemptResult } from "../events/metrics.js"
import type { ActorDetails, Failure, LastAttempt } from "../task/task.js"

/** How many failures a task's crash history keeps. */
const historySize = 10

/** Kept from a task's first attempt's end. */
export class History {
  private last: LastAttempt | undefined = undefined
  private failures: Array<Failure> | undefined = undefined

  /** Attempt `attempt` ended at `at` (with `reason`: it failed). */
  record(result: AttemptResult, at: number, attempt: number, reason: string | undefined, exitCode: number | undefined) {
    this.last = { result, reason, at }
    if (reason === undefined) return
    const failures = this.failures ??= []
    if (failures.length === historySize) failures.shift()
    failures.push({ at, attempt, reason, exitCode })
  }

  /** What `inspect` reports of it, beside when the running attempt started. */
  details(attemptStartedAt: number | undefined): ActorDetails {
    return {
      attemptStartedAt,
      last: this.last,
      failures: this.failures === undefined ? [] : this.failures.slice()
    }
  }
}

/** The details of a task none of whose attempts ended yet. */
export const noHistory = (attemptStartedAt: number | undefined): ActorDetails => ({
  attemptStartedAt,
  last: undefined,
  failures: []
})
