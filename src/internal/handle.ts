import * as Deferred from "effect/Deferred"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import type { TaskHandle } from "../TaskHandle.js"
import { TypeId } from "../TaskHandle.js"
import type { TaskOutcome } from "../TaskOutcome.js"

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: TaskHandle) {
    return { _id: "TaskHandle", id: this.id, name: this.name }
  },
  toString(this: TaskHandle) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: TaskHandle) {
    return this.toJSON()
  }
}

/** @internal */
export const make = <E>(id: number, name: string, outcome: Deferred.Deferred<TaskOutcome<E>>): TaskHandle<E> => {
  const self = Object.create(Proto)
  self.id = id
  self.name = name
  self.await = Deferred.await(outcome)
  return self
}
