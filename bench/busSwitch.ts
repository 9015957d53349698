/**
 * What `bench/bus.ts` hands the compiled supervisor in place of its bus module: the shipped bus
 * or the `PubSub` one, whichever the comparison chose for the supervisor built next.
 */
import { Bus as Shipped } from "../dist/internal/events/bus.js"
import { PubSubBus } from "./pubsubBus.js"

export { Gap } from "../dist/internal/events/bus.js"

/** Which bus the next supervisor is built on: set by `bench/bus.ts` before each sample. */
export const choice = Symbol.for("effect-taskvisor/bench/bus")

export type Choice = "shipped" | "pubsub"

/** How many buses of each were built, so the comparison can tell that both sides ran. */
export const built: Record<Choice, number> = { shipped: 0, pubsub: 0 }

export class Bus {
  constructor(...args: ConstructorParameters<typeof Shipped>) {
    const bus = (globalThis as { [choice]?: Choice })[choice] ?? "shipped"
    built[bus]++
    return bus === "pubsub" ? new PubSubBus(...args) : new Shipped(...args)
  }
}
