/** Stepping the TestClock: letting fibers run, and moving time until what a test awaits has happened, bounded. */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as validate from "../config/validate.js"
import { ConfigError } from "../data/supervisorError.js"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { TaskHandle } from "../task/taskHandle.js"
import { AdvanceTimeout, ConditionFailed } from "./errors.js"
import { line, Recorder } from "./recorder.js"

/**
 * Let every runnable fiber run until it suspends, without moving the clock. The supervisor's fibers are not children
 * of the test's, so yielding is what lets them run.
 */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 25; i++) yield* Effect.yieldNow()
})

export interface AdvanceOptions {
  /** How far each step moves the clock; by default, to the next time a fiber sleeps until. */
  readonly step?: Duration.DurationInput | undefined
  /** How far the clock may move in all before giving up with `AdvanceTimeout` (default 1 hour). */
  readonly limit?: Duration.DurationInput | undefined
}

/** Steps past which a zero-delay loop is given up on, wherever the clock is (each step costs the TestClock a turn of the event loop). */
const maxSteps = 10_000

/** How `advance` moves the clock, in milliseconds: each `step` (`undefined`: to the next wake-up), `limit` in all. */
export interface Bounds {
  readonly step: number | undefined
  readonly limit: number
}

/** The options read: a `limit` (1 hour by default) and a `step` (none by default) that are durations, `step` above zero. */
const boundsOf = (options: AdvanceOptions | undefined): Bounds | ConfigError => {
  const limit = validate.duration("limit", options?.limit ?? "1 hour")
  if (limit instanceof ConfigError) return limit
  if (options?.step === undefined) return { step: undefined, limit: Duration.toMillis(limit) }
  const step = validate.duration("step", options.step)
  if (step instanceof ConfigError) return step
  return Duration.toMillis(step) > 0
    ? { step: Duration.toMillis(step), limit: Duration.toMillis(limit) }
    : new ConfigError({ field: "step", reason: "must be longer than zero" })
}

/**
 * Settle, then step the clock and settle until `found` gives a value (the events recorded so far in hand), at most
 * `limit` of clock time; `AdvanceTimeout`, naming `what` and listing the events, past it or when nothing is scheduled.
 */
export const advance = <A>(
  what: string,
  found: (events: ReadonlyArray<SupervisorEvent>) => A | undefined | ConditionFailed,
  { limit, step }: Bounds
): Effect.Effect<A, AdvanceTimeout | ConditionFailed, Recorder> =>
  Effect.gen(function*() {
    const recorder = yield* Recorder
    const start = yield* TestClock.currentTimeMillis
    const timeout = (elapsed: number, stopped: "Limit" | "Idle") =>
      new AdvanceTimeout({ what, elapsed, stopped, seen: recorder.unsafeEvents().map(line) })
    yield* settle
    for (let steps = 0;; steps++) {
      const result = found(recorder.unsafeEvents())
      if (result instanceof ConditionFailed) return yield* result
      if (result !== undefined) return result
      const now = yield* TestClock.currentTimeMillis
      const elapsed = now - start
      if (elapsed >= limit || steps >= maxSteps) return yield* timeout(elapsed, "Limit")
      // with no fiber asleep, nothing can happen however far the clock moves
      const wakeups = yield* TestClock.sleeps()
      if (Chunk.isEmpty(wakeups)) return yield* timeout(elapsed, "Idle")
      const by = step ?? Math.max(0, Math.min(...Chunk.toReadonlyArray(wakeups)) - now)
      yield* TestClock.adjust(Math.min(by, limit - elapsed))
      yield* settle
    }
  })

/** `advance` with the options given, once they are read. */
const advanceFor = <A>(
  what: string,
  found: (events: ReadonlyArray<SupervisorEvent>) => A | undefined | ConditionFailed,
  options: AdvanceOptions | undefined
): Effect.Effect<A, AdvanceTimeout | ConditionFailed | ConfigError, Recorder> => {
  const bounds = boundsOf(options)
  return bounds instanceof ConfigError ? Effect.fail(bounds) : advance(what, found, bounds)
}

export const advanceUntil = (
  condition: (events: ReadonlyArray<SupervisorEvent>) => boolean,
  options?: AdvanceOptions & { readonly what?: string | undefined }
): Effect.Effect<ReadonlyArray<SupervisorEvent>, AdvanceTimeout | ConditionFailed | ConfigError, Recorder> => {
  const what = options?.what ?? "the condition"
  return advanceFor(what, (events) => {
    try {
      return condition(events) ? events.slice() : undefined
    } catch (cause) {
      return new ConditionFailed({ what, cause })
    }
  }, options)
}

/** The `TaskFinished` of the task with this handle, or of the latest task added with this name. */
const finishOf = (events: ReadonlyArray<SupervisorEvent>, target: TaskHandle<unknown> | string) => {
  let id = typeof target === "string" ? undefined : target.id
  for (let i = events.length - 1; id === undefined && i >= 0; i--) {
    const e = events[i]
    if (e._tag === "TaskAdded" && e.task === target) id = e.id
  }
  if (id === undefined) return undefined
  const finished = events.find((e) => e._tag === "TaskFinished" && e.id === id)
  return finished?._tag === "TaskFinished" ? finished : undefined
}

export const awaitOutcome: {
  <E>(
    handle: TaskHandle<E>,
    options?: AdvanceOptions
  ): Effect.Effect<TaskOutcome<E>, AdvanceTimeout | ConfigError, Recorder>
  (name: string, options?: AdvanceOptions): Effect.Effect<TaskOutcome<unknown>, AdvanceTimeout | ConfigError, Recorder>
} = (target: TaskHandle<unknown> | string, options?: AdvanceOptions) =>
  Effect.flatMap(
    advanceFor(
      `the outcome of ${typeof target === "string" ? target : `${target.name} (#${target.id})`}`,
      (events) => finishOf(events, target),
      options
    ) as Effect.Effect<{ readonly outcome: TaskOutcome<unknown> }, AdvanceTimeout | ConfigError, Recorder>,
    (finished) => typeof target === "string" ? Effect.succeed(finished.outcome) : target.await
  )
