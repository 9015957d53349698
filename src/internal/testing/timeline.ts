/** Timelines: a task run by a real supervisor under a `TestClock`, its attempts scripted, read back as plain data. */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { type TaskSpec, TypeId as TaskSpecTypeId, update } from "../config/taskSpec.js"
import * as validate from "../config/validate.js"
import { ConfigError } from "../data/supervisorError.js"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import { CurrentTask } from "../task/attemptControl.js"

/**
 * What one attempt does: `succeed`, `fail` (with an `Error` naming the
 * attempt), fail with `{ fail: error }`, `die` (a defect naming the attempt),
 * or `hang` (never end by itself: until its timeout, its watchdog, or the end
 * of the run).
 */
export type Step<E> = "succeed" | "fail" | "die" | "hang" | { readonly fail: E }

export interface Options {
  /** How long the run may last on its clock; past it the task is stopped (default: no limit). */
  readonly limit?: Duration.DurationInput | undefined
  /** The most attempts the run lets start; the next one is not run, the task is stopped (default 100). */
  readonly maxAttempts?: number | undefined
}

/** How an attempt ended, as its event says. */
export type Ended = "Succeeded" | "Failed" | "TimedOut" | "Stalled" | "Canceled"

/** One attempt of a timeline; times are the run's clock in milliseconds, from 0. */
export interface Attempt {
  readonly attempt: number
  readonly startedAt: number
  /** `undefined`: it still ran when the run ended (as it cannot after the task was stopped). */
  readonly endedAt: number | undefined
  readonly ended: Ended | undefined
  /** Why it failed (its `AttemptFailed`'s reason). */
  readonly reason: string | undefined
  /** The delay scheduled after it (its `BackoffScheduled`), if the task was to go on. */
  readonly delay: Duration.Duration | undefined
}

/** Why the run stopped the task: it outlived `limit`, was to start attempt `maxAttempts + 1`, or hung with no timer left. */
export type Stopped = "Limit" | "MaxAttempts" | "Idle"

export interface Timeline {
  readonly attempts: ReadonlyArray<Attempt>
  /** The task's outcome: `Canceled` when the run stopped it. */
  readonly outcome: TaskOutcome.TaskOutcome<unknown>
  /** When the task ended. */
  readonly endedAt: number
  /** Why the run stopped the task; `undefined`: it ended by itself. */
  readonly stopped: Stopped | undefined
  /** When the supervisor gave up on the task (its outcome `Failed` or `Fatal`): after which attempt, and why. */
  readonly gaveUp: { readonly at: number; readonly attempt: number; readonly reason: string } | undefined
}

/** The supervisor a timeline runs its task in, built by the public module from the public layers. */
export interface Supervisor {
  /** Admit `spec`; what awaits its outcome. */
  readonly add: (
    spec: TaskSpec<unknown, never>
  ) => Effect.Effect<Effect.Effect<TaskOutcome.TaskOutcome<unknown>>, ConfigError>
  /** Stop the task named `name`. */
  readonly cancel: (name: string) => Effect.Effect<void>
}

/** A supervisor that tells `onEvent` every event, in a scope, or why its config is refused. */
export type Supervise = (
  onEvent: (event: SupervisorEvent) => void
) => Effect.Effect<Supervisor, ConfigError, Scope.Scope>

const steps: ReadonlySet<unknown> = new Set(["succeed", "fail", "die", "hang"])

/** The attempts' script checked: a non-empty list of steps. */
const checkHistory = <E>(history: ReadonlyArray<Step<E>>): ConfigError | undefined => {
  if (!Array.isArray(history) || history.length === 0) {
    return new ConfigError({ field: "history", reason: "must be a non-empty array of steps" })
  }
  const bad = history.findIndex((step) => !steps.has(step) && !Predicate.hasProperty(step, "fail"))
  return bad < 0 ? undefined : new ConfigError({
    field: `history[${bad}]`,
    reason: "must be succeed, fail, die, hang or { fail: error }"
  })
}

/** What attempt `attempt` runs for its step. */
const perform = (step: Step<unknown>, attempt: number): Effect.Effect<void, unknown> => {
  switch (step) {
    case "succeed":
      return Effect.void
    case "fail":
      return Effect.fail(new Error(`attempt ${attempt} failed`))
    case "die":
      return Effect.die(new Error(`attempt ${attempt} died`))
    case "hang":
      return Effect.never
    default:
      return Effect.fail(step.fail)
  }
}

/** Consecutive yields with nothing moving after which every fiber of the run waits on the clock or for ever. */
const quiet = 16

/**
 * Run `spec` once in a supervisor of its own (`supervise`) on a fresh
 * `TestClock`, attempt `n` doing `history[n - 1]` (past its end, its last
 * step), moving the clock from one timer to the next, and read its timeline
 * off the events. Past `maxAttempts` attempts, past `limit`, or when it waits
 * with no timer left (a hanging attempt with no timeout), it is stopped.
 */
export const timeline = <E>(
  supervise: Supervise,
  spec: TaskSpec<E, unknown>,
  history: ReadonlyArray<Step<E>>,
  options: Options | undefined
): Effect.Effect<Timeline, ConfigError> =>
  Effect.suspend(() => {
    if (!Predicate.hasProperty(spec, TaskSpecTypeId) || spec.group !== undefined) {
      return Effect.fail(new ConfigError({ field: "spec", reason: "must be the spec of a task that is not a group" }))
    }
    const refused = checkHistory(history)
    if (refused !== undefined) return Effect.fail(refused)
    const maxAttempts = validate.integer("maxAttempts", options?.maxAttempts ?? 100, 1)
    if (maxAttempts instanceof ConfigError) return Effect.fail(maxAttempts)
    const limit = options?.limit === undefined ? Duration.infinity : validate.duration("limit", options.limit)
    if (limit instanceof ConfigError) return Effect.fail(limit)
    const events: Array<SupervisorEvent> = []
    // read once the supervisor has shut down: its subscribers drained, every event is in
    return Effect.scoped(drive(supervise, events, spec, history, maxAttempts, Duration.toMillis(limit))).pipe(
      Effect.map(({ outcome, stopped }) => read(events, spec.name, outcome, stopped, maxAttempts)),
      Effect.provide(TestContext.TestContext)
    )
  })

/** The run: what the task ended with, and why the run stopped it if it did. */
const drive = <E>(
  supervise: Supervise,
  events: Array<SupervisorEvent>,
  spec: TaskSpec<E, unknown>,
  history: ReadonlyArray<Step<E>>,
  maxAttempts: number,
  limit: number
): Effect.Effect<
  { readonly outcome: TaskOutcome.TaskOutcome<unknown>; readonly stopped: Stopped | undefined },
  ConfigError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const supervisor = yield* supervise((event) => void events.push(event))
    let started = 0
    const body = Effect.flatMap(CurrentTask, ({ attempt }) => {
      started = attempt
      return attempt > maxAttempts ? Effect.never : perform(history[Math.min(attempt, history.length) - 1], attempt)
    })
    // what the spec requires (its retry schedule may) the caller of `timeline` provides, as it would to `add`
    const awaitOutcome = yield* supervisor.add(update<unknown, never>(spec, { effect: body }))
    const outcome = yield* Effect.fork(awaitOutcome)
    const done = () => outcome.unsafePoll() !== null
    // every fiber of the run has gone as far as it can without the clock: what it has done, the outcome and the
    // timers stay the same over `quiet` yields in a row
    const settle = Effect.gen(function*() {
      let last = ""
      for (let still = 0; still < quiet;) {
        const sleeps = yield* TestClock.sleeps()
        const seen = `${events.length} ${started} ${done()} ${Chunk.join(Chunk.map(sleeps, String), ",")}`
        still = seen === last ? still + 1 : 0
        last = seen
        yield* Effect.yieldNow()
      }
    })
    let stopped: Stopped | undefined
    while (stopped === undefined) {
      yield* settle
      if (done()) break
      if (started > maxAttempts) {
        stopped = "MaxAttempts"
        break
      }
      const next = Chunk.reduce(yield* TestClock.sleeps(), Infinity, (min, at) => Math.min(min, at))
      if (next === Infinity) {
        stopped = "Idle"
      } else if (next > limit) {
        stopped = "Limit"
        yield* TestClock.setTime(limit)
      } else {
        yield* TestClock.setTime(next)
      }
    }
    if (stopped !== undefined) yield* supervisor.cancel(spec.name)
    return { outcome: yield* Fiber.join(outcome), stopped }
  })

/** The timeline of the task named `name`, from the events of its run. */
const read = (
  events: ReadonlyArray<SupervisorEvent>,
  name: string,
  outcome: TaskOutcome.TaskOutcome<unknown>,
  stopped: Stopped | undefined,
  maxAttempts: number
): Timeline => {
  const attempts: Array<{ -readonly [K in keyof Attempt]: Attempt[K] }> = []
  let endedAt = 0
  const end = (attempt: number, at: number, ended: Ended, reason: string | undefined) => {
    const line = attempts[attempt - 1]
    if (line === undefined) return
    line.endedAt = at
    line.ended = ended
    line.reason = reason
  }
  for (const event of events) {
    if (!("task" in event) || event.task !== name) continue
    switch (event._tag) {
      case "AttemptStarting":
        if (event.attempt <= maxAttempts) {
          attempts.push({
            attempt: event.attempt,
            startedAt: event.at,
            endedAt: undefined,
            ended: undefined,
            reason: undefined,
            delay: undefined
          })
        }
        break
      case "AttemptSucceeded":
        end(event.attempt, event.at, "Succeeded", undefined)
        break
      case "AttemptFailed":
        end(event.attempt, event.at, "Failed", event.reason)
        break
      case "AttemptTimedOut":
        end(event.attempt, event.at, "TimedOut", undefined)
        break
      case "AttemptStalled":
        end(event.attempt, event.at, "Stalled", undefined)
        break
      case "AttemptCanceled":
        end(event.attempt, event.at, "Canceled", undefined)
        break
      case "BackoffScheduled": {
        const line = attempts[event.attempt - 1]
        if (line !== undefined) line.delay = event.delay
        break
      }
      case "TaskFinished":
        endedAt = event.at
        break
    }
  }
  const reason = TaskOutcome.reason(outcome)
  return {
    attempts,
    outcome,
    endedAt,
    stopped,
    gaveUp: (outcome._tag === "Failed" || outcome._tag === "Fatal") && reason !== undefined
      ? { at: endedAt, attempt: attempts.length, reason }
      : undefined
  }
}
