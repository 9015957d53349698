import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/**
 * Let every runnable fiber run until it suspends, without moving the clock.
 * The supervisor's fibers are not children of the test fiber, so yielding is
 * what lets them run.
 */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 25; i++) yield* Effect.yieldNow()
})

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
