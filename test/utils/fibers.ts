import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { settle } from "../../src/testing.js"

/** The test kit's: let every runnable fiber run until it suspends, without moving the clock. */
export { settle }

/** Yield until `condition` holds, at most `maxYields` times, without moving the clock; whether it held. */
export const yieldUntil = <E, R>(
  condition: Effect.Effect<boolean, E, R>,
  maxYields = 1000
): Effect.Effect<boolean, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < maxYields; i++) {
      if (yield* condition) return true
      yield* Effect.yieldNow()
    }
    return yield* condition
  })

/**
 * Yield until `condition` holds, without moving the clock: the wait for what
 * a test is about to check (a task started, a fiber ended), however many
 * scheduler turns the code under test takes to get there. Fails the test,
 * naming `what` was awaited, when it does not hold within `maxYields`
 * yields (the other fibers are stuck or wait on the clock).
 */
export const settleUntil = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  maxYields = 1000
): Effect.Effect<void, E, R> =>
  Effect.flatMap(
    yieldUntil(condition, maxYields),
    (held) => held ? Effect.void : Effect.dieMessage(`settleUntil: ${what} did not happen within ${maxYields} yields`)
  )

/** `settleUntil` the fiber has ended. */
export const settleUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, what = "the fiber to end") =>
  settleUntil(what, Effect.map(fiber.poll, Option.isSome))

/** Yield `n` times. */
export const spin = (n: number): Effect.Effect<void> => Effect.repeatN(Effect.yieldNow(), n)

/**
 * `n` trivial operations in a row: with `Effect.withMaxOpsBeforeYield`, it
 * moves the point at which a fiber yields, to probe races between operations.
 */
export const pad = (n: number): Effect.Effect<void> => {
  let effect: Effect.Effect<void> = Effect.void
  for (let i = 0; i < n; i++) effect = Effect.zipRight(effect, Effect.void)
  return effect
}

/** `TestClock.adjust`, then let the woken fibers run. */
export const advance = (duration: Duration.DurationInput): Effect.Effect<void> =>
  Effect.zipRight(TestClock.adjust(duration), settle)

/** The fiber's exit once the other fibers settled; `None` while it still runs. */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.zipRight(settle, fiber.poll)

/** Asserting helper: the fiber is still running. */
export const isRunning = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(poll(fiber), Option.isNone)
