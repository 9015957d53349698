/** Work submitted to the controller, as data: its model, its prototype and its slot key. */
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type * as Types from "effect/Types"
import type { TaskSpec } from "./taskSpec.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/ControllerSpec")

export type TypeId = typeof TypeId

export type Admission = "Queue" | "Replace" | "DropIfRunning"

export interface ControllerSpec<out E = never, out R = never> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: {
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
  }
  readonly admission: Admission
  readonly task: TaskSpec<E, R>
  /** An explicit slot key; `undefined` uses the task's name. */
  readonly slotOverride: string | undefined
}

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: {
    _E: (_: never) => _,
    _R: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: ControllerSpec<unknown, unknown>) {
    return { _id: "ControllerSpec", admission: this.admission, task: this.task.name, slot: slot(this) }
  }
}

export const make = <E, R>(
  admission: Admission,
  task: TaskSpec<E, R>,
  slotOverride: string | undefined
): ControllerSpec<E, R> => Object.assign(Object.create(Proto), { admission, task, slotOverride })

export const slot = (self: ControllerSpec<unknown, unknown>): string => self.slotOverride ?? self.task.name
