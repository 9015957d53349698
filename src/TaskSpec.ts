/**
 * A task: a name, the `Effect` each attempt runs, and its supervision
 * settings. Settings left unset inherit `SupervisorConfig.defaults` when the
 * task is admitted; `null` explicitly disables a default timeout or retry limit.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type { BackoffPolicy } from "./BackoffPolicy.js"
import type { CronOptions } from "./internal/config/cron.js"
import * as internal from "./internal/config/taskSpec.js"
import * as groups from "./internal/group/group.js"
import * as attemptControl from "./internal/task/attemptControl.js"
import * as RestartPolicy from "./RestartPolicy.js"
import type { ConfigError, ShuttingDown, TaskAlreadyExists } from "./SupervisorError.js"
import type { GroupFailed } from "./TaskError.js"
import { TaskSupervisor } from "./TaskSupervisor.js"

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
   * What a retry schedule receives for each failed attempt: the task's typed
   * failure, a `TaskTimeout`, or a `TaskPanicked` wrapping a defect.
   *
   * @since 0.1.0
   * @category Models
   */
  AttemptFailure,
  /**
   * When a group's attempt ends because its significant children ended, as
   * OTP's `auto_shutdown`: `never` (the default), `anySignificant` (the first
   * one that ends by itself), `allSignificant` (once all of them have).
   *
   * @since 0.1.0
   * @category Models
   */
  AutoShutdown,
  /**
   * A group's strategy, its children's restart intensity and its `autoShutdown`.
   *
   * @since 0.1.0
   * @category Models
   */
  GroupOptions,
  /**
   * A restart intensity: at most `maxRestarts` restarts within any window of
   * `within`, and what the task does beyond it (`onExhausted`).
   *
   * @since 0.1.0
   * @category Models
   */
  Intensity,
  /**
   * How failed attempts are spaced: a `BackoffPolicy`, or any `Schedule` whose
   * delays are the backoff and whose end means retries are exhausted.
   *
   * @since 0.1.0
   * @category Models
   */
  Retry,
  /**
   * How a group restarts its children when one restarts, as OTP's
   * strategies: `oneForOne` (only that child), `oneForAll` (every child),
   * `restForOne` (that child and those started after it).
   *
   * @since 0.1.0
   * @category Models
   */
  Strategy,
  /**
   * A task spec: its name, the effect each attempt runs, and the settings it
   * does not inherit. `TaskSpec.Error<T>` and `TaskSpec.Context<T>` read a
   * spec type's failure and requirements.
   *
   * @since 0.1.0
   * @category Models
   */
  TaskSpec
} from "./internal/config/taskSpec.js"

export type {
  /**
   * The running task's id, name (its path, for a group's child), attempt, and
   * `progress`, which feeds its watchdog.
   *
   * @since 0.1.0
   * @category Models
   */
  CurrentTaskInfo
} from "./internal/task/attemptControl.js"

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
  readonly intensity?: Intensity | null | undefined
  readonly resetAfter?: Duration.DurationInput | undefined
  readonly watchdog?: Duration.DurationInput | undefined
}

type TaskSpec<E, R> = internal.TaskSpec<E, R>
type AttemptFailure<E> = internal.AttemptFailure<E>
type Intensity = internal.Intensity
type GroupOptions = internal.GroupOptions

/**
 * @since 0.1.0
 * @category Guards
 */
export const isTaskSpec = (u: unknown): u is TaskSpec<unknown, unknown> => Predicate.hasProperty(u, internal.TypeId)

/**
 * A task whose settings all inherit the supervisor defaults unless given.
 * Each attempt runs `effect` in a `Scope` of its own, closed when the attempt
 * ends. Nothing is checked here: every setting is, when the task is added
 * (`add`, `run`, `Controller.submit`), an empty name too, refused with a
 * `ConfigError` naming it.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { BackoffPolicy, RestartPolicy, TaskSpec } from "effect-taskvisor"
 *
 * // a poller that runs every 30 seconds, retries failures from 1 second up, and gives up after 5 in a row
 * const poller = TaskSpec.make("poll-inbox", Effect.log("polling"), {
 *   restart: RestartPolicy.always({ interval: "30 seconds" }),
 *   backoff: BackoffPolicy.exponential("1 second"),
 *   timeout: "10 seconds",
 *   maxRetries: 5
 * })
 *
 * // or any Schedule fed the failure
 * const polite = poller.pipe(TaskSpec.withSchedule(Schedule.spaced("5 seconds")))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, options?: Options<E>): TaskSpec<E, R> =>
  internal.make({
    name,
    effect,
    restart: options?.restart,
    retry: options?.backoff,
    timeout: options?.timeout,
    maxRetries: options?.maxRetries,
    isFatal: options?.isFatal as ((error: unknown) => boolean) | undefined,
    intensity: options?.intensity,
    resetAfter: options?.resetAfter,
    watchdog: options?.watchdog,
    significant: false,
    group: undefined,
    cron: undefined,
    awaitsReady: false,
    awaitsForceAbort: false
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
 * zero `every` restarts after at least 1 ms. An invalid `every` (negative,
 * NaN, infinite, malformed) refuses the task where it is added, with a
 * `ConfigError` naming its `restart`.
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

export type {
  /**
   * The options of `TaskSpec.cron` that shape its schedule: `timeZone`,
   * `overlap`, `catchUp` and `jitter`.
   *
   * @since 0.1.0
   * @category Models
   */
  CronOptions,
  /**
   * What a cron task does with a scheduled time that comes while a run of it
   * is still running: `skip` it (`RunSkipped`), `bufferOne` (the first is
   * kept and runs when the run ends, `RunBuffered`; later ones are skipped),
   * `bufferAll` (each is kept, `RunBuffered`, and they run one after another),
   * `cancelRunning` (the run is interrupted, `RunCanceled`, and the new one
   * starts) or `allow` (the new run starts beside it, within the same attempt).
   *
   * @since 0.1.0
   * @category Models
   */
  Overlap
} from "./internal/config/cron.js"

/**
 * A task run on a cron schedule, read by effect's `Cron` (5 fields, or 6 with
 * seconds first) in `timeZone` (an IANA name, `"UTC"` by default). It is an
 * ordinary task: each run is an attempt, with the task's timeout, retries,
 * restart intensity, group, controls and metrics; between runs it is
 * `Scheduled`, and `list`, `inspect` and the HTTP module show when it runs
 * next. A bad expression, time zone or option refuses the task where it is
 * added, with a `ConfigError` naming it.
 *
 * - A failed run is retried by its backoff within its slot: a retry that
 *   would start at or after the next scheduled time is not made, and neither
 *   is one past `maxRetries` or the end of its retry schedule; that run is
 *   over, and the task waits for its next time. A fatal failure or its
 *   restart intensity ends the task, as for any task.
 * - Daylight saving time: a local time that does not exist (02:30 when the
 *   clocks spring forward from 02:00 to 03:00) runs once, shifted by the gap
 *   (03:30); a local time that occurs twice (when they fall back) runs once,
 *   at its first occurrence.
 * - `overlap` (`"skip"` by default) decides about a scheduled time that comes
 *   while a run is still running.
 * - `catchUp` decides about scheduled times that passed while no run could
 *   start: the process was down, or the task paused. The missed times run
 *   once, together, if the latest of them is within the window; otherwise
 *   they are skipped (`RunSkipped`). `"none"` (the default) runs none of them.
 *   The latest scheduled time dealt with (a run started, or the time
 *   skipped) is kept in the `KeyValueStore` of `@effect/platform`, if the
 *   caller's context has one (under `effect-taskvisor/cron/<name>`); without
 *   one, a restart of the process loses what was missed while it was down.
 *   Times kept by `bufferOne`/`bufferAll` live in memory only.
 * - `jitter` starts each run up to that much after its time (uniformly, from
 *   Effect's `Random`), to spread many tasks scheduled on the same minute.
 * - `trigger` runs it now without moving its schedule; `pause` suspends the
 *   schedule (a running run is interrupted) and `resume` goes on with it,
 *   `catchUp` deciding what it makes up.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskSpec } from "effect-taskvisor"
 *
 * // every day at 03:00 in Berlin, never twice at once, made up within 6 hours after a restart
 * const report = TaskSpec.cron("nightly-report", Effect.log("report"), "0 3 * * *", {
 *   timeZone: "Europe/Berlin",
 *   catchUp: "6 hours",
 *   timeout: "1 hour"
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const cron = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  expression: string,
  options?: Omit<Options<E>, "restart"> & CronOptions
): TaskSpec<E, R> =>
  internal.update(make(name, effect, { ...options, restart: RestartPolicy.onFailure }), {
    cron: {
      expression,
      options: {
        timeZone: options?.timeZone,
        overlap: options?.overlap,
        catchUp: options?.catchUp,
        jitter: options?.jitter
      }
    }
  })

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
    internal.update(self, { restart })
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
  <E, R>(self: TaskSpec<E, R>, backoff: BackoffPolicy): TaskSpec<E, R> => internal.update(self, { retry: backoff })
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
    internal.update(self, { retry: schedule })
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
    internal.update(self, { timeout })
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
  <E, R>(self: TaskSpec<E, R>, maxRetries: number | null): TaskSpec<E, R> => internal.update(self, { maxRetries })
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
    internal.update(self, { isFatal: isFatal as (error: unknown) => boolean })
)

/**
 * Bound how often the task restarts, as OTP's restart intensity: more than
 * `maxRestarts` restarts (after failures and after `always` successes alike)
 * within any window of `within` publish `IntensityExceeded`, then end the task
 * `Failed` with a reason naming the window ("4 restarts within 5s"), or, with
 * `onExhausted: { park }`, park it: it stays registered, `list` shows it
 * `Parked`, `TaskParked` is published once, and it tries again every `park`
 * until an attempt succeeds. `null` disables a supervisor default.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskSpec } from "effect-taskvisor"
 *
 * const consumer = TaskSpec.restartable("consumer", Effect.fail("broker down")).pipe(
 *   TaskSpec.withIntensity({ maxRestarts: 3, within: "5 seconds", onExhausted: { park: "1 minute" } })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withIntensity: {
  (intensity: Intensity | null): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, intensity: Intensity | null): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, intensity: Intensity | null): TaskSpec<E, R> => internal.update(self, { intensity })
)

/**
 * An attempt that has run for at least `uptime` (from its start) resets the
 * backoff and the retry budget, even if it then fails, as Akka's
 * `resetBackoffAfter` does: a consumer that ran for an hour and then failed
 * retries from the first delay, with its whole budget.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withResetAfter: {
  (uptime: Duration.DurationInput): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, uptime: Duration.DurationInput): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, uptime: Duration.DurationInput): TaskSpec<E, R> =>
    internal.update(self, { resetAfter: uptime })
)

/**
 * Interrupt an attempt that reports no `progress` for `period`: it ends
 * `AttemptStalled` and counts as a retryable failure (`TaskStalled`). A task
 * that never calls `progress` is stalled `period` after each attempt starts.
 * Only attempts are watched: a task in backoff, or waiting for its next
 * periodic run, is never stalled. One timer per watched attempt.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskSpec } from "effect-taskvisor"
 *
 * const worker = TaskSpec.restartable(
 *   "worker",
 *   Effect.forever(Effect.zipRight(Effect.sleep("1 second"), TaskSpec.progress))
 * ).pipe(TaskSpec.withWatchdog("30 seconds"))
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withWatchdog: {
  (period: Duration.DurationInput): <E, R>(self: TaskSpec<E, R>) => TaskSpec<E, R>
  <E, R>(self: TaskSpec<E, R>, period: Duration.DurationInput): TaskSpec<E, R>
} = dual(
  2,
  <E, R>(self: TaskSpec<E, R>, period: Duration.DurationInput): TaskSpec<E, R> =>
    internal.update(self, { watchdog: period })
)

/**
 * Mark a task significant: a group's `autoShutdown` watches its significant
 * children, and a supervisor's `autoShutdown` (`SupervisorConfig`) the
 * significant tasks added to it. Ending by itself (not stopped by a caller or
 * a shutdown), it shuts its group or supervisor down (with `allSignificant`,
 * once all of them have); a permanent or transient child that gives up fails
 * its group instead, as any child does. A significant task added to the
 * supervisor that ends `Failed` or `Fatal` makes `TaskSupervisor.join` fail
 * when it shuts the supervisor down, so the program notices.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const significant = <E, R>(self: TaskSpec<E, R>): TaskSpec<E, R> => internal.update(self, { significant: true })

/**
 * Record that the running task makes progress, for its watchdog; a no-op for
 * a task without one, and outside a task.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const progress: Effect.Effect<void> = attemptControl.progress

/**
 * A group: a task whose attempt supervises `children`, as an OTP supervisor
 * does. Children start in order (each once the previous one has started its
 * first attempt) and stop in reverse order, each within its own grace; each
 * keeps its own restart policy and backoff, and is named by its path
 * (`pipeline/parser`) in `list` and in its events, which name the group. When
 * a child restarts, `strategy` says which others restart with it:
 * `oneForOne` none, `oneForAll` every other child, `restForOne` the children
 * started after it; they are stopped in reverse start order, then all start
 * again in start order (`GroupRestarting`). A permanent or transient child
 * that gives up (`Failed`, `Fatal`, force-aborted) ends the group's attempt
 * with `GroupFailed` naming it, as do more child restarts than the group's
 * `intensity` allows; the group's own restart policy decides what happens
 * next. A temporary child (restart `never`) is never restarted and its exit
 * never escalates, as in OTP. With `autoShutdown`, the group's attempt
 * succeeds once its significant children end by themselves, however they
 * ended. Stopping a group stops its children first, in reverse order.
 * Children's names must be unique within the group (the group is refused at
 * admission with a `ConfigError` if not).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskSpec } from "effect-taskvisor"
 *
 * const pipeline = TaskSpec.group("pipeline", [
 *   TaskSpec.restartable("fetch", Effect.never),
 *   TaskSpec.restartable("parse", Effect.never),
 *   TaskSpec.restartable("store", Effect.never)
 * ], { strategy: "restForOne", intensity: { maxRestarts: 5, within: "1 minute" } })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const group = <const Children extends ReadonlyArray<TaskSpec<any, any>>>(
  name: string,
  children: Children,
  options?: GroupOptions
): TaskSpec<GroupFailed, internal.TaskSpec.Context<Children[number]>> => groups.group(name, children, options ?? {})

export {
  /**
   * The running task's id, name and attempt, readable inside a task. Attempts
   * count from 1 and every run counts, so under `always` it numbers the runs.
   * Outside a task it reads id 0, an empty name and attempt 0.
   *
   * @since 0.1.0
   * @category Services
   */
  CurrentTask
} from "./internal/task/attemptControl.js"

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
