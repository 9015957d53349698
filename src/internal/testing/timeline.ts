/** Timelines: a task run by a real supervisor under a `TestClock`, its attempts scripted, read back as plain data. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as TestContext from "effect/TestContext"
import { type TaskSpec, TypeId as TaskSpecTypeId, update } from "../config/taskSpec.js"
import * as validate from "../config/validate.js"
import { ConfigError } from "../data/supervisorError.js"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import { CurrentTask } from "../task/attemptControl.js"
import { advance } from "./clock.js"
import type { RecorderService } from "./recorder.js"
import { Recorder } from "./recorder.js"
import * as scripts from "./scripts.js"

/**
 * What one attempt does: `succeed`, `fail` (with an `Error` naming the
 * attempt), fail with `{ fail: error }`, `die` (a defect naming the attempt),
 * `hang` (never end by itself: until its timeout, its watchdog, or the end
 * of the run), or any step of the kit (`takes`, `ignoresInterruption`, ...).
 */
export type Step<E> = "succeed" | "fail" | "die" | "hang" | { readonly fail: E } | scripts.Step<unknown, E>

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
  /** What records its events. */
  readonly recorder: RecorderService
  /** Admit `spec`; what awaits its outcome. */
  readonly add: (
    spec: TaskSpec<unknown, never>
  ) => Effect.Effect<Effect.Effect<TaskOutcome.TaskOutcome<unknown>>, ConfigError>
  /** Stop the task named `name`. */
  readonly cancel: (name: string) => Effect.Effect<void>
}

/** A supervisor with a recorder, in a scope, or why its config is refused. */
export type Supervise = Effect.Effect<Supervisor, ConfigError, Scope.Scope>

const steps: ReadonlySet<unknown> = new Set(["succeed", "fail", "die", "hang"])

/** The attempts' script checked: a non-empty list of steps. */
const checkHistory = <E>(history: ReadonlyArray<Step<E>>): ConfigError | undefined => {
  if (!Array.isArray(history) || history.length === 0) {
    return new ConfigError({ field: "history", reason: "must be a non-empty array of steps" })
  }
  const bad = history.findIndex((step) =>
    !steps.has(step) && !Predicate.hasProperty(step, "fail") && !Effect.isEffect(step)
  )
  return bad < 0 ? undefined : new ConfigError({
    field: `history[${bad}]`,
    reason: "must be succeed, fail, die, hang, { fail: error } or a step of the kit"
  })
}

/** What attempt `attempt` runs for its step: the kit's step its shorthand names. */
const perform = (step: Step<unknown>, attempt: number): scripts.Step<unknown, unknown> => {
  switch (step) {
    case "succeed":
      return scripts.succeed()
    case "fail":
      return scripts.fail(new Error(`attempt ${attempt} failed`))
    case "die":
      return scripts.die(new Error(`attempt ${attempt} died`))
    case "hang":
      return scripts.hang
    default:
      return Effect.isEffect(step) ? step : scripts.fail(step.fail)
  }
}

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
    // in a fiber of its own, awaited (not joined): its TestContext's clock stays its own, the caller's is untouched
    return Effect.scoped(drive(supervise, spec, history, maxAttempts, limit)).pipe(
      Effect.map(({ events, outcome, stopped }) => read(events, spec.name, outcome, stopped, maxAttempts)),
      Effect.provide(TestContext.TestContext),
      Effect.fork,
      Effect.flatMap(Fiber.await),
      Effect.flatten
    )
  })

/** The run: its events, what the task ended with, and why the run stopped it if it did. */
const drive = <E>(
  supervise: Supervise,
  spec: TaskSpec<E, unknown>,
  history: ReadonlyArray<Step<E>>,
  maxAttempts: number,
  limit: Duration.Duration
): Effect.Effect<
  {
    readonly events: ReadonlyArray<SupervisorEvent>
    readonly outcome: TaskOutcome.TaskOutcome<unknown>
    readonly stopped: Stopped | undefined
  },
  ConfigError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const supervisor = yield* supervise
    let started = 0
    const body = Effect.flatMap(CurrentTask, ({ attempt }) => {
      started = attempt
      return attempt > maxAttempts ? scripts.hang : perform(history[Math.min(attempt, history.length) - 1], attempt)
    })
    // what the spec requires (its retry schedule may) the caller of `timeline` provides, as it would to `add`
    const awaitOutcome = yield* supervisor.add(update<unknown, never>(spec, { effect: body }))
    const outcome = yield* Effect.fork(awaitOutcome)
    const done = () => outcome.unsafePoll() !== null
    // the clock moves from one timer to the next until the task has ended or is to run once too often
    const until = (what: string, holds: () => boolean, limit: number) =>
      Effect.provideService(
        advance(what, () => holds() || undefined, { limit, step: undefined }),
        Recorder,
        supervisor.recorder
      )
    const stopped: Stopped | undefined = yield* until(
      "the end of the timeline",
      () => done() || started > maxAttempts,
      Duration.toMillis(limit)
    ).pipe(
      Effect.map((): Stopped | undefined => done() ? undefined : "MaxAttempts"),
      Effect.catchTag("AdvanceTimeout", (timeout) => Effect.succeed(timeout.stopped)),
      Effect.orDie
    )
    if (stopped !== undefined) {
      // the stop runs on the run's clock too: a step that ignores interruption winds down, the grace may run out
      const stopping = yield* Effect.fork(supervisor.cancel(spec.name))
      yield* Effect.orDie(until("the end of the stopped task", done, Infinity))
      yield* Fiber.join(stopping)
    }
    return { events: supervisor.recorder.unsafeEvents(), outcome: yield* Fiber.join(outcome), stopped }
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
