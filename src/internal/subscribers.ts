import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Differ from "effect/Differ"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Mailbox from "effect/Mailbox"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import type { Subscriber } from "../Subscriber.js"
import * as SupervisorEvent from "../SupervisorEvent.js"
import { describe } from "../TaskError.js"

/** Subscribers added through `Subscriber.layer`; concurrent additions merge. */
export const currentSubscribers: FiberRef.FiberRef<ReadonlyArray<Subscriber>> = FiberRef.unsafeMakePatch(
  [] as ReadonlyArray<Subscriber>,
  {
    differ: Differ.readonlyArray(Differ.update<Subscriber>()),
    fork: Differ.readonlyArray(Differ.update<Subscriber>()).empty
  }
)

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
}

/**
 * Fans every event out to one bounded mailbox per subscriber and per `events`
 * stream. Publishing is synchronous: it never blocks or suspends the caller.
 */
export class Bus {
  private seq = 0
  private sinks: Array<Sink> = []
  private workers: Array<Fiber.RuntimeFiber<void>> = []
  private closed = false

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly streamCapacity: number
  ) {}

  /** Whether anybody listens; callers may skip building events when nobody does. */
  get active(): boolean {
    return this.sinks.length > 0
  }

  next(): number {
    return ++this.seq
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  publish(event: SupervisorEvent.SupervisorEvent): void {
    const sinks = this.sinks
    let overflowed: Array<Sink> | undefined
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i]
      if ((sink.capacity !== undefined && sink.pending >= sink.capacity) || !sink.mailbox.unsafeOffer(event)) {
        // only ordinary events count: a lost report of a loss is not a new loss
        if (!SupervisorEvent.isDiagnostic(event)) {
          sink.dropped++
          ;(overflowed ??= []).push(sink)
        }
      } else if (sink.capacity !== undefined) {
        sink.pending++
      }
    }
    if (overflowed !== undefined) {
      for (const sink of overflowed) {
        this.publish(SupervisorEvent.SubscriberOverflow({
          seq: this.next(),
          at: this.now(),
          subscriber: sink.name,
          reason: "full",
          dropped: sink.dropped
        }))
      }
    }
  }

  /** Start a worker fiber for `subscriber`, fed by its own bounded mailbox. */
  subscribe(subscriber: Subscriber): void {
    const mailbox = Effect.runSync(
      Mailbox.make<SupervisorEvent.SupervisorEvent>({ capacity: subscriber.capacity, strategy: "dropping" })
    )
    const sink: Sink = { name: subscriber.name, capacity: subscriber.capacity, mailbox, pending: 0, dropped: 0 }
    this.sinks.push(sink)
    this.workers.push(Runtime.runFork(this.runtime)(this.worker(subscriber, sink)))
  }

  private worker(subscriber: Subscriber, sink: Sink): Effect.Effect<void> {
    const deliver = (event: SupervisorEvent.SupervisorEvent) =>
      Effect.catchAllCause(Effect.suspend(() => subscriber.onEvent(event)), (cause) => {
        if (!SupervisorEvent.isDiagnostic(event)) {
          this.publish(SupervisorEvent.SubscriberPanicked({
            seq: this.next(),
            at: this.now(),
            subscriber: subscriber.name,
            reason: Cause.isInterruptedOnly(cause) ? "interrupted" : describe(Cause.squash(cause))
          }))
        }
        return Effect.void
      })
    // Whole batches, one wake-up each; an event leaves `pending` when its delivery starts, so a
    // blocked subscriber holds at most its capacity plus the event in hand.
    const loop: Effect.Effect<void> = Effect.flatMap(sink.mailbox.takeAll, ([events, done]) =>
      Effect.zipRight(
        Effect.forEach(events, (event) => {
          sink.pending--
          return deliver(event)
        }, { discard: true }),
        done ? Effect.void : loop
      ))
    return loop
  }

  /** A stream of the events published from now on, buffered up to the bus capacity. */
  readonly events: Stream.Stream<SupervisorEvent.SupervisorEvent> = Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.suspend(() =>
          Effect.tap(
            Mailbox.make<SupervisorEvent.SupervisorEvent>({ capacity: this.streamCapacity, strategy: "dropping" }),
            (mailbox) => {
              if (this.closed) mailbox.unsafeDone(Exit.void)
              else this.sinks.push({ name: "events", capacity: undefined, mailbox, pending: 0, dropped: 0 })
            }
          )
        ),
        (mailbox) =>
          Effect.sync(() => {
            this.sinks = this.sinks.filter((sink) => sink.mailbox !== mailbox)
          })
      ),
      Mailbox.toStream
    )
  )

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
      const workers = this.workers
      if (workers.length === 0) return Effect.void
      return Fiber.awaitAll(workers).pipe(
        Effect.timeoutOption(timeout),
        Effect.flatMap(() =>
          Effect.sync(() => {
            for (const worker of workers) worker.unsafeInterruptAsFork(FiberId.none)
          })
        )
      )
    })
  }
}
