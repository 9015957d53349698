/**
 * The handle `add` returns once a task is registered.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type { TaskOutcome } from "./TaskOutcome.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskHandle")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * `await` resolves exactly once, with the same outcome the `TaskFinished`
 * event carries, after the task's terminal cleanup (its name is free again).
 * It never depends on the event bus. Dropping the handle does not stop the task.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TaskHandle<out E = unknown> extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly id: number
  readonly name: string
  readonly await: Effect.Effect<TaskOutcome<E>>
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskHandle = (u: unknown): u is TaskHandle<unknown> => Predicate.hasProperty(u, TypeId)
