/**
 * A task: a name, the `Effect` each attempt runs, and its supervision
 * settings. Settings left unset inherit `SupervisorConfig.defaults` when the
 * task is admitted; `null` explicitly disables a default timeout or retry limit.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type { Inspectable } from "effect/Inspectable"
import * as Layer from "effect/Layer"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type { BackoffPolicy } from "./BackoffPolicy.js"
import * as RestartPolicy from "./RestartPolicy.js"
import { ConfigError } from "./SupervisorError.js"
import type { ShuttingDown, TaskAlreadyExists } from "./SupervisorError.js"
import type { TaskPanicked, TaskTimeout } from "./TaskError.js"
import { TaskSupervisor } from "./TaskSupervisor.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskSpec")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * What a retry schedule receives for each failed attempt: the task's typed
 * failure, a `TaskTimeout`, or a `TaskPanicked` wrapping a defect.
 *
 * @since 0.1.0
 * @category Models
 */
export type AttemptFailure<E> = E | TaskTimeout | TaskPanicked

/**
 * How failed attempts are spaced: a `BackoffPolicy`, or any `Schedule` whose
 * delays are the backoff and whose end means retries are exhausted.
 *
 * @since 0.1.0
 * @category Models
 */
export type Retry = BackoffPolicy | Schedule.Schedule<unknown, any, any>

/**
 * @since 0.1.0
 * @category Models
 */
export interface TaskSpec<out E = never, out R = never> extends Pipeable, Inspectable {
  readonly [TypeId]: {
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
  }
  readonly name: string
  /** Run once per attempt; its value is ignored. */
  readonly effect: Effect.Effect<unknown, E, R>
  /** `undefined` inherits the supervisor default. */
  readonly restart: RestartPolicy.RestartPolicy | undefined
  /** `undefined` inherits the supervisor default. */
  readonly retry: Retry | undefined
  /** Per-attempt timeout; `null` or zero means none, `undefined` inherits. Validated at admission. */
  readonly timeout: Duration.DurationInput | null | undefined
  /** Retries allowed per failure streak; `null` means unlimited, `undefined` inherits. */
  readonly maxRetries: number | null | undefined
  /** Typed failures this accepts end the task `Fatal` instead of being retried. */
  readonly isFatal: ((error: unknown) => boolean) | undefined
}

/**
 * @since 0.1.0
 */
export declare namespace TaskSpec {
  /**
   * The typed failure of a spec type.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Error<T> = T extends TaskSpec<infer E, infer _R> ? E : never
  /**
   * The requirements of a spec type.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Context<T> = T extends TaskSpec<infer _E, infer R> ? R : never
  /**
   * The spec type of an iterable of specs.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Elements<T> = T extends Iterable<infer A> ? A : never
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options<E> {
  readonly restart?: RestartPolicy.RestartPolicy | undefined
  readonly backoff?: BackoffPolicy | undefined
  readonly timeout?: Duration.DurationInput | null | undefined
  readonly maxRetries?: number | null | undefined
  readonly isFatal?: ((error: E) => boolean) | undefined
}

const Proto = {
  [TypeId]: {
    _E: (_: never) => _,
    _R: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: TaskSpec<unknown, unknown>) {
    return {
      _id: "TaskSpec",
      name: this.name,
      restart: this.restart?._tag,
      timeout: this.timeout === undefined || this.timeout === null ? this.timeout : String(this.timeout),
      maxRetries: this.maxRetries
    }
  },
  toString(this: TaskSpec<unknown, unknown>) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: TaskSpec<unknown, unknown>) {
    return this.toJSON()
  }
}

type Fields = Pick<TaskSpec<any, any>, "name" | "effect" | "restart" | "retry" | "timeout" | "maxRetries" | "isFatal">

const build = <E, R>(fields: Fields): TaskSpec<E, R> => Object.assign(Object.create(Proto), fields)

/** A name is refused when the spec is built, as a bad interval is: an empty name would only fail at admission. */
const checkName = (name: unknown): string => {
  if (typeof name !== "string") {
    throw new ConfigError({ field: "name", reason: `a task name must be a string, got ${String(name)}` })
  }
  if (name.length === 0) throw new ConfigError({ field: "name", reason: "a task needs a non-empty name" })
  return name
}

const fieldsOf = (self: TaskSpec<any, any>): Fields => ({
  name: self.name,
  effect: self.effect,
  restart: self.restart,
  retry: self.retry,
  timeout: self.timeout,
  maxRetries: self.maxRetries,
  isFatal: self.isFatal
})

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskSpec = (u: unknown): u is TaskSpec<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * A task whose settings all inherit the supervisor defaults unless given.
 * Each attempt runs `effect` in a `Scope` of its own, closed when the attempt
 * ends. An empty name throws a `ConfigError` naming `name`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, options?: Options<E>): TaskSpec<E, R> =>
  build({
    name: checkName(name),
    effect,
    restart: options?.restart,
    retry: options?.backoff,
    timeout: options?.timeout,
    maxRetries: options?.maxRetries,
    isFatal: options?.isFatal as ((error: unknown) => boolean) | undefined
  })

/**
 * A task that runs once (restart `never`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const once = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, options?: Options<E>): TaskSpec<E, R> =>
  make(name, effect, { ...options, restart: RestartPolicy.never })

/**
 * A task whose failures are retried (restart `onFailure`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const restartable = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: Options<E>
): TaskSpec<E, R> => make(name, effect, { ...options, restart: RestartPolicy.onFailure })

/**
 * A task that runs again `every` after each success (restart `always`); a
 * zero `every` restarts after at least 1 ms.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const periodic = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  every: Duration.DurationInput,
  options?: Options<E>
): TaskSpec<E, R> => make(name, effect, { ...options, restart: RestartPolicy.always({ interval: every }) })

/**
 * @since 0.1.0
 * @category Combinators
 */
export const withRestart: {
  (restart: RestartPolicy.RestartPolicy): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, restart: RestartPolicy.RestartPolicy): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, restart: RestartPolicy.RestartPolicy): TaskSpec<E, R> =>
    build({ ...fieldsOf(self), restart })
)

/**
 * Space retries with a `BackoffPolicy`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withBackoff: {
  (backoff: BackoffPolicy): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, backoff: BackoffPolicy): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, backoff: BackoffPolicy): TaskSpec<E, R> => build({ ...fieldsOf(self), retry: backoff })
)

/**
 * Space retries with any `Schedule` fed the attempt's failure: each
 * recurrence's delay is the backoff, and the schedule ending means retries are
 * exhausted. A success resets it to its initial state.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withSchedule: {
  <E, X, R2>(
    schedule: Schedule.Schedule<X, AttemptFailure<Types.NoInfer<E>>, R2>
  ): <R>(self: TaskSpec<E, R>) => TaskSpec<E, R | R2>
  <E, R, X, R2>(self: TaskSpec<E, R>, schedule: Schedule.Schedule<X, AttemptFailure<E>, R2>): TaskSpec<E, R | R2>
} = dual(
  2,
  <E, R, X, R2>(self: TaskSpec<E, R>, schedule: Schedule.Schedule<X, AttemptFailure<E>, R2>): TaskSpec<E, R | R2> =>
    build({ ...fieldsOf(self), retry: schedule })
)

/**
 * Bound each attempt; `null` or zero disables an inherited timeout.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withTimeout: {
  (timeout: Duration.DurationInput | null): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, timeout: Duration.DurationInput | null): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, timeout: Duration.DurationInput | null): TaskSpec<E, R> =>
    build({ ...fieldsOf(self), timeout })
)

/**
 * Allow `maxRetries` retries per failure streak (so `maxRetries + 1`
 * attempts); `null` means unlimited, overriding a default limit.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withMaxRetries: {
  (maxRetries: number | null): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, maxRetries: number | null): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, maxRetries: number | null): TaskSpec<E, R> => build({ ...fieldsOf(self), maxRetries })
)

/**
 * Treat the typed failures `isFatal` accepts as fatal: the task stops with
 * outcome `Fatal` instead of retrying.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withFatal: {
  <E>(isFatal: (error: Types.NoInfer<E>) => boolean): <R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, isFatal: (error: E) => boolean): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, isFatal: (error: E) => boolean): TaskSpec<E, R> =>
    build({ ...fieldsOf(self), isFatal: isFatal as (error: unknown) => boolean })
)

/**
 * @since 0.1.0
 * @category Models
 */
export interface CurrentTaskInfo {
  readonly id: number
  readonly name: string
  readonly attempt: number
}

/**
 * The running task's id, name and attempt, readable inside a task. Attempts
 * count from 1 and every run counts, so under `always` it numbers the runs.
 * Outside a task it reads id 0, an empty name and attempt 0.
 *
 * @since 0.1.0
 * @category Services
 */
export class CurrentTask extends Context.Reference<CurrentTask>()("effect-taskvisor/CurrentTask", {
  defaultValue: (): CurrentTaskInfo => ({ id: 0, name: "", attempt: 0 })
}) {}

/**
 * A Layer that adds the task to the `TaskSupervisor` when built and cancels it
 * (waiting for its cleanup) when the layer's scope closes. The task's
 * requirements come from the layer's context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const toLayer = <E, R>(
  self: TaskSpec<E, R>
): Layer.Layer<never, TaskAlreadyExists | ShuttingDown | ConfigError, TaskSupervisor | Exclude<R, Scope.Scope>> =>
  Layer.scopedDiscard(
    Effect.flatMap(TaskSupervisor, (supervisor) =>
      Effect.acquireRelease(
        supervisor.add(self),
        (handle) => Effect.ignore(supervisor.cancel(handle.id))
      ))
  )
