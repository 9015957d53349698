/** The context an attempt runs in: its caller's services, with the attempt's own over them. */
import * as Context from "effect/Context"
import * as Scope from "effect/Scope"
import {
  type AttemptControl,
  CurrentAttemptControl,
  CurrentTask,
  type CurrentTaskInfo
} from "../task/attemptControl.js"
import type { Task } from "../task/task.js"

const scopeKey = Scope.Scope.key
const currentTaskKey = CurrentTask.key
const controlKey = CurrentAttemptControl.key

const own = (key: string): boolean => key === scopeKey || key === currentTaskKey || key === controlKey

/**
 * The services an attempt runs with: its caller's, with the attempt's
 * `Scope`, `CurrentTask` and control (its watchdog's `progress`, a group's
 * host) over them, read through rather than copied (a copy of the caller's
 * services per task and per attempt grows with the application: it was the
 * largest allocation of both). Like any context's map it is never written
 * to: Effect copies it through its iterator to extend it.
 */
class AttemptServices implements ReadonlyMap<string, unknown> {
  constructor(
    readonly base: ReadonlyMap<string, unknown>,
    private readonly scope: Scope.Scope,
    private readonly current: CurrentTaskInfo,
    private readonly control: AttemptControl
  ) {}

  get(key: string): unknown {
    return key === scopeKey
      ? this.scope
      : key === currentTaskKey
      ? this.current
      : key === controlKey
      ? this.control
      : this.base.get(key)
  }

  has(key: string): boolean {
    return own(key) || this.base.has(key)
  }

  get size(): number {
    let shadowed = 0
    for (const key of [scopeKey, currentTaskKey, controlKey]) if (this.base.has(key)) shadowed++
    return this.base.size + 3 - shadowed
  }

  *entries(): MapIterator<[string, unknown]> {
    // the attempt's own first: comparing two attempts' contexts stops at the first entry
    yield [scopeKey, this.scope]
    yield [currentTaskKey, this.current]
    yield [controlKey, this.control]
    for (const entry of this.base) {
      if (!own(entry[0])) yield entry
    }
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key
  }

  *values(): MapIterator<unknown> {
    for (const [, value] of this.entries()) yield value
  }

  forEach(f: (value: unknown, key: string, map: ReadonlyMap<string, unknown>) => void, self?: unknown): void {
    for (const [key, value] of this.entries()) f.call(self, value, key, this)
  }

  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries()
  }
}

/** The context of the task's next attempt: its caller's, with the attempt's scope, `CurrentTask` and control. */
export const attemptContext = (
  base: Context.Context<never>,
  task: Task,
  scope: Scope.Scope,
  control: AttemptControl
): Context.Context<never> =>
  Context.unsafeMake(
    // a task added by an attempt reads through to that attempt's caller: its own entries are shadowed anyway, and
    // views over views would grow with every generation of tasks adding tasks
    new AttemptServices(base.unsafeMap instanceof AttemptServices ? base.unsafeMap.base : base.unsafeMap, scope, {
      id: task.id,
      name: task.spec.name,
      attempt: task.attempt + 1
    }, control) as unknown as Map<string, any>
  )
