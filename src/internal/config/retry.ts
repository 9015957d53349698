/** A task's retry setting checked, a `BackoffPolicy` or a `Schedule`, as the schedule it runs and its initial state. */
import * as Schedule from "effect/Schedule"
import { ConfigError } from "../data/supervisorError.js"
import * as BackoffPolicy from "./backoffPolicy.js"
import type { Retry } from "./taskSpec.js"

/** The schedule a retry setting runs, and its initial state, read once. */
export interface Runnable {
  readonly schedule: Schedule.Schedule<unknown, unknown, unknown>
  readonly initial: unknown
}

/** One per backoff policy, shared by every task that uses it. */
const ofPolicies = new WeakMap<BackoffPolicy.BackoffPolicy, Runnable>()

const ofPolicy = (policy: BackoffPolicy.BackoffPolicy): Runnable => {
  let runnable = ofPolicies.get(policy)
  if (runnable === undefined) {
    const schedule = BackoffPolicy.toSchedule(policy)
    runnable = { schedule, initial: schedule.initial }
    ofPolicies.set(policy, runnable)
  }
  return runnable
}

/**
 * What a retry setting runs, or why it cannot run: a value that is neither a
 * `BackoffPolicy` nor a `Schedule` (a cast), a policy built from an invalid
 * value (or its `toSchedule`), or a schedule whose initial state cannot be read.
 */
export const runnableOf = (retry: unknown): Runnable | string => {
  if (BackoffPolicy.isBackoffPolicy(retry)) {
    const invalid = BackoffPolicy.invalidOf(retry)
    return invalid === undefined ? ofPolicy(retry) : invalid.reason
  }
  if (!Schedule.isSchedule(retry)) return "must be a BackoffPolicy or a Schedule"
  const invalid = BackoffPolicy.invalidScheduleOf(retry as Schedule.Schedule<unknown, unknown, unknown>)
  if (invalid !== undefined) return invalid.reason
  try {
    return { schedule: retry as Schedule.Schedule<unknown, unknown, unknown>, initial: retry.initial }
  } catch {
    return "the retry schedule's initial state cannot be read"
  }
}

/** A retry setting a supervisor can run (see `runnableOf`), or a `ConfigError` naming `field`. */
export const check = (field: string, retry: unknown): Retry | ConfigError => {
  const runnable = runnableOf(retry)
  return typeof runnable === "string" ? new ConfigError({ field, reason: runnable }) : retry as Retry
}
