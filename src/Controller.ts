/**
 * Per-slot admission control, a service on top of the `TaskSupervisor`: each
 * slot (by default the task's name) has at most one running owner, and the
 * next owner starts only after the previous one's terminal cleanup. Submit
 * `ControllerSpec`s with `submit` or `submitAndWatch`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ControllerSpec } from "./ControllerSpec.js"
import * as validate from "./internal/config/validate.js"
import * as internal from "./internal/controller/controller.js"
import { SupervisorRegistry } from "./internal/supervisor/taskSupervisor.js"
import { ConfigError } from "./SupervisorError.js"
import type { ShuttingDown } from "./SupervisorError.js"
import type { TaskHandle } from "./TaskHandle.js"

export type {
  /**
   * `Running`: the slot has an owner. `Terminating`: a `replace` is stopping
   * the owner. `Idle`: no owner and nothing queued (such slots are not
   * listed). Admission is synchronous, so a slot is never seen between idle
   * and running.
   *
   * @since 0.1.0
   * @category Models
   */
  SlotStatus
} from "./SupervisorEvent.js"

export type {
  /**
   * @since 0.1.0
   * @category Models
   */
  RejectionKind
} from "./TaskOutcome.js"

export type {
  /**
   * The busy slots sorted by key, `runningCount` (slots whose status is
   * `Running`) and `totalQueued` (submissions waiting across all slots).
   *
   * @since 0.1.0
   * @category Models
   */
  ControllerSnapshot,
  /**
   * `queueCapacity`: the most submissions waiting across all slots.
   * `maxSlotQueue`: the most `queue` submissions waiting in one slot (0 means
   * none may wait; a replacement may always take the head of its slot).
   *
   * @since 0.1.0
   * @category Models
   */
  Settings,
  /**
   * One busy slot: its key, status, owner's task id, the number of
   * submissions waiting behind the owner, and how long it has been in its status.
   *
   * @since 0.1.0
   * @category Models
   */
  SlotView
} from "./internal/controller/controller.js"

type ControllerSnapshot = internal.ControllerSnapshot
type SlotView = internal.SlotView

/**
 * @since 0.1.0
 * @category Services
 */
export class Controller extends Context.Tag("effect-taskvisor/Controller")<Controller, {
  /**
   * Hand work to the controller and return its task id once accepted. It
   * becomes its slot's owner at once if the slot is free; otherwise it is
   * queued, replaces the owner, or is rejected, as its admission says. A
   * rejection is published as `ControllerRejected` and is the outcome seen by
   * `submitAndWatch`. The task's requirements come from the caller's context,
   * except the `Scope` each attempt gets of its own. Once the supervisor
   * shuts down or the controller's layer has ended, it fails `ShuttingDown`.
   */
  readonly submit: <E, R>(
    spec: ControllerSpec<E, R>
  ) => Effect.Effect<number, ShuttingDown | ConfigError, Exclude<R, Scope.Scope>>
  /**
   * Like `submit`, returning a handle whose outcome is the admitted task's
   * outcome, or `Rejected { kind, reason }` if it never ran.
   */
  readonly submitAndWatch: <E, R>(
    spec: ControllerSpec<E, R>
  ) => Effect.Effect<TaskHandle<E>, ShuttingDown | ConfigError, Exclude<R, Scope.Scope>>
  /** The busy slots, sorted by key. */
  readonly snapshot: Effect.Effect<ControllerSnapshot>
}>() {}

/**
 * queueCapacity 1024, maxSlotQueue 100.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaults: internal.Settings = { queueCapacity: 1024, maxSlotQueue: 100 }

/**
 * The settings `layer` accepts; anything left out keeps its default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly queueCapacity?: number | undefined
  readonly maxSlotQueue?: number | undefined
}

const settingsOf = (options: Options): internal.Settings | ConfigError => {
  const queueCapacity = options.queueCapacity === undefined
    ? defaults.queueCapacity
    : validate.integer("controller.queueCapacity", options.queueCapacity, 1)
  if (typeof queueCapacity !== "number") return queueCapacity
  const maxSlotQueue = options.maxSlotQueue === undefined
    ? defaults.maxSlotQueue
    : validate.integer("controller.maxSlotQueue", options.maxSlotQueue, 0)
  if (typeof maxSlotQueue !== "number") return maxSlotQueue
  return { queueCapacity, maxSlotQueue }
}

const build = (
  settings: internal.Settings | ConfigError
): Layer.Layer<Controller, ConfigError, SupervisorRegistry> =>
  settings instanceof ConfigError
    ? Layer.fail(settings)
    : Layer.scoped(Controller, Effect.flatMap(SupervisorRegistry, (registry) => internal.make(registry, settings)))

/**
 * A controller over the supervisor it is given, for the lifetime of the
 * layer; omitted settings keep `defaults`, and an invalid one fails with a
 * `ConfigError` naming it. Without this layer, `Controller` is a missing
 * requirement: a type error, not a failure at run time. Shutdown of the
 * supervisor (or the end of this layer) rejects all queued work
 * `ControllerShuttingDown` and starts none; submissions after it fail
 * `ShuttingDown`. A controller keeps its slots in the supervisor's registry:
 * it requires the `TaskSupervisor.SupervisorRegistry` that
 * `TaskSupervisor.layer` provides beside the supervisor, so a supervisor of
 * another make leaves it missing, a type error.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 *
 * const MainLive = Controller.layer({ maxSlotQueue: 10 }).pipe(
 *   Layer.provideMerge(TaskSupervisor.layer),
 *   Layer.provide(SupervisorConfig.layerDefaults)
 * )
 *
 * const program = Effect.gen(function*() {
 *   // one deploy per environment at a time; later ones wait their turn
 *   const deploy = (version: string) =>
 *     ControllerSpec.queue(TaskSpec.once(`deploy-${version}`, Effect.log(`deploying ${version}`))).pipe(
 *       ControllerSpec.withSlot("deploy:prod")
 *     )
 *   yield* Controller.submit(deploy("v1"))
 *   const second = yield* Controller.submitAndWatch(deploy("v2"))
 *   yield* second.await
 * })
 *
 * program.pipe(Effect.provide(MainLive), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<Controller, ConfigError, SupervisorRegistry> =>
  build(settingsOf(options))

/**
 * The settings read from Effect's current `ConfigProvider`, each optional:
 * `<PREFIX>_CONTROLLER_QUEUE_CAPACITY` and `<PREFIX>_CONTROLLER_MAX_SLOT_QUEUE`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const config: Config.Config<Options> = Config.all({
  queueCapacity: Config.option(
    validate.integerConfig("CONTROLLER_QUEUE_CAPACITY", 1, "the most submissions waiting across all slots")
  ),
  maxSlotQueue: Config.option(
    validate.integerConfig("CONTROLLER_MAX_SLOT_QUEUE", 0, "the most queue submissions waiting in one slot")
  )
}).pipe(Config.map((raw) => ({
  queueCapacity: Option.getOrUndefined(raw.queueCapacity),
  maxSlotQueue: Option.getOrUndefined(raw.maxSlotQueue)
})))

/**
 * `layer` over the settings `config` reads under `prefix`; a malformed value
 * fails with a `ConfigError` naming the field and the variable.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv = (
  prefix: string = "TASKVISOR"
): Layer.Layer<Controller, ConfigError, SupervisorRegistry> =>
  Layer.unwrapEffect(
    Effect.map(
      validate.fromConfig(config, prefix, {
        CONTROLLER_QUEUE_CAPACITY: "controller.queueCapacity",
        CONTROLLER_MAX_SLOT_QUEUE: "controller.maxSlotQueue"
      }),
      (options) => build(settingsOf(options))
    )
  )

/**
 * @since 0.1.0
 * @category Accessors
 */
export const submit = <E, R>(
  spec: ControllerSpec<E, R>
): Effect.Effect<number, ShuttingDown | ConfigError, Controller | Exclude<R, Scope.Scope>> =>
  Effect.flatMap(Controller, (controller) => controller.submit(spec))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const submitAndWatch = <E, R>(
  spec: ControllerSpec<E, R>
): Effect.Effect<TaskHandle<E>, ShuttingDown | ConfigError, Controller | Exclude<R, Scope.Scope>> =>
  Effect.flatMap(Controller, (controller) => controller.submitAndWatch(spec))

/**
 * @since 0.1.0
 * @category Accessors
 */
export const snapshot: Effect.Effect<ControllerSnapshot, never, Controller> = Effect.flatMap(
  Controller,
  (controller) => controller.snapshot
)

/**
 * The view of one slot; a slot that is not listed is `Idle`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const slot = (snapshot: ControllerSnapshot, key: string): SlotView =>
  snapshot.slots.find((view) => view.slot === key) ??
    { slot: key, status: "Idle", ownerId: undefined, queueDepth: 0, statusFor: Duration.zero }
