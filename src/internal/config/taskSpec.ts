/** The task spec as data: its model, its prototype, and the types a batch of specs maps to. */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type { ConfigError } from "../data/supervisorError.js"
import type { TaskPanicked, TaskStalled, TaskTimeout } from "../data/taskError.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { BackoffPolicy } from "./backoffPolicy.js"
import type { CronSchedule } from "./cron.js"
import type { RestartPolicy } from "./restartPolicy.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskSpec")

export type TypeId = typeof TypeId

/** What a retry schedule receives for each failed attempt. */
export type AttemptFailure<E> = E | TaskTimeout | TaskStalled | TaskPanicked

/** How failed attempts are spaced. */
export type Retry = BackoffPolicy | Schedule.Schedule<unknown, any, any>

export interface TaskSpec<out E = never, out R = never> extends Pipeable, Inspectable.Inspectable {
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
  /** The most restarts allowed within a window; `null` disables a default, `undefined` inherits. */
  readonly intensity: Intensity | null | undefined
  /** An attempt that runs this long resets the backoff and the retry budget, even if it then fails. */
  readonly resetAfter: Duration.DurationInput | undefined
  /** An attempt that reports no progress for this long is interrupted as stalled. */
  readonly watchdog: Duration.DurationInput | undefined
  /** Whether its group's `autoShutdown` watches it (for a group's child). */
  readonly significant: boolean
  /** A group's children and options; `undefined` for a plain task. */
  readonly group: Group | undefined
  /** For a cron task: when it runs; `undefined` for any other. */
  readonly cron: CronSchedule | undefined
  /** Whether each attempt is `Starting` until its body says it is ready (a child process's readiness). */
  readonly awaitsReady: boolean
  /** Whether its attempt is told when its task is force-aborted (a worker thread is terminated then). */
  readonly awaitsForceAbort: boolean
  /**
   * A check of what a kind of task adds to the spec (a process task's
   * options), run at admission with the others against the supervisor's
   * `limits`: the refusal, its field named by `field`, or `undefined`.
   */
  readonly check?: ((field: (name: string) => string, limits: Limits) => ConfigError | undefined) | undefined
}

/** What a spec's `check` may hold its options against: the supervisor's settings that bound them. */
export interface Limits {
  /** How long a stopped task may take to stop before it is force-aborted. */
  readonly grace: Duration.Duration
}

/**
 * OTP's restart intensity: more than `maxRestarts` restarts within any window
 * of `within` and the task gives up (`"fail"`, the default) or is parked,
 * trying again every `park`.
 */
export interface Intensity {
  readonly maxRestarts: number
  readonly within: Duration.DurationInput
  readonly onExhausted?: "fail" | { readonly park: Duration.DurationInput } | undefined
}

/** How a group restarts its children when one of them restarts (OTP's strategies). */
export type Strategy = "oneForOne" | "oneForAll" | "restForOne"

/** When a group's attempt ends because its significant children ended (OTP's `auto_shutdown`). */
export type AutoShutdown = "never" | "anySignificant" | "allSignificant"

export interface GroupOptions {
  /** Default `oneForOne`. */
  readonly strategy?: Strategy | undefined
  /** The most restarts of its children within a window before the group's attempt gives up; none by default. */
  readonly intensity?: { readonly maxRestarts: number; readonly within: Duration.DurationInput } | undefined
  /** Default `never`. */
  readonly autoShutdown?: AutoShutdown | undefined
}

/** A group's children, in start order, and its options. */
export interface Group {
  readonly children: ReadonlyArray<TaskSpec<any, any>>
  readonly options: GroupOptions
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
  ...Inspectable.BaseProto,
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
      maxRetries: this.maxRetries,
      ...(this.cron === undefined ? {} : { cron: this.cron.expression, timeZone: this.cron.options.timeZone ?? "UTC" }),
      ...(this.group === undefined
        ? {}
        : {
          strategy: this.group.options.strategy ?? "oneForOne",
          // a child that is not a spec (a cast) is refused at admission; printing the group must not throw first
          children: this.group.children.map((c) => (c as Partial<TaskSpec<unknown, unknown>> | null | undefined)?.name)
        })
    }
  }
}

export type Fields = Pick<
  TaskSpec<any, any>,
  | "name"
  | "effect"
  | "restart"
  | "retry"
  | "timeout"
  | "maxRetries"
  | "isFatal"
  | "intensity"
  | "resetAfter"
  | "watchdog"
  | "significant"
  | "group"
  | "cron"
  | "awaitsReady"
  | "awaitsForceAbort"
  | "check"
>

/** Every field is checked when the task is admitted (config/resolve.ts), the name too. */
export const make = <E, R>(fields: Fields): TaskSpec<E, R> => Object.assign(Object.create(Proto), fields)

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
    intensity: self.intensity,
    resetAfter: self.resetAfter,
    watchdog: self.watchdog,
    significant: self.significant,
    group: self.group,
    cron: self.cron,
    awaitsReady: self.awaitsReady,
    awaitsForceAbort: self.awaitsForceAbort,
    check: self.check,
    ...fields
  })
