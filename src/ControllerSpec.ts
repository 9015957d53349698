/**
 * Work submitted to the `Controller`: a task plus an admission
 * policy for its slot. Each slot (by default the task's name) has at most one
 * running owner; new work for a busy slot is queued (`queue`), replaces the
 * owner (`replace`), or is rejected (`dropIfRunning`).
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Types from "effect/Types"
import type { TaskSpec } from "./internal/taskSpec.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/ControllerSpec")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * - `Queue`: wait in the slot's FIFO queue (bounded by `maxSlotQueue`).
 * - `Replace`: stop the owner and become the next owner; a waiting replacement
 *   is superseded ("latest replace wins").
 * - `DropIfRunning`: rejected with `SlotBusy` while the slot has an owner.
 *
 * @since 0.1.0
 * @category Models
 */
export type Admission = "Queue" | "Replace" | "DropIfRunning"

/**
 * @since 0.1.0
 * @category Models
 */
export interface ControllerSpec<out E = never, out R = never> extends Pipeable, Inspectable {
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
  [TypeId]: {
    _E: (_: never) => _,
    _R: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: ControllerSpec<unknown, unknown>) {
    return { _id: "ControllerSpec", admission: this.admission, task: this.task.name, slot: slot(this) }
  },
  toString(this: ControllerSpec<unknown, unknown>) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: ControllerSpec<unknown, unknown>) {
    return this.toJSON()
  }
}

const build = <E, R>(
  admission: Admission,
  task: TaskSpec<E, R>,
  slotOverride: string | undefined
): ControllerSpec<E, R> => Object.assign(Object.create(Proto), { admission, task, slotOverride })

/**
 * @since 0.1.0
 * @category Guards
 */
export const isControllerSpec = (u: unknown): u is ControllerSpec<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E, R>(admission: Admission, task: TaskSpec<E, R>): ControllerSpec<E, R> =>
  build(admission, task, undefined)

/**
 * Wait for the slot in FIFO order.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const queue = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> => build("Queue", task, undefined)

/**
 * Stop the slot's owner and run next; the latest replacement wins.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const replace = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> => build("Replace", task, undefined)

/**
 * Run only if the slot is free; otherwise rejected with `SlotBusy`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const dropIfRunning = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> =>
  build("DropIfRunning", task, undefined)

/**
 * Use `key` as the slot instead of the task's name.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withSlot: {
  (key: string): <E, R>(self: ControllerSpec<E, R>) => ControllerSpec<E, R>
  <E, R>(self: ControllerSpec<E, R>, key: string): ControllerSpec<E, R>
} = dual(
  2,
  <E, R>(self: ControllerSpec<E, R>, key: string): ControllerSpec<E, R> => build(self.admission, self.task, key)
)

/**
 * The slot key: the explicit one, else the task's name.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const slot = (self: ControllerSpec<unknown, unknown>): string => self.slotOverride ?? self.task.name
