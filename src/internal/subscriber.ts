/** The subscriber as data (its model, prototype and constructor), and the set of them a config carries. */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type { SupervisorEvent } from "../SupervisorEvent.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/Subscriber")

export type TypeId = typeof TypeId

export interface Subscriber<out R = never> extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The bound of this subscriber's queue (default 1024). */
  readonly capacity: number
  readonly onEvent: (event: SupervisorEvent) => Effect.Effect<void, unknown, R>
}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: Subscriber<unknown>) {
    return { _id: "Subscriber", name: this.name, capacity: this.capacity }
  },
  toString(this: Subscriber<unknown>) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: Subscriber<unknown>) {
    return this.toJSON()
  }
}

export const make = <E, R>(options: {
  readonly name: string
  readonly capacity?: number | undefined
  readonly onEvent: (event: SupervisorEvent) => Effect.Effect<void, E, R>
}): Subscriber<R> =>
  Object.assign(Object.create(Proto), {
    name: options.name,
    capacity: options.capacity ?? 1024,
    onEvent: options.onEvent
  })

/** A subscriber with the context its `onEvent` runs in (its requirements, from its layer). */
export interface Attached {
  readonly subscriber: Subscriber<any>
  readonly context: Context.Context<never>
}

/**
 * The subscribers added (by `Subscriber.layer`) to one `SupervisorConfig`: a
 * supervisor built on the config attaches those present and follows later
 * additions, so a subscriber layer takes effect whether it was provided to the
 * supervisor layer or merged beside it.
 */
export class Subscribers {
  private readonly added = new Set<Attached>()
  private readonly followers = new Set<(attached: Attached) => void>()

  /** Add one; the returned function takes it out of the set (supervisors that attached it keep it). */
  add(attached: Attached): () => void {
    this.added.add(attached)
    for (const follower of this.followers) follower(attached)
    return () => this.added.delete(attached)
  }

  /** Call `attach` with every subscriber present and every later one, until the returned function is called. */
  follow(attach: (attached: Attached) => void): () => void {
    for (const attached of this.added) attach(attached)
    this.followers.add(attach)
    return () => this.followers.delete(attach)
  }
}
