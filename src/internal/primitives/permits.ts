/** The `maxConcurrent` limit: permits handed out first come, first served, one wake-up per release. */
import * as Effect from "effect/Effect"
import { Queue } from "./queue.js"

/** Whatever takes a permit; the flag says whether it holds one, so a permit is given back exactly once. */
export interface Holder {
  holdsPermit: boolean
}

interface Waiter {
  readonly holder: Holder
  readonly resume: (effect: Effect.Effect<void>) => void
  next: Waiter | undefined
  prev: Waiter | undefined
}

/**
 * A counting semaphore with a FIFO queue of waiters. A release hands its permit
 * straight to the first waiter and wakes only that one (Effect's `Semaphore`
 * wakes every waiter on each release, which is quadratic in the queue length).
 * A permit handed to a waiter that is interrupted before it resumes stays marked
 * on its holder, so the holder's `release` gives it back.
 */
export class Permits {
  private readonly waiters = new Queue<Waiter>()

  constructor(private available: number) {}

  /** Wait for a permit for `holder`; interruption while waiting leaves the queue. */
  take(holder: Holder): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.available > 0) {
        this.available--
        holder.holdsPermit = true
        return Effect.void
      }
      return Effect.async<void>((resume) => {
        const waiter: Waiter = { holder, resume, next: undefined, prev: undefined }
        this.waiters.push(waiter)
        return Effect.sync(() => this.waiters.remove(waiter))
      })
    })
  }

  /** Give back `holder`'s permit, if it holds one: to the first waiter, or to the pool. */
  release(holder: Holder): void {
    if (!holder.holdsPermit) return
    holder.holdsPermit = false
    const first = this.waiters.first
    if (first === undefined) {
      this.available++
      return
    }
    this.waiters.remove(first)
    first.holder.holdsPermit = true
    first.resume(Effect.void)
  }
}
