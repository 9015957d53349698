/**
 * The event bus built on Effect's `PubSub`, for the comparison with the bus the library ships
 * (`src/internal/events/bus.ts`, a synchronous fan-out to one bounded mailbox per subscriber).
 *
 * `PubSub` bounds the hub, not each subscriber: alone, a slow subscriber would make every
 * subscriber lose events (a dropping or sliding hub) or slow the publishers (a bounded one). To
 * keep the bus's guarantee (a slow subscriber never makes another lose events, never slows a
 * publisher, and its own losses are counted and reported as `SubscriberOverflow`), the hub here is
 * unbounded and each listener has a feeder fiber that moves what its subscription receives into
 * the listener's own bounded mailbox, counting there what that mailbox cannot take. A subscriber's
 * worker drains its mailbox as in the shipped bus.
 *
 * What it cannot keep: a loss is counted when the feeder runs, after the publisher went on, so a
 * `SubscriberOverflow` follows the batch its losses were in rather than the event it reports (with
 * the src bus swapped for this one, the five tests of `test/SubscriberFaults.test.ts` that check
 * "each loss reported right after it" fail; the other subscriber and event tests pass). `follow`
 * (the HTTP endpoint's stream) is left out: no bench row uses it.
 *
 * Built against the compiled library (`dist`), with the shipped bus's constructor and members, so
 * that `bench/bus.ts` can build supervisors on either.
 */
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import type * as MetricHook from "effect/MetricHook"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Constructors, isDiagnostic } from "../dist/internal/data/supervisorEvent.js"
import type * as SupervisorEvent from "../dist/internal/data/supervisorEvent.js"
import { drain, type Fields, worker } from "../dist/internal/events/bus.js"
import { dropsOf } from "../dist/internal/events/metrics.js"
import type { Attached } from "../dist/internal/events/subscriber.js"

type Event = SupervisorEvent.SupervisorEvent

const constructors: {
  readonly [K in SupervisorEvent.Kind]: (fields: Fields<K> & SupervisorEvent.Base) => Event
} = Constructors

/**
 * Published after the last event for a listener: its feeder stops when it takes it. For one
 * listener (`sink`) that stops listening, the feeder ends its mailbox; for every one (`undefined`,
 * the bus closing), the bus ends them once every feeder stopped.
 */
class End {
  constructor(readonly sink: Sink | undefined) {}
}

interface Sink {
  readonly name: string
  readonly mailbox: Mailbox.Mailbox<Event>
  /** As in the shipped bus: events accepted and not yet handed to the subscriber; `undefined` for a stream. */
  readonly capacity: number | undefined
  pending: number
  dropped: number
  /** Losses of the batch being forwarded, reported after it. */
  lost: number
  readonly drops: MetricHook.MetricHook.Counter<number> | undefined
  readonly subscription: Queue.Dequeue<Event | End>
  readonly scope: Scope.CloseableScope
}

export class PubSubBus {
  private seq = 0
  private readonly hub: PubSub.PubSub<Event | End> = Effect.runSync(PubSub.unbounded<Event | End>())
  /** The listeners subscribed to the hub. */
  private readonly sinks = new Set<Sink>()
  private readonly attached = new Map<Attached, { readonly sink: Sink; readonly worker: Fiber.RuntimeFiber<void> }>()
  /** Each listener's feeder, until it stopped. */
  private readonly feeders = new Set<Fiber.RuntimeFiber<void>>()
  /** Closing: nothing is published any more but the reports of losses of what was published before. */
  private closed = false

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly streamCapacity: number,
    private readonly metrics: boolean
  ) {}

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  emit<K extends SupervisorEvent.Kind>(tag: K, fields: Fields<K>): void {
    const seq = ++this.seq
    if (this.closed) return
    this.publish(tag, fields, seq)
  }

  private publish<K extends SupervisorEvent.Kind>(tag: K, fields: Fields<K>, seq: number): void {
    if (this.sinks.size === 0) return
    const stamped = fields as Fields<K> & { seq: number; at: number }
    stamped.seq = seq
    stamped.at = this.clock.unsafeCurrentTimeMillis()
    this.hub.unsafeOffer(constructors[tag](stamped))
  }

  /** A listener's mailbox of `capacity`, fed from its own subscription to the hub by a feeder fiber. */
  private listen(name: string, capacity: number, bound: number | undefined): Sink {
    const mailbox = Effect.runSync(Mailbox.make<Event>({ capacity, strategy: "dropping" }))
    const scope = Effect.runSync(Scope.make())
    const sink: Sink = {
      name,
      mailbox,
      capacity: bound,
      pending: 0,
      dropped: 0,
      lost: 0,
      drops: this.metrics ? dropsOf(name) : undefined,
      subscription: Effect.runSync(Scope.extend(PubSub.subscribe(this.hub), scope)),
      scope
    }
    this.sinks.add(sink)
    const feeder = Runtime.runFork(this.runtime)(this.feed(sink))
    this.feeders.add(feeder)
    feeder.addObserver(() => this.feeders.delete(feeder))
    return sink
  }

  /** Move what the sink's subscription receives into its mailbox, a batch at a time, until an `End` for it. */
  private feed(sink: Sink): Effect.Effect<void> {
    const loop: Effect.Effect<void> = Effect.flatMap(sink.subscription.take, (first) => {
      const stop = this.forward(sink, first)
      return Effect.flatMap(
        sink.subscription.takeAll,
        (rest) => this.forwardAll(sink, rest, stop) ? Effect.void : loop
      )
    })
    return loop
  }

  /**
   * Forward `items` (none once the sink ended), then report the batch's losses: each report's
   * `seq` follows every loss it counts. Whether the feeder stops (`stop`: it met an `End` already).
   */
  private forwardAll(sink: Sink, items: Iterable<Event | End>, stop: boolean): boolean {
    for (const item of items) {
      if (!this.sinks.has(sink)) break
      stop = this.forward(sink, item) || stop
    }
    for (; sink.lost > 0; sink.lost--) {
      this.publish("SubscriberOverflow", { subscriber: sink.name, reason: "full", dropped: sink.dropped }, ++this.seq)
    }
    return stop
  }

  /** Forward one item: whether it was an `End` for the sink. */
  private forward(sink: Sink, item: Event | End): boolean {
    if (!(item instanceof End)) {
      this.offer(sink, item)
      return false
    }
    if (item.sink === undefined) return true
    if (item.sink !== sink) return false
    this.end(sink)
    return true
  }

  /** The shipped bus's per-listener step: accept `event`, or count it lost. */
  private offer(sink: Sink, event: Event): void {
    if ((sink.capacity !== undefined && sink.pending >= sink.capacity) || !sink.mailbox.unsafeOffer(event)) {
      if (isDiagnostic(event)) return
      sink.dropped++
      sink.lost++
      sink.drops?.update(1)
    } else if (sink.capacity !== undefined) {
      sink.pending++
    }
  }

  private end(sink: Sink): void {
    this.sinks.delete(sink)
    sink.mailbox.unsafeDone(Exit.void)
    Effect.runSync(Scope.close(sink.scope, Exit.void))
  }

  subscribe(attached: Attached): void {
    const { context, subscriber } = attached
    if (this.closed || this.attached.has(attached)) return
    const sink = this.listen(subscriber.name, subscriber.capacity, subscriber.capacity)
    const runtime = Runtime.make({
      context,
      fiberRefs: this.runtime.fiberRefs,
      runtimeFlags: this.runtime.runtimeFlags
    })
    this.attached.set(attached, {
      sink,
      worker: Runtime.runFork(runtime)(worker(subscriber, sink, (fields) => this.emit("SubscriberPanicked", fields)))
    })
  }

  unsubscribe(attached: Attached, timeout: Duration.Duration): Effect.Effect<void> {
    return Effect.suspend(() => {
      const entry = this.attached.get(attached)
      if (entry === undefined) return Effect.void
      this.attached.delete(attached)
      this.hub.unsafeOffer(new End(entry.sink))
      return drain([entry.worker], timeout)
    })
  }

  get events(): Stream.Stream<Event> {
    return Stream.unwrapScoped(
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => this.closed ? undefined : this.listen("events", this.streamCapacity, undefined)),
          (sink) =>
            Effect.sync(() => {
              if (sink !== undefined && this.sinks.has(sink)) this.hub.unsafeOffer(new End(sink))
            })
        ),
        (sink) => sink === undefined ? Stream.empty : Mailbox.toStream(sink.mailbox)
      )
    )
  }

  follow(): never {
    throw new Error("PubSubBus: follow is not part of the comparison")
  }

  close(timeout: Duration.Duration): Effect.Effect<void> {
    if (this.closed) return Effect.void
    this.closed = true
    const workers = Array.from(this.attached.values(), (entry) => entry.worker)
    this.attached.clear()
    if (this.sinks.size === 0) return drain(workers, timeout)
    // every feeder forwards what was published before, and stops
    this.hub.unsafeOffer(new End(undefined))
    return Fiber.awaitAll(Array.from(this.feeders)).pipe(
      Effect.zipRight(Effect.sync(() => this.flush())),
      Effect.zipRight(drain(workers, timeout))
    )
  }

  /**
   * Once every feeder stopped: forward what is left (the reports of the last losses, and the
   * reports of their losses), then end every mailbox.
   */
  private flush(): void {
    let more = true
    while (more) {
      more = false
      for (const sink of this.sinks) {
        const rest = Effect.runSync(sink.subscription.takeAll)
        if (rest.length > 0) more = true
        this.forwardAll(sink, rest, true)
      }
    }
    for (const sink of this.sinks) this.end(sink)
  }
}
