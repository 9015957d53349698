/** Cluster singletons: a task run by whichever runner owns its shard, fenced by its lease, watched by every runner. */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import { EntityId } from "@effect/cluster/EntityId"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Rpc from "@effect/rpc/Rpc"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { type TaskSpec, update } from "../config/taskSpec.js"
import * as validate from "../config/validate.js"
import { ConfigError, ShuttingDown, TaskAlreadyExists } from "../data/supervisorError.js"
import type { SingletonAbsence, SingletonRelease } from "../data/supervisorEvent.js"
import { singletonFenced, singletonOwned, singletonUnowned } from "../events/metrics.js"
import { SupervisorRegistry } from "../supervisor/taskSupervisor.js"
import { callerOf } from "../task/caller.js"
import { Entry, type Hold, Singletons } from "./singletons.js"
import { ClusterStore } from "./store.js"

/** A singleton's options as given, each optional (see `ClusterTask.SingletonOptions`). */
export interface Options {
  /** How often the owner confirms its shard lock, and how long a confirmation may take; `false`: no fence. */
  readonly fence?:
    | {
      readonly interval?: Duration.DurationInput | undefined
      readonly deadline?: Duration.DurationInput | undefined
    }
    | false
    | undefined
  /** How long it may run nowhere before `SingletonUnowned`. */
  readonly unownedAfter?: Duration.DurationInput | undefined
  /** How long after its task ended the owner adds it again, or `"never"`. */
  readonly rearmAfter?: Duration.DurationInput | "never" | undefined
}

/** How a singleton is fenced, watched and re-armed; every field resolved. */
export interface Resolved {
  /** How often the owner confirms its lease, and how long a confirmation may take; `undefined`: not fenced. */
  readonly fence: { readonly interval: Duration.Duration; readonly deadline: Duration.Duration } | undefined
  readonly unownedAfter: Duration.Duration
  /** How long after its task ended the owner adds it again; `undefined`: never. */
  readonly rearmAfter: Duration.Duration | undefined
}

/** The entity that answers, on the runner owning a singleton's shard, who owns it and whether its task runs. */
const Owner = Entity.make("effect-taskvisor/Singleton", [
  Rpc.make("Status", { success: Schema.NullOr(Schema.Struct({ owner: Schema.String, running: Schema.Boolean })) }),
  Rpc.make("Hold")
]).annotateRpcs(ClusterSchema.Persisted, false)

const runnerOf = (config: Option.Option<ShardingConfig.ShardingConfig["Type"]>): string =>
  Option.match(Option.flatMap(config, (c) => c.runnerAddress), {
    onNone: () => "local",
    onSome: (address) => `${address.host}:${address.port}`
  })

/** Each engine's singletons, shared by every layer built over it, with the scope of its `Owner` entity. */
const shared = new WeakMap<Sharding.Sharding["Type"], {
  readonly singletons: Singletons["Type"]
  readonly scope: Scope.CloseableScope
  users: number
}>()

/**
 * The runner's singletons, one set per engine however many layers are built
 * over it, and the `Owner` entity answering for them, registered with the
 * first user and removed with the last.
 */
export const layerSingletons: Layer.Layer<Singletons, never, Sharding.Sharding> = Layer.scoped(
  Singletons,
  Effect.gen(function*() {
    const sharding = yield* Sharding.Sharding
    let entry = shared.get(sharding)
    if (entry === undefined) {
      const singletons: Singletons["Type"] = {
        entries: new Map(),
        runner: runnerOf(yield* Effect.serviceOption(ShardingConfig.ShardingConfig))
      }
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        Owner.toLayer(
          Owner.of({
            Status: (request) =>
              Effect.sync(() => {
                const entry = singletons.entries.get(request.address.entityId)
                return entry !== undefined && entry.owned
                  ? { owner: singletons.runner, running: entry.runsHere }
                  : null
              }),
            Hold: (request) =>
              Effect.suspend(() => {
                const hold = singletons.entries.get(request.address.entityId)?.hold
                if (hold === undefined) return Effect.void
                return Deferred.succeed(hold.entered, undefined).pipe(
                  Effect.zipRight(Effect.uninterruptible(hold.stopped.await))
                )
              })
          }),
          // a Hold lasts as long as the ownership: the Status requests go beside it
          { concurrency: "unbounded" }
        ),
        scope
      )
      entry = { singletons, scope, users: 0 }
      shared.set(sharding, entry)
    }
    const used = entry
    used.users++
    yield* Effect.addFinalizer(() => {
      if (--used.users > 0) return Effect.void
      shared.delete(sharding)
      return Scope.close(used.scope, Exit.void)
    })
    return used.singletons
  })
)

/**
 * Confirm that this runner still holds `shardId`: the engine's view, then the
 * lock in storage (a lease's own row when locks are leases; otherwise a
 * round trip through the lock connection), within `deadline`.
 */
const confirmOf = (
  sharding: Sharding.Sharding["Type"],
  shardId: Parameters<Sharding.Sharding["Type"]["hasShardId"]>[0],
  storage: Option.Option<RunnerStorage.RunnerStorage["Type"]>,
  config: Option.Option<ShardingConfig.ShardingConfig["Type"]>,
  deadline: Duration.Duration
): Effect.Effect<boolean> => {
  const address = Option.flatMap(config, (c) => c.runnerAddress)
  const leases = Option.match(config, { onNone: () => false, onSome: (c) => c.shardLockDisableAdvisory })
  const inStorage: Effect.Effect<boolean> = Option.isNone(storage) || Option.isNone(address)
    ? Effect.succeed(true)
    : leases
    ? Effect.map(
      storage.value.refresh(address.value, [shardId]),
      (held) => held.some((id) => Equal.equals(id, shardId))
    )
      .pipe(Effect.orElseSucceed(() => false))
    : Effect.as(storage.value.refresh(address.value, []), true).pipe(Effect.orElseSucceed(() => false))
  return Effect.suspend(() => sharding.hasShardId(shardId) ? inStorage : Effect.succeed(false)).pipe(
    Effect.timeoutTo({ duration: deadline, onTimeout: () => false, onSuccess: (held) => held })
  )
}

/** The `n`th part of `d`. */
const part = (d: Duration.Duration, n: number): Duration.Duration => Duration.millis(Duration.toMillis(d) / n)

/** Resolve a singleton's options against the lock expiry in force; bad values are a `ConfigError` naming them. */
export const resolve = (
  name: string,
  options: Options | undefined,
  expiry: Duration.Duration
): Resolved | ConfigError => {
  const bad = (field: string, reason: string) =>
    new ConfigError({ field: `singleton(${JSON.stringify(name)}).${field}`, reason })
  const positive = (field: string, input: Duration.DurationInput) =>
    validate.positiveDuration(`singleton(${JSON.stringify(name)}).${field}`, input)
  if (typeof name !== "string" || name.length === 0) return bad("name", "a singleton needs a non-empty name")
  let fence: Resolved["fence"] = undefined
  if (options?.fence !== false) {
    const interval = positive("fence.interval", options?.fence?.interval ?? part(expiry, 8))
    if (interval instanceof ConfigError) return interval
    const deadline = positive("fence.deadline", options?.fence?.deadline ?? part(expiry, 4))
    if (deadline instanceof ConfigError) return deadline
    if (Duration.greaterThanOrEqualTo(Duration.sum(interval, deadline), expiry)) {
      return bad(
        "fence",
        `interval (${Duration.format(interval)}) plus deadline (${
          Duration.format(deadline)
        }) must be shorter than the ` +
          `shard lock expiry in force (${Duration.format(expiry)}), or an owner could outlive its lease`
      )
    }
    fence = { interval, deadline }
  }
  const unownedAfter = positive("unownedAfter", options?.unownedAfter ?? Duration.seconds(30))
  if (unownedAfter instanceof ConfigError) return unownedAfter
  let rearmAfter: Duration.Duration | undefined = undefined
  if (options?.rearmAfter !== "never") {
    const value = positive("rearmAfter", options?.rearmAfter ?? Duration.minutes(1))
    if (value instanceof ConfigError) return value
    rearmAfter = value
  }
  return { fence, unownedAfter, rearmAfter }
}

/**
 * Register `spec` as the cluster singleton of its name: on the runner that
 * owns its shard, its task runs under this runner's supervisor.
 */
export const register = <E, R>(
  spec: TaskSpec<E, R>,
  options: Options | undefined
): Effect.Effect<
  void,
  ConfigError,
  Sharding.Sharding | SupervisorRegistry | Singletons | Scope.Scope | Exclude<R, Scope.Scope>
> =>
  Effect.gen(function*() {
    const sharding = yield* Sharding.Sharding
    const singletons = yield* Singletons
    const registry = yield* SupervisorRegistry
    const storage = yield* Effect.serviceOption(RunnerStorage.RunnerStorage)
    const config = yield* Effect.serviceOption(ShardingConfig.ShardingConfig)
    const name = spec.name
    const expiry = Option.match(config, {
      onNone: () => Duration.decode(ShardingConfig.defaults.shardLockExpiration),
      onSome: (c) => Duration.decode(c.shardLockExpiration)
    })
    const settings = resolve(name, options, expiry)
    if (settings instanceof ConfigError) return yield* settings
    // refuse a bad spec here, at the layer, rather than on whichever runner first owns it
    const checked = registry.resolve(spec as TaskSpec<unknown, unknown>)
    if (checked instanceof ConfigError) return yield* checked
    if (singletons.entries.has(name)) {
      return yield* new ConfigError({
        field: `singleton(${JSON.stringify(name)})`,
        reason: "a singleton of this name is registered on this runner already"
      })
    }
    const runner = singletons.runner
    const ownedGauge = Metric.tagged(singletonOwned, "singleton", name)
    const unownedGauge = Metric.tagged(singletonUnowned, "singleton", name)
    const entry = new Entry(name, registry, settings.unownedAfter)
    singletons.entries.set(name, entry)
    yield* Effect.addFinalizer(() => Effect.sync(() => singletons.entries.delete(name)))

    const shardId = sharding.getShardId(EntityId.make(name), "default")
    const confirm = settings.fence === undefined
      ? Effect.succeed(true)
      : confirmOf(sharding, shardId, storage, config, settings.fence.deadline)
    const bus = registry.bus
    let closing = false

    // a cron task keeps its last run in the fleet's store (the runner it moves to reads it there); its effect keeps
    // seeing the caller's own `KeyValueStore`, if there is one
    const fleetStore = spec.cron === undefined ? Option.none() : yield* Effect.serviceOption(ClusterStore)
    const ownStore = yield* Effect.serviceOption(KeyValueStore.KeyValueStore)
    const added: TaskSpec<unknown, unknown> = Option.isSome(fleetStore) && Option.isSome(ownStore)
      ? update(spec, { effect: Effect.provideService(spec.effect, KeyValueStore.KeyValueStore, ownStore.value) })
      : spec as TaskSpec<unknown, unknown>

    /** Add the task and wait until it ends; `Shutdown` if the supervisor no longer admits tasks. */
    const runTask: Effect.Effect<"Ended" | "Shutdown"> = Effect.withFiberRuntime((fiber) => {
      const caller = callerOf(fiber)
      const submission = registry.prepare(
        added,
        Option.isNone(fleetStore)
          ? caller
          : { ...caller, context: Context.add(caller.context, KeyValueStore.KeyValueStore, fleetStore.value) }
      )
      if (submission instanceof ShuttingDown) return Effect.succeed("Shutdown")
      if (submission instanceof ConfigError) return Effect.die(submission)
      const admitted = registry.admit(submission, "Now")
      if (admitted instanceof TaskAlreadyExists) {
        // the name is taken (a stop of it still under way, or a task of the user's): wait for it to end, then add again
        // (a name taken by something else than a task, a group's child, never frees: it ends here, alarmed and re-armed)
        const holder = registry.find(name)
        return holder === undefined ? Effect.succeed("Ended") : Effect.zipRight(holder.outcome.await, runTask)
      }
      return Effect.as(submission.outcome.await, "Ended" as const)
    })

    /** Stop the task of `name` here, within `budget` when one is given. */
    const stopTask = (reason: string, budget: Duration.Duration | undefined) =>
      Effect.suspend(() => {
        const task = registry.findToStop(name)
        if (task === undefined) return Effect.void
        registry.stop(task, reason)
        const done = task.outcome.await
        return budget === undefined ? Effect.asVoid(done) : Effect.ignore(Effect.timeout(done, budget))
      })

    const client = (yield* Owner.client)(name)

    /** Own it: hold its shard (bounded: an entity that cannot be reached does not keep the task from running). */
    const acquired = Effect.gen(function*() {
      yield* Metric.set(ownedGauge, 1)
      const hold: Hold = { entered: yield* Deferred.make<void>(), stopped: yield* Effect.makeLatch(false) }
      entry.hold = hold
      entry.owned = true
      entry.owner = runner
      bus.emit("SingletonAcquired", { singleton: name, runner })
      yield* Effect.forkScoped(Effect.ignore(client.Hold()))
      yield* Effect.ignore(Effect.timeout(Deferred.await(hold.entered), Duration.seconds(5)))
    })

    const released = (release: SingletonRelease, reason: string) =>
      Metric.set(ownedGauge, 0).pipe(Effect.zipRight(Effect.suspend(() => {
        entry.owned = false
        const hold = entry.hold
        entry.hold = undefined
        bus.emit("SingletonReleased", { singleton: name, runner, release, reason })
        return hold === undefined ? Effect.void : hold.stopped.open
      })))

    /** Wait until a confirmation fails; returns when the fence must act. */
    const fenceWatch = (fence: NonNullable<Resolved["fence"]>): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(fence.interval)
          if (!(yield* confirm)) return
        }
      })

    /** While owned: run the task, re-arm it after it ended, fence it when the lease cannot be confirmed. */
    const own: Effect.Effect<void, never, Scope.Scope> = Effect.gen(function*() {
      while (true) {
        const ending = yield* runTask.pipe(
          Effect.raceFirst(
            settings.fence === undefined ? Effect.never : Effect.as(fenceWatch(settings.fence), "Fenced" as const)
          )
        )
        if (ending === "Shutdown") return yield* Effect.never
        if (ending === "Fenced") {
          const budget = settings.fence === undefined
            ? undefined
            : Duration.subtract(expiry, Duration.sum(settings.fence.interval, settings.fence.deadline))
          yield* stopTask("singleton_fenced", budget)
          yield* Metric.increment(Metric.tagged(singletonFenced, "singleton", name))
          yield* released("Fenced", "its lease could not be confirmed in time")
          entry.fenced = true
          // own it again once the lease is confirmed again
          while (!(yield* confirm)) {
            yield* Effect.sleep(settings.fence!.interval)
          }
          entry.fenced = false
          yield* acquired
          continue
        }
        if (settings.rearmAfter === undefined) return yield* Effect.never
        yield* Effect.sleep(settings.rearmAfter)
      }
    })

    const run = Effect.gen(function*() {
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          // the engine took it away while it was fenced: this runner holds it no longer
          entry.fenced = false
          if (!entry.owned) return Effect.void
          const release: SingletonRelease = closing ? "Shutdown" : "Handover"
          return stopTask(closing ? "singleton_shutdown" : "singleton_handover", undefined).pipe(
            Effect.zipRight(
              released(release, closing ? "this runner is stopping" : "the cluster moved its shard to another runner")
            )
          )
        })
      )
      yield* acquired
      yield* own
    })

    yield* sharding.registerSingleton(name, run)
    // runs before the engine's own finalizer above: the release it causes is this runner's shutdown
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closing = true
      })
    )

    // every runner watches the singleton: it must run somewhere
    const probeTimeout = Duration.min(part(settings.unownedAfter, 2), Duration.seconds(5))
    const watch = Effect.gen(function*() {
      let reported = 0
      while (true) {
        yield* Effect.sleep(part(settings.unownedAfter, 4))
        const status = entry.owned
          ? { owner: runner, running: entry.runsHere }
          : yield* client.Status().pipe(
            Effect.timeout(probeTimeout),
            Effect.orElseSucceed(() => null)
          )
        const now = registry.now()
        if (status !== null && status.running) {
          entry.owner = status.owner
          entry.unownedSince = undefined
          reported = 0
          yield* Metric.set(unownedGauge, 0)
          continue
        }
        entry.owner = status === null ? undefined : status.owner
        entry.unownedSince ??= now
        const lasted = now - entry.unownedSince
        if (
          lasted < Duration.toMillis(settings.unownedAfter) || now - reported < Duration.toMillis(settings.unownedAfter)
        ) continue
        reported = now
        const absence: SingletonAbsence = status === null ? "NoOwner" : "NotRunning"
        yield* Metric.set(unownedGauge, 1)
        bus.emit("SingletonUnowned", {
          singleton: name,
          absence,
          owner: entry.owner,
          for: Duration.millis(lasted),
          reason: absence === "NoOwner"
            ? "no runner answers for it"
            : `its owner ${entry.owner} holds it and its task is not running`
        })
      }
    })
    yield* Effect.forkScoped(watch)
  })
