import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type { SupervisorEvent } from "../../src/SupervisorEvent.js"

/** Runs until interrupted. */
export const neverEnding: Effect.Effect<never> = Effect.never

/** Ignores interruption for ever. */
export const stubborn: Effect.Effect<never> = Effect.uninterruptible(Effect.never)

/** Runs until interrupted; its finalizer then never ends. */
export const endlessFinalizer: Effect.Effect<never> = Effect.onInterrupt(Effect.never, () => Effect.never)

/** Runs until interrupted; its finalizer then takes `cleanup` of TestClock time. */
export const slowToStop = (cleanup: Duration.DurationInput): Effect.Effect<never> =>
  Effect.onInterrupt(Effect.never, () => Effect.sleep(cleanup))

/** Fails its first `n` attempts with `"boom"`, then succeeds. */
export const failNTimes = (n: number) => {
  let calls = 0
  return Effect.suspend(() => ++calls <= n ? Effect.fail("boom") : Effect.void)
}

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

/** The events of one kind, optionally of one task, typed as that kind. */
export const ofTag = <K extends SupervisorEvent["_tag"]>(
  events: ReadonlyArray<SupervisorEvent>,
  tag: K,
  task?: string
): Array<Extract<SupervisorEvent, { readonly _tag: K }>> =>
  events.filter((e): e is Extract<SupervisorEvent, { readonly _tag: K }> =>
    e._tag === tag && (task === undefined || ("task" in e && e.task === task))
  )

/** The events of the task with this id. */
export const ofId = (events: ReadonlyArray<SupervisorEvent>, id: number): Array<SupervisorEvent> =>
  events.filter((e) => "id" in e && e.id === id)
