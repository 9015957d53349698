/** The actor's fiber: uninterruptible but where it waits, started in its caller's turn or scheduled. */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as FiberRefs from "effect/FiberRefs"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"

/**
 * How an actor's fiber starts: `Now` runs its first step at once, in the
 * caller's turn, until it first suspends (as `FiberMap.run` starts its
 * fibers); `Later` schedules it, for a start from inside another task's
 * terminal commit (a controller's next owner), which must not nest.
 */
export type Start = "Now" | "Later"

/** The actor's fiber runs uninterruptibly, except where it waits: a stop always lets it decide and commit. */
const actorFlags = RuntimeFlags.disable(Runtime.defaultRuntime.runtimeFlags, RuntimeFlags.Interruption)

/** How many actors are taking their first step now, one inside another's. */
let nested = 0
const maxNested = 64

/** Fork the fiber of `actor`, its first step `actor.next()`, with `context` and `fiberRefs`. */
export const fork = (
  actor: { next(): Effect.Effect<void> },
  context: Context.Context<never>,
  fiberRefs: FiberRefs.FiberRefs,
  when: Start
): Fiber.RuntimeFiber<void> => {
  const runtime = Runtime.make({ context, fiberRefs, runtimeFlags: actorFlags })
  // a task that adds a task starts it inside its own first step: past a depth, the next ones are scheduled
  // instead, so a chain of tasks adding tasks cannot overflow the stack
  const now = when === "Now" && nested < maxNested
  nested++
  try {
    // started now, the first step is taken here, the fiber running on from its first wait
    return Runtime.runFork(runtime, now ? actor.next() : Effect.suspend(() => actor.next()), { immediate: now })
  } finally {
    nested--
  }
}
