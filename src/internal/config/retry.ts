/** A task's retry setting checked, as the schedule it runs; what that schedule decides; a backoff policy's preview. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import { ConfigError } from "../data/supervisorError.js"
import * as BackoffPolicy from "./backoffPolicy.js"
import type { Retry } from "./taskSpec.js"
import * as validate from "./validate.js"

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

/** The retry schedule's next state and delay in milliseconds (`Infinity`: wait for ever), or `undefined` when done. */
export type Decision = readonly [state: unknown, delay: number] | undefined

/** What a schedule's answer at `now` decides; an answer that is not a decision, or a NaN delay, throws. */
const decide = (
  now: number,
  [state, , decision]: readonly [unknown, unknown, ScheduleDecision.ScheduleDecision]
): Decision => {
  if (ScheduleDecision.isDone(decision)) return undefined
  const delay = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
  if (Number.isNaN(delay)) throw new Error("it asked for an invalid delay (NaN ms)")
  return [state, delay]
}

/**
 * Ask `schedule`, from `state`, when to retry after `input` failed at `now`
 * (the clock's milliseconds): what the actor runs after each failure, and
 * `preview` after each of its steps. A schedule that throws, or answers with
 * something that is not a decision, dies with it.
 */
export const next = (
  schedule: Schedule.Schedule<unknown, unknown, unknown>,
  now: number,
  input: unknown,
  state: unknown
): Effect.Effect<Decision, unknown, unknown> =>
  Effect.map(Effect.suspend(() => schedule.step(now, input, state)), (answer) => decide(now, answer))

/** One delay of a backoff policy's preview. */
export interface Delay {
  /** The attempt it follows (from 1), as its `BackoffScheduled` event says. */
  readonly attempt: number
  /** The delay drawn. */
  readonly delay: Duration.Duration
  /** The least and the greatest delay the policy's jitter can draw there. */
  readonly min: Duration.Duration
  readonly max: Duration.Duration
}

/** The most delays a preview gives: each is a step of the schedule and an object, so a bound keeps it to a test's size. */
const maxPreview = 100_000

export const preview: {
  (n: number): (self: BackoffPolicy.BackoffPolicy) => Effect.Effect<ReadonlyArray<Delay>, ConfigError>
  (self: BackoffPolicy.BackoffPolicy, n: number): Effect.Effect<ReadonlyArray<Delay>, ConfigError>
} = dual(
  2,
  (self: BackoffPolicy.BackoffPolicy, n: number): Effect.Effect<ReadonlyArray<Delay>, ConfigError> =>
    Effect.suspend(() => {
      const runnable = BackoffPolicy.isBackoffPolicy(self) ? runnableOf(self) : "must be a BackoffPolicy"
      if (typeof runnable === "string") return Effect.fail(new ConfigError({ field: "policy", reason: runnable }))
      const count = validate.integer("n", n, 0)
      if (count instanceof ConfigError) return Effect.fail(count)
      if (count > maxPreview) {
        return Effect.fail(new ConfigError({ field: "n", reason: `must be at most ${maxPreview}, got ${count}` }))
      }
      return Effect.gen(function*() {
        const delays: Array<Delay> = []
        let state = runnable.initial
        for (let index = 0; index < count; index++) {
          // asked at time zero, as a policy's delays do not depend on when; its schedule never ends
          const [after, delay] = (yield* next(runnable.schedule, 0, undefined, state) as Effect.Effect<Decision>)!
          state = after
          const { max, min } = BackoffPolicy.spreadOf(self, index)
          delays.push({
            attempt: index + 1,
            delay: Duration.millis(delay),
            min: Duration.millis(min),
            max: Duration.millis(max)
          })
        }
        return delays
      })
    })
)
