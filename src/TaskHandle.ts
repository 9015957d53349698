/**
 * The handle `add` returns once a task is registered.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/task/taskHandle.js"

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
   * `await` resolves exactly once, with the same outcome the `TaskFinished`
   * event carries, after the task's terminal cleanup (its name is free again).
   * It never depends on the event bus. Dropping the handle does not stop the task.
   *
   * @since 0.1.0
   * @category Models
   */
  TaskHandle
} from "./internal/task/taskHandle.js"

type TaskHandle<E = unknown> = internal.TaskHandle<E>

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskHandle = (u: unknown): u is TaskHandle<unknown> => Predicate.hasProperty(u, internal.TypeId)
