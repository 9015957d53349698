/** Who adds a task: its attempts run with the caller's context and fiber refs, on its clock. */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import type * as FiberRefs from "effect/FiberRefs"
import * as Tracer from "effect/Tracer"

/** Who added a task: its attempts run with this context and these fiber refs, on this clock. */
export interface Caller {
  readonly context: Context.Context<never>
  readonly fiberRefs: FiberRefs.FiberRefs
  readonly clock: Clock.Clock
  /** Whether each attempt gets a span. */
  readonly tracing: boolean
}

const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * The calling fiber, as a task's caller: its requirements are the caller's.
 * An attempt gets a span when tracing is enabled and a tracer other than
 * Effect's built-in one (which exports nothing) is installed.
 */
export const callerOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Caller => ({
  context: fiber.currentContext,
  fiberRefs: fiber.getFiberRefs(),
  clock: Context.get(fiber.currentDefaultServices, Clock.Clock),
  tracing: fiber.getFiberRef(FiberRef.currentTracerEnabled) && fiber.currentTracer !== builtInTracer
})
