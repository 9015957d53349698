/** The force-abort deadlines of individual stops: one timer fiber for all of them. */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { Queue } from "./queue.js"

/** One pending deadline; `cancel` takes it back. */
export interface Deadline<A> {
  readonly item: A
  /** When it expires, in milliseconds of the clock's monotonic time. */
  readonly at: number
  next: Deadline<A> | undefined
  prev: Deadline<A> | undefined
}

type State =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Sleeping"; readonly fiber: Fiber.RuntimeFiber<void> }
  | { readonly _tag: "Closed" }

const idle: State = { _tag: "Idle" }

/**
 * Deadlines a fixed `grace` after each `add`, expired by one fiber that sleeps
 * until the first of them. Every deadline is the same time after its `add`,
 * so they expire in the order they were added: a list serves where a heap
 * would otherwise be needed, and both `add` and `cancel` take constant time.
 * (A fiber and a timer per stop cost more than the rest of an `add`+`cancel`.)
 * The fiber starts with the first deadline and ends when it wakes to none.
 */
export class Deadlines<A> {
  private readonly queue = new Queue<Deadline<A>>()
  private state: State = idle
  private readonly grace: number

  constructor(
    grace: Duration.Duration,
    private readonly clock: Clock.Clock,
    private readonly fork: (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>,
    private readonly expire: (item: A) => void
  ) {
    this.grace = Duration.toMillis(grace)
  }

  private now(): number {
    // monotonic: a wall clock set back must not reorder the deadlines
    return Number(this.clock.unsafeCurrentTimeNanos()) / 1_000_000
  }

  /** A deadline for `item`, `grace` from now; nothing once closed. */
  add(item: A): Deadline<A> | undefined {
    if (this.state._tag === "Closed") return undefined
    const deadline: Deadline<A> = { item, at: this.now() + this.grace, next: undefined, prev: undefined }
    this.queue.push(deadline)
    if (this.state._tag === "Idle") {
      // after a yield: a stop's interruption reaches its task before a zero grace expires
      this.state = { _tag: "Sleeping", fiber: this.fork(Effect.zipRight(Effect.yieldNow(), this.wake)) }
    }
    return deadline
  }

  /** Take a deadline back; nothing if it expired or was taken back already. */
  cancel(deadline: Deadline<A>): void {
    this.queue.remove(deadline)
  }

  /** Expire what is due, then sleep until the next deadline, or end when there is none. */
  private readonly wake: Effect.Effect<void> = Effect.suspend(() => {
    for (let due = this.queue.first; due !== undefined; due = this.queue.first) {
      const wait = due.at - this.now()
      if (wait > 0) return Effect.zipRight(Effect.sleep(Duration.millis(wait)), this.wake)
      this.queue.remove(due)
      this.expire(due.item)
    }
    if (this.state._tag !== "Closed") this.state = idle
    return Effect.void
  })

  /** Drop every deadline and stop the fiber; later `add`s are ignored. */
  close(): void {
    const state = this.state
    this.state = { _tag: "Closed" }
    this.queue.clear()
    if (state._tag === "Sleeping") state.fiber.unsafeInterruptAsFork(FiberId.none)
  }
}
