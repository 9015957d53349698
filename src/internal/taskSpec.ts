/** The task spec as data: its model, its prototype, `CurrentTask`, and the types a batch of specs maps to. */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type { BackoffPolicy } from "../BackoffPolicy.js"
import type { RestartPolicy } from "../RestartPolicy.js"
import type { TaskPanicked, TaskTimeout } from "../TaskError.js"
import type { TaskOutcome } from "../TaskOutcome.js"
import { ConfigError } from "./supervisorError.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskSpec")

export type TypeId = typeof TypeId

/** What a retry schedule receives for each failed attempt. */
export type AttemptFailure<E> = E | TaskTimeout | TaskPanicked

/** How failed attempts are spaced. */
export type Retry = BackoffPolicy | Schedule.Schedule<unknown, any, any>

export interface TaskSpec<out E = never, out R = never> extends Pipeable, Inspectable {
  readonly [TypeId]: {
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
  }
  readonly name: string
  /** Run once per attempt; its value is ignored. */
  readonly effect: Effect.Effect<unknown, E, R>
  /** `undefined` inherits the supervisor default. */
  readonly restart: RestartPolicy | undefined
  /** `undefined` inherits the supervisor default. */
  readonly retry: Retry | undefined
  /** Per-attempt timeout; `null` or zero means none, `undefined` inherits. Validated at admission. */
  readonly timeout: Duration.DurationInput | null | undefined
  /** Retries allowed per failure streak; `null` means unlimited, `undefined` inherits. */
  readonly maxRetries: number | null | undefined
  /** Typed failures this accepts end the task `Fatal` instead of being retried. */
  readonly isFatal: ((error: unknown) => boolean) | undefined
}

export declare namespace TaskSpec {
  /** The typed failure of a spec type. */
  export type Error<T> = T extends TaskSpec<infer E, infer _R> ? E : never
  /** The requirements of a spec type. */
  export type Context<T> = T extends TaskSpec<infer _E, infer R> ? R : never
  /** The spec type of an iterable of specs. */
  export type Elements<T> = T extends Iterable<infer A> ? A : never
}

/** Each spec's outcome in batch order, typed per position for a tuple. */
export type Outcomes<Specs extends Iterable<TaskSpec<any, any>>> = Specs extends ReadonlyArray<any>
  ? { -readonly [K in keyof Specs]: TaskOutcome<TaskSpec.Error<Specs[K]>> }
  : Array<TaskOutcome<TaskSpec.Error<TaskSpec.Elements<Specs>>>>

/** The union of a batch's requirements, except the `Scope` each attempt gets of its own. */
export type BatchContext<Specs extends Iterable<TaskSpec<any, any>>> = Exclude<
  TaskSpec.Context<TaskSpec.Elements<Specs>>,
  Scope.Scope
>

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

export type Fields = Pick<
  TaskSpec<any, any>,
  "name" | "effect" | "restart" | "retry" | "timeout" | "maxRetries" | "isFatal"
>

/** A name is refused when the spec is built, as a bad interval is: an empty name would only fail at admission. */
const checkName = (name: unknown): string => {
  if (typeof name !== "string") {
    throw new ConfigError({ field: "name", reason: `a task name must be a string, got ${String(name)}` })
  }
  if (name.length === 0) throw new ConfigError({ field: "name", reason: "a task needs a non-empty name" })
  return name
}

export const make = <E, R>(fields: Fields): TaskSpec<E, R> =>
  Object.assign(Object.create(Proto), fields, { name: checkName(fields.name) })

/** A copy of `self` with some fields replaced. */
export const update = <E, R>(self: TaskSpec<any, any>, fields: Partial<Fields>): TaskSpec<E, R> =>
  make({
    name: self.name,
    effect: self.effect,
    restart: self.restart,
    retry: self.retry,
    timeout: self.timeout,
    maxRetries: self.maxRetries,
    isFatal: self.isFatal,
    ...fields
  })

export interface CurrentTaskInfo {
  readonly id: number
  readonly name: string
  readonly attempt: number
}

export class CurrentTask extends Context.Reference<CurrentTask>()("effect-taskvisor/CurrentTask", {
  defaultValue: (): CurrentTaskInfo => ({ id: 0, name: "", attempt: 0 })
}) {}
