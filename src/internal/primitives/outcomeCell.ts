/** The one-shot cell a task's outcome is delivered through. */
import * as Effect from "effect/Effect"
import type { TaskOutcome } from "../data/taskOutcome.js"

/**
 * The one-shot cell a task's outcome is delivered through. It does what a
 * `Deferred` would, without the copy of the Effect prototype every `Deferred`
 * carries (about 800 bytes and the largest single cost of an `add`).
 */
export class OutcomeCell {
  private value: TaskOutcome<any> | undefined = undefined
  private waiters: Array<(effect: Effect.Effect<TaskOutcome<any>>) => void> | undefined = undefined

  /** Complete the cell; later calls are ignored. Waiters resume on their own fibers. */
  complete(outcome: TaskOutcome<any>): void {
    if (this.value !== undefined) return
    this.value = outcome
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters !== undefined) {
      const done = Effect.succeed(outcome)
      for (const resume of waiters) resume(done)
    }
  }

  /** The outcome if the cell is complete. */
  get completed(): TaskOutcome<any> | undefined {
    return this.value
  }

  /** The outcome, once the cell is complete (built on demand: most cells are never awaited). */
  get await(): Effect.Effect<TaskOutcome<any>> {
    return Effect.suspend(() =>
      this.value !== undefined ? Effect.succeed(this.value) : Effect.async((resume) => {
        // checked again: the fiber may have yielded between the check above and this registration
        if (this.value !== undefined) return resume(Effect.succeed(this.value))
        ;(this.waiters ??= []).push(resume)
        return Effect.sync(() => {
          const index = this.waiters?.indexOf(resume) ?? -1
          if (index >= 0) this.waiters!.splice(index, 1)
        })
      })
    )
  }
}
