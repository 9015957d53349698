/**
 * Cluster singletons: one `TaskSpec` that runs on exactly one runner of a
 * fleet, under that runner's own `TaskSupervisor`, on `@effect/cluster`.
 *
 * The spec is the same one you would `add` in-process; `singleton(spec)` is a
 * layer that registers it with the cluster (`@effect/cluster`'s `Singleton`):
 * the runner that owns the singleton's shard runs its task, with its
 * restarts, backoff, timeouts, controls and outcome as in-process. The
 * cluster does not restart a failed singleton; the supervisor inside does.
 *
 * - **Moves.** When the cluster moves the shard (a rebalance, a runner
 *   stopping or dying), the task is stopped gracefully where it was
 *   (`SingletonReleased`, `Handover` or `Shutdown`) and started where it goes
 *   (`SingletonAcquired`).
 * - **Fence.** Every `fence.interval` the owner confirms that it still holds
 *   the shard: the engine's view, then the lock in storage, within
 *   `fence.deadline`. If it cannot, it stops its task at once, within what is
 *   left of its lease (`SingletonReleased` with `Fenced`), and takes it up
 *   again when the lease is confirmed again. With leases (`ClusterRunner`'s
 *   default) interval plus deadline is shorter than the lock expiry, so a new
 *   owner, which may take the shard only after the lease expired, never
 *   overlaps the old one.
 * - **Never silent.** Every runner that registered the singleton asks its
 *   owner whether it runs; when it has run nowhere (no owner answers, or the
 *   owner's task is parked, paused or ended) for longer than `unownedAfter`,
 *   the runner publishes `SingletonUnowned` and sets the gauge
 *   `taskvisor_singleton_unowned{singleton}` to 1.
 * - **A task that gives up.** Ownership follows the shard, which the engine
 *   assigns to runners, not to tasks: an owner whose task ended keeps the
 *   singleton, alarms (`SingletonUnowned` with `NotRunning`, on every runner),
 *   and adds the task again after `rearmAfter` (one minute by default;
 *   `"never"` keeps it down until the runner restarts).
 * - **Cron.** A `TaskSpec.cron` runs on its owner only; its schedule keeps
 *   the time of its last scheduled run in the runner's `ClusterRunner.Store`
 *   (the fleet's SQL storage under `layerSocket`), so the next owner catches
 *   a time missed meanwhile up once, within its `catchUp`. Its effect still
 *   sees the caller's own `KeyValueStore`, if any.
 *
 * @since 0.1.0
 */
import type * as Sharding from "@effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/cluster/singleton.js"
import * as singletons from "./internal/cluster/singletons.js"
import type { SupervisorRegistry } from "./internal/supervisor/taskSupervisor.js"
import type { ConfigError } from "./SupervisorError.js"
import type { TaskSpec } from "./TaskSpec.js"

/**
 * A singleton's options, each optional.
 *
 * - `fence`: how often the owner confirms its shard lock
 *   (`interval`, default an eighth of the lock expiry in force) and how long a
 *   confirmation may take (`deadline`, default a quarter of it); their sum
 *   must be shorter than the expiry. `false` turns the fence off.
 * - `unownedAfter`: how long it may run nowhere before `SingletonUnowned`
 *   (default 30 seconds).
 * - `rearmAfter`: how long after its task ended the owner adds it again
 *   (default one minute), or `"never"`.
 *
 * @since 0.1.0
 * @category Models
 */
export type SingletonOptions = internal.Options

/**
 * What this runner knows of one singleton it registered: its owner (this
 * runner when `local`; `undefined` when no runner answered for it), whether
 * its task runs there, since when (epoch ms) it has run nowhere, how long
 * it may (`unownedAfter`), and whether this runner `fenced` it (stopped it
 * for want of a confirmed lease, and has not confirmed one since).
 *
 * @since 0.1.0
 * @category Models
 */
export type SingletonStatus = singletons.SingletonView

/**
 * The singletons registered on this runner: a service every `singleton`
 * layer gives, shared by all of them, which `status` and `SupervisorHttp`
 * read.
 *
 * @since 0.1.0
 * @category Services
 */
export const Singletons: typeof singletons.Singletons = singletons.Singletons

/**
 * @since 0.1.0
 * @category Services
 */
export type Singletons = singletons.Singletons

/**
 * Run `spec` as the cluster singleton of its name. The layer fails with a
 * `ConfigError` for a bad spec or bad options (before anything is
 * registered), or for a second singleton of the same name on this runner.
 * Its task's requirements come from the layer's context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const singleton = <E, R>(
  spec: TaskSpec<E, R>,
  options?: SingletonOptions
): Layer.Layer<Singletons, ConfigError, Sharding.Sharding | SupervisorRegistry | Exclude<R, Scope.Scope>> =>
  Layer.scopedDiscard(internal.register(spec, options)).pipe(Layer.provideMerge(internal.layerSingletons))

/**
 * The singletons registered on this runner, sorted by name, with what this
 * runner knows of their owners.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const status: Effect.Effect<ReadonlyArray<SingletonStatus>, never, Singletons> = Effect.map(
  singletons.Singletons,
  singletons.views
)
