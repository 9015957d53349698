/** The context an attempt runs in: its caller's services, with the attempt's own over them. */
import type * as Context from "effect/Context"
import * as Scope from "effect/Scope"
import { contextOf, ContextView, servicesOf } from "../effectInternals/contextView.js"
import {
  type AttemptControl,
  CurrentAttemptControl,
  CurrentTask,
  type CurrentTaskInfo
} from "../task/attemptControl.js"
import type { Task } from "../task/task.js"

/** The attempt's own services, in the order a comparison of two attempts' contexts meets them. */
const attemptKeys: ReadonlyArray<string> = [Scope.Scope.key, CurrentTask.key, CurrentAttemptControl.key]

/**
 * The services an attempt runs with: its caller's, with the attempt's
 * `Scope`, `CurrentTask` and control (its watchdog's `progress`, a group's
 * host) over them, read through rather than copied (a copy of the caller's
 * services per task and per attempt grows with the application: it was the
 * largest allocation of both).
 */
class AttemptServices extends ContextView {
  constructor(
    base: ReadonlyMap<string, unknown>,
    private readonly scope: Scope.Scope,
    private readonly current: CurrentTaskInfo,
    private readonly control: AttemptControl
  ) {
    super(base)
  }

  protected get ownKeys(): ReadonlyArray<string> {
    return attemptKeys
  }

  protected ownValue(index: number): unknown {
    return index === 0 ? this.scope : index === 1 ? this.current : this.control
  }
}

/** The context of the task's next attempt: its caller's, with the attempt's scope, `CurrentTask` and control. */
export const attemptContext = (
  base: Context.Context<never>,
  task: Task,
  scope: Scope.Scope,
  control: AttemptControl
): Context.Context<never> => {
  const services = servicesOf(base)
  // a task added by an attempt reads through to that attempt's caller: its own entries are shadowed anyway, and
  // views over views would grow with every generation of tasks adding tasks
  return contextOf(
    new AttemptServices(services instanceof AttemptServices ? services.base : services, scope, {
      id: task.id,
      name: task.spec.name,
      attempt: task.attempt + 1
    }, control)
  )
}
