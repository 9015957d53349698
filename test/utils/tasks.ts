import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as BackoffPolicy from "../../src/BackoffPolicy.js"
import * as TaskSpec from "../../src/TaskSpec.js"
import { hang } from "../../src/testing.js"

/** A scripted task: run `n` (from 1) does `step(n)`; `runs` counts the attempts. */
export const perRun = <E, R = never>(step: (run: number) => Effect.Effect<void, E, R>) =>
  Effect.map(Ref.make(0), (runs) => ({
    runs,
    task: Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), step)
  }))

/** Fails its first `n` runs with `error`, then succeeds. */
export const failNTimes = <E>(n: number, error: E) =>
  perRun((run): Effect.Effect<void, E> => run <= n ? Effect.fail(error) : Effect.void)

/** Runs `effect` and counts how many times it ran. */
export const counting = <A, E, R>(effect: Effect.Effect<A, E, R>) => perRun(() => Effect.asVoid(effect))

/** Cycles through `steps`, one per run. */
export const cycling = <E>(steps: ReadonlyArray<Effect.Effect<void, E>>) =>
  perRun((run) => steps[(run - 1) % steps.length])

/** Never ends; interruption stops it (the test kit's `hang`). */
export const neverEnding: Effect.Effect<never> = hang

/** Never ends and ignores interruption. */
export const stubborn: Effect.Effect<never> = Effect.uninterruptible(Effect.never)

/** Runs until interrupted; its finalizer then never ends. */
export const endlessFinalizer: Effect.Effect<never> = Effect.onInterrupt(Effect.never, () => Effect.never)

/** Runs until interrupted; its finalizer then takes `cleanup` of TestClock time. */
export const slowToStop = (cleanup: Duration.DurationInput): Effect.Effect<never> =>
  Effect.onInterrupt(Effect.never, () => Effect.sleep(cleanup))

/**
 * Wraps `body` so that `log` records `start <attempt>@<ms>` when an attempt
 * begins and `stop <attempt>@<ms>` when its finalizer runs.
 */
export const logged = <A, E, R>(log: Ref.Ref<ReadonlyArray<string>>, body: Effect.Effect<A, E, R>) => {
  const note = (what: string, attempt: number) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => Ref.update(log, (entries) => [...entries, `${what} ${attempt}@${now}`])
    )
  return Effect.acquireUseRelease(
    Effect.flatMap(TaskSpec.CurrentTask, ({ attempt }) => Effect.as(note("start", attempt), attempt)),
    () => body,
    (attempt) => note("stop", attempt)
  )
}

/** Tracks how many wrapped effects run at once, and the peak. */
export const gauge = Effect.map(
  Effect.all([Ref.make(0), Ref.make(0)]),
  ([current, peak]) => ({
    current,
    peak,
    wrap: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.flatMap(Ref.updateAndGet(current, (n) => n + 1), (n) => Ref.update(peak, (p) => Math.max(p, n))),
        () => effect,
        () => Ref.update(current, (n) => n - 1)
      )
  })
)

/** A group's child that runs until stopped; its first run fails after `failAfter` if given (`<name> crashed`). */
export const crashingChild = (
  name: string,
  failAfter?: Duration.DurationInput,
  backoff: BackoffPolicy.BackoffPolicy = BackoffPolicy.constant("1 second")
) =>
  Effect.map(Ref.make(0), (runs) =>
    TaskSpec.restartable(
      name,
      Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (run) =>
        run === 1 && failAfter !== undefined
          ? Effect.zipRight(Effect.sleep(failAfter), Effect.fail(`${name} crashed`))
          : neverEnding)
    ).pipe(TaskSpec.withBackoff(backoff)))

/** `name:state` of each row of `list`. */
export const states = (list: ReadonlyArray<{ readonly name: string; readonly state: string }>) =>
  list.map((t) => `${t.name}:${t.state}`)

/** A restartable child whose run `n` crashes after `crashes[n-1]` (if given), else never ends. */
export const crashesOnRuns = (
  name: string,
  crashes: ReadonlyArray<Duration.DurationInput | undefined>,
  backoff: BackoffPolicy.BackoffPolicy = BackoffPolicy.constant("1 second")
) =>
  Effect.map(Ref.make(0), (runs) =>
    TaskSpec.restartable(
      name,
      Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (run) => {
        const after = crashes[run - 1]
        return after === undefined ? neverEnding : Effect.zipRight(Effect.sleep(after), Effect.fail(`${name} crashed`))
      })
    ).pipe(TaskSpec.withBackoff(backoff)))
