/** The context an attempt runs in: its caller's services, with the attempt's `Scope` and `CurrentTask` over them. */
import * as Context from "effect/Context"
import * as Scope from "effect/Scope"
import type { Task } from "./task.js"
import { CurrentTask, type CurrentTaskInfo } from "./taskSpec.js"

const scopeKey = Scope.Scope.key
const currentTaskKey = CurrentTask.key

/**
 * The services an attempt runs with: its caller's, with the attempt's `Scope`
 * and `CurrentTask` over them, read through rather than copied (a copy of the
 * caller's services per task and per attempt grows with the application: it
 * was the largest allocation of both). Like any context's map it is never
 * written to: Effect copies it through its iterator to extend it.
 */
class AttemptServices implements ReadonlyMap<string, unknown> {
  constructor(
    private readonly base: ReadonlyMap<string, unknown>,
    private readonly scope: Scope.Scope,
    private readonly current: CurrentTaskInfo
  ) {}

  get(key: string): unknown {
    return key === scopeKey ? this.scope : key === currentTaskKey ? this.current : this.base.get(key)
  }

  has(key: string): boolean {
    return key === scopeKey || key === currentTaskKey || this.base.has(key)
  }

  get size(): number {
    return this.base.size + (this.base.has(scopeKey) ? 0 : 1) + (this.base.has(currentTaskKey) ? 0 : 1)
  }

  *entries(): MapIterator<[string, unknown]> {
    // the attempt's own first: comparing two attempts' contexts stops at the first entry
    yield [scopeKey, this.scope]
    yield [currentTaskKey, this.current]
    for (const entry of this.base) {
      if (entry[0] !== scopeKey && entry[0] !== currentTaskKey) yield entry
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

/** The context of the task's next attempt: its caller's, with the attempt's scope and `CurrentTask`. */
export const attemptContext = (base: Context.Context<never>, task: Task, scope: Scope.Scope): Context.Context<never> =>
  Context.unsafeMake(
    new AttemptServices(base.unsafeMap, scope, {
      id: task.id,
      name: task.spec.name,
      attempt: task.attempt + 1
    }) as unknown as Map<string, any>
  )
