/** The subscriber as data (its model, prototype and constructor), and the service of the set of them. */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type { SupervisorEvent } from "../data/supervisorEvent.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/Subscriber")

export type TypeId = typeof TypeId

export interface Subscriber<out R = never> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The bound of this subscriber's queue (default 1024). */
  readonly capacity: number
  readonly onEvent: (event: SupervisorEvent) => Effect.Effect<void, unknown, R>
}

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: Subscriber<unknown>) {
    return { _id: "Subscriber", name: this.name, capacity: this.capacity }
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

/** A supervisor following a `SubscriberSet`: it attaches each subscriber added, and detaches each one taken out. */
export interface Follower {
  readonly attach: (attached: Attached) => void
  /** Stop feeding it: it is handed what was queued for it, within the supervisor's subscriber timeout. */
  readonly detach: (attached: Attached) => Effect.Effect<void>
}

/**
 * The subscribers added (by `Subscriber.layer`) to one build of a config
 * layer: a supervisor built on it attaches those present and follows later
 * additions, so a subscriber layer takes effect whether it was provided to the
 * supervisor layer or merged beside it; the layer's end takes it out again.
 */
export class SubscriberSet {
  private readonly added = new Set<Attached>()
  private readonly followers = new Set<Follower>()

  /** Add one to every supervisor following the set; the returned effect takes it out of them again. */
  add(attached: Attached): Effect.Effect<void> {
    this.added.add(attached)
    for (const follower of this.followers) follower.attach(attached)
    return Effect.suspend(() => {
      this.added.delete(attached)
      return Effect.forEach(this.followers, (follower) => follower.detach(attached), { discard: true })
    })
  }

  /** Attach every subscriber present and every later one to `follower`, until the returned function is called. */
  follow(follower: Follower): () => void {
    for (const attached of this.added) follower.attach(attached)
    this.followers.add(follower)
    return () => this.followers.delete(follower)
  }
}

/**
 * The service of the subscriber set: each build of a `SupervisorConfig` layer
 * provides a set of its own, `Subscriber.layer` adds to it, and the
 * supervisor follows it.
 */
export class Subscribers extends Context.Tag("effect-taskvisor/Subscribers")<Subscribers, SubscriberSet>() {}
