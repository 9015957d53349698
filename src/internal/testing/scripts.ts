/** Scripted task bodies: what each attempt of a task does, step by step, on the TestClock. */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { CurrentTask, progress as reportProgress } from "../task/attemptControl.js"
import { ScriptedExit } from "./errors.js"

/** What one attempt does: any effect; the constructors below build the usual ones. */
export type Step<A = unknown, E = unknown, R = never> = Effect.Effect<A, E, R>

export const succeed: {
  (): Step<void, never>
  <A>(value: A): Step<A, never>
} = (value?: unknown) => Effect.succeed(value) as Step<any, never>

export const fail = <E>(error: E): Step<never, E> => Effect.fail(error)

export const die = (defect: unknown): Step<never, never> => Effect.die(defect)

export const hang: Step<never, never> = Effect.never

export const exitCode = (code: number): Step<never, ScriptedExit> =>
  Number.isInteger(code) && code >= 1 && code <= 255
    ? Effect.fail(new ScriptedExit({ exitCode: code }))
    : Effect.dieMessage(`Testing.exitCode needs an exit code from 1 to 255 (0 is success), got ${String(code)}`)

export const takes = <A, E, R>(duration: Duration.DurationInput, step: Step<A, E, R>): Step<A, E, R> =>
  Effect.zipRight(Effect.sleep(duration), step)

export const ignoresInterruption = (duration: Duration.DurationInput): Step<void, never> =>
  Effect.uninterruptibleMask((restore) => Effect.zipRight(Effect.exit(restore(Effect.never)), Effect.sleep(duration)))

export const progress = <A = never, E = never, R = never>(
  every: Duration.DurationInput,
  options?: { readonly times?: number | undefined; readonly then?: Step<A, E, R> | undefined }
): Step<A, E, R> => {
  const tick = Effect.zipRight(Effect.sleep(every), reportProgress)
  const then = options?.then ?? (hang as Step<A, E, R>)
  return options?.times === undefined
    ? Effect.forever(tick)
    : Effect.zipRight(Effect.replicateEffect(tick, options.times, { discard: true }), then)
}

type Steps = readonly [Step<any, any, any>, ...Array<Step<any, any, any>>]

/** Attempt `i` (from 1; 1 outside a task) runs `steps[i - 1]`, the last step once they run out. */
const script = <A, E, R>(steps: ReadonlyArray<Step<A, E, R>>): Effect.Effect<A, E, R> =>
  steps.length === 0
    ? Effect.dieMessage("Testing.attempts needs at least one step")
    : Effect.flatMap(CurrentTask, ({ attempt }) => steps[Math.min(Math.max(attempt, 1), steps.length) - 1])

export const attempts = <const S extends Steps>(
  ...steps: S
): Effect.Effect<Effect.Effect.Success<S[number]>, Effect.Effect.Error<S[number]>, Effect.Effect.Context<S[number]>> =>
  script(steps)

export const failTimes = <E, A = void, E2 = never, R = never>(
  n: number,
  error: E,
  then: Step<A, E2, R> = succeed() as Step<any, never>
): Effect.Effect<A, E | E2, R> =>
  typeof n === "number" && n >= 0 && (Number.isInteger(n) || n === Infinity)
    ? Effect.flatMap(CurrentTask, ({ attempt }): Effect.Effect<A, E | E2, R> =>
      Math.max(attempt, 1) <= n ? fail(error) : then)
    : Effect.dieMessage(`Testing.failTimes needs a whole number of failures (>= 0, or Infinity), got ${String(n)}`)
