/** The event bus: one `emit` that stamps every event, and a bounded queue and worker per subscriber. */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import type * as MetricHook from "effect/MetricHook"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import type * as SupervisorEvent from "../SupervisorEvent.js"
import { dropsOf } from "./metrics.js"
import type { Attached, Subscriber } from "./subscriber.js"
import { Constructors, isDiagnostic } from "./supervisorEvent.js"
import { describe } from "./taskError.js"

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
  readonly mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent, Overflowed>
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
  /** Called when its consumer is let go at its first loss (its mailbox fails with `Overflowed`); `undefined`: kept. */
  readonly letGo: (() => void) | undefined
}

/** A consumer's buffer overflowed and it was let go. */
export class Overflowed extends Data.TaggedError("Overflowed")<{ readonly dropped: number }> {}

/**
 * Fans every event out to one bounded mailbox per subscriber and per `events`
 * stream. Publishing is synchronous: it never blocks or suspends the caller.
 */
export class Bus {
  private seq = 0
  private sinks: Array<Sink> = []
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
    mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent, Overflowed>,
    capacity: number | undefined,
    letGo: (() => void) | undefined
  ): Sink {
    return { name, capacity, mailbox, pending: 0, dropped: 0, drops: this.metrics ? dropsOf(name) : undefined, letGo }
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
    if (this.sinks.length === 0) return
    const stamped = fields as Fields<K> & { seq: number; at: number }
    stamped.seq = seq
    stamped.at = this.clock.unsafeCurrentTimeMillis()
    this.publish(constructors[tag](stamped))
  }

  private publish(event: SupervisorEvent.SupervisorEvent): void {
    const sinks = this.sinks
    let overflowed: Array<Sink> | undefined
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i]
      if ((sink.capacity !== undefined && sink.pending >= sink.capacity) || !sink.mailbox.unsafeOffer(event)) {
        // only ordinary events count: a lost report of a loss is not a new loss
        if (!isDiagnostic(event)) {
          sink.dropped++
          sink.drops?.update(1)
          ;(overflowed ??= []).push(sink)
        }
      } else if (sink.capacity !== undefined) {
        sink.pending++
      }
    }
    if (overflowed !== undefined) {
      for (const sink of overflowed) {
        if (sink.letGo !== undefined) {
          this.detach(sink.mailbox)
          sink.mailbox.unsafeDone(Exit.fail(new Overflowed({ dropped: sink.dropped })))
          sink.letGo()
        }
        this.emit("SubscriberOverflow", { subscriber: sink.name, reason: "full", dropped: sink.dropped })
      }
    }
  }

  /** Start a worker fiber for a subscriber, in its own context, fed by its own bounded mailbox. */
  subscribe(attached: Attached): void {
    const { context, subscriber } = attached
    if (this.closed || this.attached.has(attached)) return
    const mailbox = Effect.runSync(
      Mailbox.make<SupervisorEvent.SupervisorEvent, Overflowed>({ capacity: subscriber.capacity, strategy: "dropping" })
    )
    const sink = this.sink(subscriber.name, mailbox, subscriber.capacity, undefined)
    this.sinks.push(sink)
    const runtime = Runtime.make({
      context,
      fiberRefs: this.runtime.fiberRefs,
      runtimeFlags: this.runtime.runtimeFlags
    })
    this.attached.set(attached, { sink, worker: Runtime.runFork(runtime)(this.worker(subscriber, sink)) })
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

  private worker(subscriber: Subscriber<any>, sink: Sink): Effect.Effect<void> {
    const deliver = (event: SupervisorEvent.SupervisorEvent) =>
      // its requirements are in the context the worker was forked with
      Effect.catchAllCause(Effect.suspend(() => subscriber.onEvent(event) as Effect.Effect<void, unknown>), (cause) => {
        if (!isDiagnostic(event)) {
          this.emit("SubscriberPanicked", {
            subscriber: subscriber.name,
            reason: Cause.isInterruptedOnly(cause) ? "interrupted" : describe(Cause.squash(cause))
          })
        }
        return Effect.void
      })
    // Whole batches, one wake-up each; an event leaves `pending` when its delivery starts, so a
    // blocked subscriber holds at most its capacity plus the event in hand.
    // a subscriber's mailbox only ends (it is never let go at a loss), it never fails
    const loop: Effect.Effect<void> = Effect.flatMap(
      Effect.orDie(sink.mailbox.takeAll),
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

  /** A stream of the events published from now on, buffered up to the bus capacity; a full buffer drops events. */
  get events(): Stream.Stream<SupervisorEvent.SupervisorEvent> {
    return Stream.catchAll(this.stream("events", this.streamCapacity, undefined), () => Stream.empty)
  }

  /**
   * A stream of the events published from now on, for one consumer, buffered
   * up to `capacity`: its buffer is registered when the stream starts, or at
   * once with `listening` (the events published before the stream runs are
   * kept for it). A full buffer drops the event (counted as `name`'s loss);
   * with `letGo` the stream then fails with `Overflowed` and `letGo` is
   * called, so a consumer that stopped reading is let go instead of missing
   * events (its reader may be blocked elsewhere: `letGo` can cut it off).
   */
  stream(
    name: string,
    capacity: number,
    letGo: (() => void) | undefined,
    listening = false
  ): Stream.Stream<SupervisorEvent.SupervisorEvent, Overflowed> {
    const open = () => {
      const mailbox = Effect.runSync(
        Mailbox.make<SupervisorEvent.SupervisorEvent, Overflowed>({ capacity, strategy: "dropping" })
      )
      if (this.closed) mailbox.unsafeDone(Exit.void)
      else this.sinks.push(this.sink(name, mailbox, undefined, letGo))
      return mailbox
    }
    const opened = listening ? open() : undefined
    return Stream.unwrapScoped(
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => opened ?? open()),
          (mailbox) => Effect.sync(() => this.detach(mailbox))
        ),
        Mailbox.toStream
      )
    )
  }

  private detach(mailbox: Mailbox.Mailbox<SupervisorEvent.SupervisorEvent, Overflowed>): void {
    this.sinks = this.sinks.filter((sink) => sink.mailbox !== mailbox)
  }

  /**
   * End every mailbox, let the workers drain within `timeout`, then interrupt
   * the ones still busy without waiting for them.
   */
  close(timeout: Duration.Duration): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.void
      this.closed = true
      for (const sink of this.sinks) sink.mailbox.unsafeDone(Exit.void)
      // nothing published after this point can be delivered
      this.sinks = []
      const workers = Array.from(this.attached.values(), (entry) => entry.worker)
      this.attached.clear()
      return drain(workers, timeout)
    })
  }
}

/** Let workers whose mailboxes ended finish within `timeout`, then interrupt the ones still busy without waiting. */
const drain = (workers: ReadonlyArray<Fiber.RuntimeFiber<void>>, timeout: Duration.Duration): Effect.Effect<void> =>
  workers.length === 0 ? Effect.void : Fiber.awaitAll(workers).pipe(
    Effect.timeoutOption(timeout),
    Effect.flatMap(() =>
      Effect.sync(() => {
        for (const worker of workers) worker.unsafeInterruptAsFork(FiberId.none)
      })
    )
  )
