/** The handle `add` returns: a task's id and name, and its outcome through the task's `OutcomeCell`. */
import type * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { OutcomeCell } from "../primitives/outcomeCell.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskHandle")

export type TypeId = typeof TypeId

export interface TaskHandle<out E = unknown> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly id: number
  readonly name: string
  readonly await: Effect.Effect<TaskOutcome<E>>
}

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  get await(): Effect.Effect<TaskOutcome<any>> {
    return (this as unknown as { readonly outcome: OutcomeCell }).outcome.await
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: TaskHandle) {
    return { _id: "TaskHandle", id: this.id, name: this.name }
  }
}

/** @internal */
export const make = <E>(id: number, name: string, outcome: OutcomeCell): TaskHandle<E> => {
  const self = Object.create(Proto)
  self.id = id
  self.name = name
  self.outcome = outcome
  return self
}
