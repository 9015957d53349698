/** The handle `add` returns, and the one-shot cell a task's outcome is delivered through. */
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type { TaskOutcome } from "../TaskOutcome.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskHandle")

export type TypeId = typeof TypeId

export interface TaskHandle<out E = unknown> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly id: number
  readonly name: string
  readonly await: Effect.Effect<TaskOutcome<E>>
}

/**
 * The one-shot cell a task's outcome is delivered through. It does what a
 * `Deferred` would, without the copy of the Effect prototype every `Deferred`
 * carries (about 800 bytes and the largest single cost of an `add`).
 */
export class Outcome {
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

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  get await(): Effect.Effect<TaskOutcome<any>> {
    return (this as unknown as { readonly outcome: Outcome }).outcome.await
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: TaskHandle) {
    return { _id: "TaskHandle", id: this.id, name: this.name }
  }
}

/** @internal */
export const make = <E>(id: number, name: string, outcome: Outcome): TaskHandle<E> => {
  const self = Object.create(Proto)
  self.id = id
  self.name = name
  self.outcome = outcome
  return self
}
