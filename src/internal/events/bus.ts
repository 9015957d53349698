/** The event bus: one `emit` that stamps every event, a bounded queue and worker per subscriber, synchronous observers. */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import type * as MetricHook from "effect/MetricHook"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SupervisorEvent from "../data/supervisorEvent.js"
import { Constructors, isDiagnostic } from "../data/supervisorEvent.js"
import { describe } from "../data/taskError.js"
import { dropsOf } from "./metrics.js"
import type { Attached, Subscriber } from "./subscriber.js"

/** An event of kind `K` without what `emit` stamps on it. */
export type Fields<K extends SupervisorEvent.Kind> = Omit<
  Extract<SupervisorEvent.SupervisorEvent, { readonly _tag: K }>,
  "_tag" | "seq" | "at"
>

/** Each kind's constructor, fed the fields `emit` stamped. */
const constructors: {
  readonly [K in SupervisorEvent.Kind]: (fields: Fields<K> & SupervisorEvent.Base) => SupervisorEvent.SupervisorEvent
} = Constructors

interface Sink {
  readonly name: string
  readonly mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent>
  /**
   * A subscriber's bound: events accepted and not yet handed to it, counted when accepted (not
   * when its worker takes them, which may be long before it starts on them). `undefined` for an
   * `events` stream, which its mailbox's capacity bounds.
   */
  readonly capacity: number | undefined
  pending: number
  /** Ordinary (non-diagnostic) events lost for it so far. */
  dropped: number
  /** Its losses in the drops metric; `undefined` when metrics are off. */
  readonly drops: MetricHook.MetricHook.Counter<number> | undefined
  /** For a stream that marks where it lost events, where it did; `undefined` for the others. */
  readonly losses: Losses | undefined
}

/**
 * A run of events lost for a stream's consumer, where its stream tells it:
 * the seqs of the first and the last (every event published between them
 * was lost too), and whether an ordinary (not diagnostic) one was among
 * them (the run is then reported, once).
 */
export class Gap {
  last: number
  reported = false
  constructor(readonly first: number) {
    this.last = first
  }
}

/** Where a stream's consumer lost events, until its stream has told it. */
class Losses {
  /** The runs lost and not told yet, in order. */
  private readonly gaps: Array<Gap> = []
  /** The last run while nothing was taken after it: the next loss extends it. */
  private open: Gap | undefined = undefined

  accepted(): void {
    this.open = undefined
  }

  /** `event` was lost: whether it is the first ordinary event of its run (the run is reported once). */
  lost(event: SupervisorEvent.SupervisorEvent, ordinary: boolean): boolean {
    if (this.open === undefined) this.gaps.push(this.open = new Gap(event.seq))
    else this.open.last = event.seq
    if (!ordinary || this.open.reported) return false
    this.open.reported = true
    return true
  }

  /**
   * `chunk`, the events its consumer takes next, with the runs lost among
   * them in place; and the runs after them, when nothing else is buffered
   * (`drained`). Seqs grow in the order events are published: a run goes
   * before the first event taken after it.
   */
  tell(
    chunk: Chunk.Chunk<SupervisorEvent.SupervisorEvent>,
    drained: () => boolean
  ): Chunk.Chunk<SupervisorEvent.SupervisorEvent | Gap> {
    if (this.gaps.length === 0) return chunk
    const told: Array<SupervisorEvent.SupervisorEvent | Gap> = []
    for (const event of chunk) {
      while (this.gaps.length > 0 && this.gaps[0].first < event.seq) told.push(this.next())
      told.push(event)
    }
    if (drained()) { while (this.gaps.length > 0) told.push(this.next()) }
    return Chunk.unsafeFromArray(told)
  }

  /** The next run to tell; once told it is never extended (a loss after it begins a new one). */
  private next(): Gap {
    const gap = this.gaps.shift()!
    if (gap === this.open) this.open = undefined
    return gap
  }
}

/**
 * Fans every event out to one bounded mailbox per subscriber and per `events`
 * stream. Publishing is synchronous: it never blocks or suspends the caller.
 */
export class Bus {
  private seq = 0
  private sinks: Array<Sink> = []
  /** Called with every event as it is published, in `seq` order, before any sink gets it. */
  private readonly observers: Array<(event: SupervisorEvent.SupervisorEvent) => void> = []
  /** Each attached subscriber's sink and worker. */
  private readonly attached = new Map<Attached, { readonly sink: Sink; readonly worker: Fiber.RuntimeFiber<void> }>()
  private closed = false

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly streamCapacity: number,
    /** Whether drops are counted in the drops metric. */
    private readonly metrics: boolean
  ) {}

  private sink(
    name: string,
    mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent>,
    capacity: number | undefined,
    losses: Losses | undefined
  ): Sink {
    return { name, capacity, mailbox, pending: 0, dropped: 0, drops: this.metrics ? dropsOf(name) : undefined, losses }
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  /**
   * Publish an event of kind `tag`, stamped with the next `seq` and the
   * clock's time, to everybody listening. Every event takes a `seq`, listened
   * to or not (so a late listener sees how many came before); with nobody
   * listening nothing else is done. `fields` is a fresh object of the caller's.
   */
  emit<K extends SupervisorEvent.Kind>(tag: K, fields: Fields<K>): void {
    const seq = ++this.seq
    if (this.sinks.length === 0 && this.observers.length === 0) return
    const stamped = fields as Fields<K> & { seq: number; at: number }
    stamped.seq = seq
    stamped.at = this.clock.unsafeCurrentTimeMillis()
    this.publish(constructors[tag](stamped))
  }

  private publish(event: SupervisorEvent.SupervisorEvent): void {
    const observers = this.observers
    for (let i = 0; i < observers.length; i++) observers[i](event)
    const sinks = this.sinks
    let overflowed: Array<Sink> | undefined
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i]
      if ((sink.capacity !== undefined && sink.pending >= sink.capacity) || !sink.mailbox.unsafeOffer(event)) {
        // only ordinary events count: a lost report of a loss is not a new loss
        const ordinary = !isDiagnostic(event)
        // a stream that marks its losses reports each run of them once
        const reported = sink.losses === undefined ? ordinary : sink.losses.lost(event, ordinary)
        if (ordinary) {
          sink.dropped++
          sink.drops?.update(1)
        }
        if (reported) (overflowed ??= []).push(sink)
      } else if (sink.capacity !== undefined) {
        sink.pending++
      } else {
        sink.losses?.accepted()
      }
    }
    if (overflowed !== undefined) {
      for (const sink of overflowed) {
        this.emit("SubscriberOverflow", { subscriber: sink.name, reason: "full", dropped: sink.dropped })
      }
    }
  }

  /**
   * Call `observer` with every event published from now on, synchronously, in `seq` order, for the bus's life (its
   * close does not end it: the shutdown's last events come after). Nothing bounds or drops it, so it must be quick and
   * must not throw: it is for tests (the test kit's recorder), not for production listeners, which are subscribers.
   */
  observe(observer: (event: SupervisorEvent.SupervisorEvent) => void): void {
    this.observers.push(observer)
  }

  /** Start a worker fiber for a subscriber, in its own context, fed by its own bounded mailbox. */
  subscribe(attached: Attached): void {
    const { context, subscriber } = attached
    if (this.closed || this.attached.has(attached)) return
    const mailbox = Effect.runSync(
      Mailbox.make<SupervisorEvent.SupervisorEvent>({ capacity: subscriber.capacity, strategy: "dropping" })
    )
    const sink = this.sink(subscriber.name, mailbox, subscriber.capacity, undefined)
    this.sinks.push(sink)
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

  /**
   * Stop feeding a subscriber: publish nothing more to it, let its worker
   * deliver what was queued within `timeout`, then interrupt it.
   */
  unsubscribe(attached: Attached, timeout: Duration.Duration): Effect.Effect<void> {
    return Effect.suspend(() => {
      const entry = this.attached.get(attached)
      if (entry === undefined) return Effect.void
      this.attached.delete(attached)
      this.sinks = this.sinks.filter((sink) => sink !== entry.sink)
      entry.sink.mailbox.unsafeDone(Exit.void)
      return drain([entry.worker], timeout)
    })
  }

  /** A stream of the events published from now on, buffered up to the bus capacity; a full buffer drops events. */
  get events(): Stream.Stream<SupervisorEvent.SupervisorEvent> {
    return Stream.unwrapScoped(Effect.map(this.listen("events", this.streamCapacity, undefined), Mailbox.toStream))
  }

  /**
   * The events published from now on, for one consumer that must learn
   * where it lost some: listening from now until the scope closes, buffered
   * up to `capacity`. An event its full buffer cannot take is lost for it
   * (counted as `name`'s loss, each run reported once as `SubscriberOverflow`),
   * and its stream has a `Gap` where each run of losses was.
   */
  follow(
    name: string,
    capacity: number
  ): Effect.Effect<Stream.Stream<SupervisorEvent.SupervisorEvent | Gap>, never, Scope.Scope> {
    const losses = new Losses()
    return Effect.map(this.listen(name, capacity, losses), (mailbox) =>
      Stream.mapChunks(
        Mailbox.toStream(mailbox),
        (chunk) => losses.tell(chunk, () => Option.getOrElse(mailbox.unsafeSize(), () => 0) === 0)
      ))
  }

  /** A buffer of `capacity` events for `name`, fed until the scope closes (at once ended if the bus is closed). */
  private listen(
    name: string,
    capacity: number,
    losses: Losses | undefined
  ): Effect.Effect<Mailbox.Mailbox<SupervisorEvent.SupervisorEvent>, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.sync(() => {
        const mailbox = Effect.runSync(
          Mailbox.make<SupervisorEvent.SupervisorEvent>({ capacity, strategy: "dropping" })
        )
        if (this.closed) mailbox.unsafeDone(Exit.void)
        else this.sinks.push(this.sink(name, mailbox, undefined, losses))
        return mailbox
      }),
      (mailbox) => Effect.sync(() => this.detach(mailbox))
    )
  }

  private detach(mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent>): void {
    this.sinks = this.sinks.filter((sink) => sink.mailbox !== mailbox)
  }

  /**
   * End every mailbox now; the effect returned lets the workers drain within
   * `timeout`, then interrupts the ones still busy without waiting for them
   * (with no worker, it is done already).
   */
  close(timeout: Duration.Duration): Effect.Effect<void> {
    if (this.closed) return Effect.void
    this.closed = true
    for (const sink of this.sinks) sink.mailbox.unsafeDone(Exit.void)
    // nothing published after this point can be delivered
    this.sinks = []
    const workers = Array.from(this.attached.values(), (entry) => entry.worker)
    this.attached.clear()
    return drain(workers, timeout)
  }
}

/** What a subscriber's worker drains: its mailbox, and how many of the events accepted for it are not delivered yet. */
export interface Queued {
  readonly mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent>
  pending: number
}

/**
 * A subscriber's worker: it hands the subscriber its events in order until
 * its mailbox ends; a failure of `onEvent` is reported through `panicked`
 * (never for a diagnostic event) and delivery goes on.
 */
export const worker = (
  subscriber: Subscriber<any>,
  sink: Queued,
  panicked: (fields: Fields<"SubscriberPanicked">) => void
): Effect.Effect<void> => {
  const deliver = (event: SupervisorEvent.SupervisorEvent) =>
    // its requirements are in the context the worker was forked with
    Effect.catchAllCause(Effect.suspend(() => subscriber.onEvent(event) as Effect.Effect<void, unknown>), (cause) => {
      if (!isDiagnostic(event)) {
        panicked({
          subscriber: subscriber.name,
          reason: Cause.isInterruptedOnly(cause) ? "interrupted" : describe(Cause.squash(cause))
        })
      }
      return Effect.void
    })
  // Whole batches, one wake-up each; an event leaves `pending` when its delivery starts, so a
  // blocked subscriber holds at most its capacity plus the event in hand.
  const loop: Effect.Effect<void> = Effect.flatMap(
    sink.mailbox.takeAll,
    ([events, done]) =>
      Effect.zipRight(
        Effect.forEach(events, (event) => {
          sink.pending--
          return deliver(event)
        }, { discard: true }),
        done ? Effect.void : loop
      )
  )
  return loop
}

/** Let workers whose mailboxes ended finish within `timeout`, then interrupt the ones still busy without waiting. */
export const drain = (
  workers: ReadonlyArray<Fiber.RuntimeFiber<void>>,
  timeout: Duration.Duration
): Effect.Effect<void> =>
  workers.length === 0 ? Effect.void : Fiber.awaitAll(workers).pipe(
    Effect.timeoutOption(timeout),
    Effect.flatMap(() =>
      Effect.sync(() => {
        for (const worker of workers) worker.unsafeInterruptAsFork(FiberId.none)
      })
    )
  )
