import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/** Let every other runnable fiber make progress. */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 25; i++) yield* Effect.yieldNow()
})

/** `TestClock.adjust`, then let the woken fibers run. */
export const advance = (duration: Duration.DurationInput): Effect.Effect<void> =>
  Effect.zipRight(TestClock.adjust(duration), settle)

/** The fiber's exit once the other fibers settled; `None` while it still runs. */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.zipRight(settle, fiber.poll)

/** Asserting helper: the fiber is still running. */
export const isRunning = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(poll(fiber), Option.isNone)
