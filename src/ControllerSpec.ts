/**
 * Work submitted to the `Controller`: a task plus an admission
 * policy for its slot. Each slot (by default the task's name) has at most one
 * running owner; new work for a busy slot is queued (`queue`), replaces the
 * owner (`replace`), or is rejected (`dropIfRunning`).
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/config/controllerSpec.js"
import type { TaskSpec } from "./internal/config/taskSpec.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

export type {
  /**
   * - `Queue`: wait in the slot's FIFO queue (bounded by `maxSlotQueue`).
   * - `Replace`: stop the owner and become the next owner; a waiting replacement
   *   is superseded ("latest replace wins").
   * - `DropIfRunning`: rejected with `SlotBusy` while the slot has an owner.
   *
   * @since 0.1.0
   * @category Models
   */
  Admission,
  /**
   * @since 0.1.0
   * @category Models
   */
  ControllerSpec
} from "./internal/config/controllerSpec.js"

type Admission = internal.Admission
type ControllerSpec<E, R> = internal.ControllerSpec<E, R>

/**
 * @since 0.1.0
 * @category Guards
 */
export const isControllerSpec = (u: unknown): u is ControllerSpec<unknown, unknown> =>
  Predicate.hasProperty(u, internal.TypeId)

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E, R>(admission: Admission, task: TaskSpec<E, R>): ControllerSpec<E, R> =>
  internal.make(admission, task, undefined)

/**
 * Wait for the slot in FIFO order.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const queue = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> => internal.make("Queue", task, undefined)

/**
 * Stop the slot's owner and run next; the latest replacement wins.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const replace = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> => internal.make("Replace", task, undefined)

/**
 * Run only if the slot is free; otherwise rejected with `SlotBusy`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const dropIfRunning = <E, R>(task: TaskSpec<E, R>): ControllerSpec<E, R> =>
  internal.make("DropIfRunning", task, undefined)

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
  <E, R>(self: ControllerSpec<E, R>, key: string): ControllerSpec<E, R> => internal.make(self.admission, self.task, key)
)

/**
 * The slot key: the explicit one, else the task's name.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const slot: (self: ControllerSpec<unknown, unknown>) => string = internal.slot
