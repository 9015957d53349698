/**
 * The supervisor service. It lives in a `Scope` (its Layer): closing the
 * scope, e.g. on SIGINT under `NodeRuntime.runMain`, is a graceful shutdown.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BatchContext, Outcomes, TaskSpec } from "./internal/config/taskSpec.js"
import { Subscribers, SubscriberSet } from "./internal/events/subscriber.js"
import * as internal from "./internal/supervisor/taskSupervisor.js"
import { SupervisorRegistry } from "./internal/supervisor/taskSupervisor.js"
import type * as task from "./internal/task/task.js"
import { SupervisorConfig } from "./SupervisorConfig.js"
import type {
  AlreadyRunning,
  ConfigError,
  GraceExceeded,
  ShuttingDown,
  SignificantTaskFailed,
  TaskAlreadyExists,
  TaskNotFound,
  TaskTerminationTimeout
} from "./SupervisorError.js"
import type { SupervisorEvent } from "./SupervisorEvent.js"
import type { TaskHandle } from "./TaskHandle.js"

export type {
  /**
   * One failed attempt as a task's crash history keeps it: when it ended (the
   * clock's milliseconds), its number, why, and its exit code if it had one.
   *
   * @since 0.1.0
   * @category Models
   */
  Failure,
  /**
   * How a task's last attempt ended: `result` (`succeeded`, `failed`,
   * `timed_out`, `stalled`, `canceled`), the failure's `reason`, and when.
   *
   * @since 0.1.0
   * @category Models
   */
  LastAttempt,
  /**
   * What `inspect` reports of a registered task: its `list` row, its group,
   * its restarts, how its last attempt ended, the uptime of its running
   * attempt, its last 10 failures and, for a group, its `supervision`.
   *
   * @since 0.1.0
   * @category Models
   */
  TaskDetails,
  /**
   * A registered task as `list` reports it: id, name (a group's child by its
   * path, `pipeline/parser`), state, the number of the current or last
   * attempt (0 before the first) and, for a cron task, `nextRunAt`.
   *
   * @since 0.1.0
   * @category Models
   */
  TaskInfo,
  /**
   * `Waiting` (admitted, waiting to start, for a concurrency permit, or for
   * its group to let it restart), `Starting` (an attempt is running but not
   * ready yet: a child process before its `readyWhen` line), `Running` (an attempt is running),
   * `BackingOff` (between attempts), `Parked` (its restart intensity was
   * exceeded; it tries again every park interval), `Paused` (by `pause`, until
   * `resume`), `Scheduled` (a cron task waiting for its next run) or
   * `Stopping` (a stop was claimed; terminal cleanup pending).
   *
   * @since 0.1.0
   * @category Models
   */
  TaskState
} from "./internal/task/task.js"

export type {
  /**
   * How a group supervises its children, as `inspect` reports it: its
   * `strategy`, `autoShutdown`, the `intensity` of its children's restarts
   * (`undefined`: no limit) and its children's paths in start order.
   *
   * @since 0.1.0
   * @category Models
   */
  Supervision
} from "./internal/config/resolve.js"

export type {
  /**
   * What the caller of `run` provides for a batch: the union of its tasks'
   * requirements, except the `Scope` each attempt gets of its own.
   *
   * @since 0.1.0
   * @category Models
   */
  BatchContext,
  /**
   * What `run` returns for a batch: each spec's outcome in batch order, typed
   * per position for a tuple.
   *
   * @since 0.1.0
   * @category Models
   */
  Outcomes
} from "./internal/config/taskSpec.js"

export type {
  /**
   * The registry of the supervisor `layer` builds, a service `layer` provides
   * beside `TaskSupervisor`: `Controller.layer` and `SupervisorHttp` require
   * it, so that what they build on is the supervisor this module built (a
   * `TaskSupervisor` of another make, or one built with `make` alone, leaves
   * it missing: a type error). It has no operations of its own; provide
   * `layer` and it is there.
   *
   * @since 0.1.0
   * @category Services
   */
  SupervisorRegistry
} from "./internal/supervisor/taskSupervisor.js"

type TaskInfo = task.TaskInfo
type TaskDetails = task.TaskDetails

/**
 * @since 0.1.0
 * @category Services
 */
export class TaskSupervisor extends Context.Tag("effect-taskvisor/TaskSupervisor")<TaskSupervisor, {
  /**
   * Register a task and start it. Returns once it is registered; the task's
   * requirements come from the caller's context, except the `Scope` each
   * attempt gets of its own. A name still registered, or still stopping,
   * fails with `TaskAlreadyExists` (and publishes `TaskAddFailed`); after
   * shutdown began, with `ShuttingDown`.
   */
  readonly add: <E, R>(
    spec: TaskSpec<E, R>
  ) => Effect.Effect<TaskHandle<E>, TaskAlreadyExists | ShuttingDown | ConfigError, Exclude<R, Scope.Scope>>
  /**
   * Static mode: admit the whole batch or none of it, announce and start its
   * tasks in order, a thousand at a time (each wave's `TaskAdded`s before its
   * attempts; a task's `TaskAdded` always before its own events), wait until
   * the registry is empty, shut down, and return each spec's outcome in batch
   * order. A batch may mix
   * specs of any error and requirement types. A second call fails with
   * `AlreadyRunning`, a first call after shutdown began with `ShuttingDown`;
   * a batch with a conflicting name fails with `TaskAlreadyExists` and leaves
   * the supervisor running.
   */
  readonly run: <const Specs extends Iterable<TaskSpec<any, any>>>(
    specs: Specs
  ) => Effect.Effect<
    Outcomes<Specs>,
    TaskAlreadyExists | AlreadyRunning | ConfigError | GraceExceeded | ShuttingDown,
    BatchContext<Specs>
  >
  /**
   * Claim the task's stop and return: `true` if this call claimed it, `false`
   * if another stop already had or the task is gone (finished, or a name not
   * registered now). It is force-aborted if it outlives the grace. An id of
   * work still queued in the controller takes it off its slot (outcome
   * `Rejected` with kind `RemovedFromQueue`). Only an id this supervisor never
   * issued fails, with `TaskNotFound`.
   */
  readonly remove: (idOrName: number | string) => Effect.Effect<boolean, TaskNotFound>
  /**
   * Stop the task and wait for its terminal cleanup. Returns `true` if this
   * call claimed the stop, `false` if it joined a stop already under way or
   * the task is gone (a task may finish at any moment, so that is not an
   * error). Only an id this supervisor never issued fails, with
   * `TaskNotFound`. With `timeout`, stop waiting with
   * `TaskTerminationTimeout` while the cancellation goes on.
   */
  readonly cancel: (
    idOrName: number | string,
    options?: { readonly timeout?: Duration.DurationInput | undefined }
  ) => Effect.Effect<boolean, TaskNotFound | TaskTerminationTimeout | ConfigError>
  /**
   * End the task's running attempt now (`AttemptCanceled`) and start the next
   * at once, without backoff; a task waiting between attempts starts its next
   * one now; a paused task resumes. Nothing is counted against its retry
   * budget or restart intensity, and its group does not restart others for
   * it. Publishes `TaskRestartRequested`. `false` if it does not apply (the
   * task is waiting to start, stopping, or gone); only an id never issued
   * fails, with `TaskNotFound`.
   */
  readonly restart: (idOrName: number | string) => Effect.Effect<boolean, TaskNotFound>
  /**
   * Interrupt the task's running attempt (or give up its wait between
   * attempts) and keep it waiting, `Paused` in `list`, with no attempt, no
   * restart and no budget used, until `resume` (or `restart`). Stopping a
   * paused task ends it at once. Publishes `TaskPaused`; `false` if it is
   * paused already, not started yet, stopping or gone.
   */
  readonly pause: (idOrName: number | string) => Effect.Effect<boolean, TaskNotFound>
  /**
   * Start a paused task's next attempt now (its retry budget and backoff as
   * they were); a paused cron task goes back to its schedule, its `catchUp`
   * deciding what it makes up. Publishes `TaskResumed`; `false` if it is not
   * paused.
   */
  readonly resume: (idOrName: number | string) => Effect.Effect<boolean, TaskNotFound>
  /**
   * Start the next attempt of a task waiting between attempts (a periodic
   * task's interval, a backoff, a park, a cron task's next scheduled time)
   * now; a cron task's schedule is not moved by it. Publishes
   * `TaskTriggered`; `false` if it is not waiting between attempts.
   */
  readonly trigger: (idOrName: number | string) => Effect.Effect<boolean, TaskNotFound>
  /**
   * A registered task's row with its history: restarts, how its last attempt
   * ended, the uptime of its running attempt and its last 10 failures; `None`
   * if it is gone (finished, or a name not registered now). Only an id never
   * issued fails, with `TaskNotFound`.
   */
  readonly inspect: (idOrName: number | string) => Effect.Effect<Option.Option<TaskDetails>, TaskNotFound>
  /** Every registered task (including those stopping), sorted by id. */
  readonly list: Effect.Effect<ReadonlyArray<TaskInfo>>
  /** Whether the task with this name is running an attempt right now. */
  readonly isAlive: (name: string) => Effect.Effect<boolean>
  /** The events published while the stream runs; it ends after shutdown. */
  readonly events: Stream.Stream<SupervisorEvent>
  /** Resolves when no task is registered. */
  readonly awaitEmpty: Effect.Effect<void>
  /**
   * Wait until the supervisor has shut down, however it was asked to, with
   * the shutdown's result (`GraceExceeded` if it force-aborted tasks). With
   * `autoShutdown`, the supervisor shuts itself down when its significant
   * tasks end by themselves; if one of them ended `Failed` or `Fatal`, `join`
   * fails with `SignificantTaskFailed` naming it. As a program's main effect
   * (`TaskSupervisor.join.pipe(Effect.provide(AppLive), NodeRuntime.runMain)`),
   * a critical task that gives up ends the program with a non-zero exit code,
   * as `FiberMap.join` fails with the first fiber that failed.
   */
  readonly join: Effect.Effect<void, GraceExceeded | SignificantTaskFailed>
  /**
   * Close admission, interrupt every task and wait for them against one grace
   * deadline; tasks still running then are force-aborted and named in
   * `GraceExceeded`. Every caller shares the one operation and its result.
   */
  readonly shutdown: Effect.Effect<void, GraceExceeded>
}>() {}

/**
 * The supervisor and its registry, built in the current scope over the config of the context and the subscribers its
 * config layer gave (none when the config came from elsewhere, where no `Subscriber.layer` can add to them either).
 */
const build = Effect.flatMap(
  Effect.all([SupervisorConfig, Effect.serviceOption(Subscribers)]),
  ([settings, subscribers]) =>
    internal.make(settings, Option.isSome(subscribers) ? subscribers.value : new SubscriberSet())
)

/**
 * Build a supervisor in the current scope, with the `SupervisorConfig` of the
 * context and the subscribers its config layer gave. What extends the
 * supervisor (`Controller.layer`, `SupervisorHttp`) needs its registry too,
 * which `layer` provides.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<TaskSupervisor["Type"], never, Scope.Scope | SupervisorConfig> = Effect
  .map(build, (built) => built.service)

/**
 * The supervisor as a Layer, with its `SupervisorRegistry` beside it. Its
 * type says what it reads: a `SupervisorConfig`, so a config merged beside it
 * instead of provided to it is a type error, not a setting silently ignored;
 * with it, the `Subscribers` the config layers give, which `Subscriber.layer`
 * adds to. `SupervisorConfig.layerDefaults` serves when no
 * setting differs. A subscriber layer provided to it lives as long as the
 * supervisor and sees its shutdown events; merged beside it (over the same
 * config) it takes effect too, but ends alongside the supervisor, so it may
 * miss the shutdown events.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 *
 * const SupervisorLive = TaskSupervisor.layer.pipe(
 *   Layer.provide(Subscriber.layer(Subscriber.log)),
 *   Layer.provide(SupervisorConfig.layer({ grace: "10 seconds", maxConcurrent: 8 }))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const handle = yield* TaskSupervisor.add(TaskSpec.once("hello", Effect.log("hello")))
 *   yield* handle.await
 * })
 *
 * // closing the layer's scope (Ctrl-C) shuts the supervisor down gracefully
 * program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<TaskSupervisor | SupervisorRegistry, never, SupervisorConfig> = Layer
  .scopedContext(
    Effect.map(
      build,
      ({ registry, service }) => Context.make(TaskSupervisor, service).pipe(Context.add(SupervisorRegistry, registry))
    )
  )

/**
 * @since 0.1.0
 * @category Accessors
 */
export const add = <E, R>(
  spec: TaskSpec<E, R>
): Effect.Effect<
  TaskHandle<E>,
  TaskAlreadyExists | ShuttingDown | ConfigError,
  TaskSupervisor | Exclude<R, Scope.Scope>
> => Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.add(spec))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const run = <const Specs extends Iterable<TaskSpec<any, any>>>(
  specs: Specs
): Effect.Effect<
  Outcomes<Specs>,
  TaskAlreadyExists | AlreadyRunning | ConfigError | GraceExceeded | ShuttingDown,
  TaskSupervisor | BatchContext<Specs>
> => Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.run(specs))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const remove = (idOrName: number | string): Effect.Effect<boolean, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.remove(idOrName))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const cancel = (
  idOrName: number | string,
  options?: { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<boolean, TaskNotFound | TaskTerminationTimeout | ConfigError, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.cancel(idOrName, options))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const list: Effect.Effect<ReadonlyArray<TaskInfo>, never, TaskSupervisor> = Effect.flatMap(
  TaskSupervisor,
  (supervisor) => supervisor.list
)

/**
 * End the task's running attempt now and start the next at once (see the
 * service's `restart`).
 *
 * @since 0.1.0
 * @category Accessors
 */
export const restart = (idOrName: number | string): Effect.Effect<boolean, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.restart(idOrName))

/**
 * Keep the task waiting, `Paused`, until `resume` (see the service's `pause`).
 *
 * @since 0.1.0
 * @category Accessors
 */
export const pause = (idOrName: number | string): Effect.Effect<boolean, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.pause(idOrName))

/**
 * Start a paused task's next attempt now.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const resume = (idOrName: number | string): Effect.Effect<boolean, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.resume(idOrName))

/**
 * Start the next attempt of a task waiting between attempts now.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const trigger = (idOrName: number | string): Effect.Effect<boolean, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.trigger(idOrName))

/**
 * A registered task's row with its history (see the service's `inspect`).
 *
 * @since 0.1.0
 * @category Accessors
 */
export const inspect = (
  idOrName: number | string
): Effect.Effect<Option.Option<TaskDetails>, TaskNotFound, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.inspect(idOrName))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const isAlive = (name: string): Effect.Effect<boolean, never, TaskSupervisor> =>
  Effect.flatMap(TaskSupervisor, (supervisor) => supervisor.isAlive(name))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const events: Stream.Stream<SupervisorEvent, never, TaskSupervisor> = Stream.unwrap(
  Effect.map(TaskSupervisor, (supervisor) => supervisor.events)
)

/**
 * @since 0.1.0
 * @category Accessors
 */
export const awaitEmpty: Effect.Effect<void, never, TaskSupervisor> = Effect.flatMap(
  TaskSupervisor,
  (supervisor) => supervisor.awaitEmpty
)

/**
 * Wait until the supervisor has shut down; fails with `SignificantTaskFailed`
 * when a significant task's failure shut it down (see the service's `join`).
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 *
 * // the consumer is critical: when it gives up, the supervisor shuts down and the program fails
 * const consumer = TaskSpec.restartable("orders-consumer", Effect.fail("broker unreachable")).pipe(
 *   TaskSpec.withMaxRetries(5),
 *   TaskSpec.significant
 * )
 *
 * const AppLive = TaskSpec.toLayer(consumer).pipe(
 *   Layer.provideMerge(TaskSupervisor.layer),
 *   Layer.provide(SupervisorConfig.layer({ autoShutdown: "anySignificant" }))
 * )
 *
 * // runs until Ctrl-C (exit code 0) or until the consumer gives up (exit code 1)
 * TaskSupervisor.join.pipe(Effect.provide(AppLive), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category Accessors
 */
export const join: Effect.Effect<void, GraceExceeded | SignificantTaskFailed, TaskSupervisor> = Effect.flatMap(
  TaskSupervisor,
  (supervisor) => supervisor.join
)

/**
 * @since 0.1.0
 * @category Accessors
 */
export const shutdown: Effect.Effect<void, GraceExceeded, TaskSupervisor> = Effect.flatMap(
  TaskSupervisor,
  (supervisor) => supervisor.shutdown
)
