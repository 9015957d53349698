/**
 * The runners a cluster of supervisors runs on: `@effect/cluster`'s
 * `Sharding` with its storage, composed so that `ClusterTask` can see the
 * shard locks it fences a singleton with.
 *
 * - `layerEmbedded`: one runner in this process, with in-memory storage. No
 *   server, no second process: the quick start of cluster mode, and the
 *   layer to test cluster code against.
 * - `layerSocket`: a runner of a fleet, talking to the others over sockets
 *   (`@effect/platform-node`'s `NodeClusterSocket`) and keeping shard locks
 *   and messages in SQL (`SqlClient`, e.g. `@effect/sql-pg`'s `PgClient`).
 *
 * Both give, beside `Sharding`, the `RunnerStorage` and `ShardingConfig` the
 * cluster runs with, which `NodeClusterSocket.layer` keeps to itself: a
 * singleton under `ClusterTask` confirms its own shard lock through them. A
 * cluster built some other way still runs `ClusterTask`, fenced by the
 * engine's view of its shards only.
 *
 * @since 0.1.0
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ClusterReadiness } from "./internal/cluster/readiness.js"
import * as store from "./internal/cluster/store.js"

/**
 * What a runner gives: the engine (`Sharding`, `Runners`, `MessageStorage`)
 * and the shard-lock storage and settings it runs with (both runner layers
 * give the fleet's `Store` beside them).
 *
 * @since 0.1.0
 * @category Models
 */
export type Services =
  | Sharding.Sharding
  | Runners.Runners
  | MessageStorage.MessageStorage
  | RunnerStorage.RunnerStorage
  | ShardingConfig.ShardingConfig
  | Readiness

/**
 * A `KeyValueStore` the runners of a fleet share: `layerSocket`'s is the
 * table `taskvisor_kv` (`kv_key`, `kv_value`) in their SQL database,
 * `layerEmbedded`'s is in memory. A cron task under `ClusterTask.singleton`
 * keeps its last scheduled run there (key `effect-taskvisor/cron/<name>`), so
 * the runner it moves to knows what it missed. It is a tag of its own, not
 * `KeyValueStore`: a store of yours is not shadowed.
 *
 * @since 0.1.0
 * @category Services
 */
export const Store: typeof store.ClusterStore = store.ClusterStore

/**
 * @since 0.1.0
 * @category Services
 */
export type Store = store.ClusterStore

/**
 * The `Store` over a `SqlClient`: creates its table if it does not exist (and
 * tries again when runners starting at once race to create it). `layerSocket`
 * includes it; for a cluster composed another way.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerStore: Layer.Layer<Store, SqlError, SqlClient.SqlClient> = store.layerSql

/**
 * Whether this runner can do its cluster work, as `SupervisorHttp`'s
 * `/ready` asks it: `undefined` while it can, else why not. Both runner
 * layers give it; `layerReadiness` builds it over a cluster composed another
 * way.
 *
 * @since 0.1.0
 * @category Services
 */
export const Readiness: typeof ClusterReadiness = ClusterReadiness

/**
 * @since 0.1.0
 * @category Services
 */
export type Readiness = ClusterReadiness

/**
 * The readiness of this runner: not ready once its engine shut down, or
 * while its storage does not answer a heartbeat (`RunnerStorage.refresh` with
 * no shard, which only stamps the runner) within `timeout` (default: the
 * shard lock refresh interval). A runner that cannot reach its storage holds
 * no shard for long and reads no message, whatever its process says.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerReadiness = (options?: {
  readonly timeout?: Duration.DurationInput | undefined
}): Layer.Layer<Readiness, never, Sharding.Sharding | RunnerStorage.RunnerStorage | ShardingConfig.ShardingConfig> =>
  Layer.effect(
    ClusterReadiness,
    Effect.gen(function*() {
      const sharding = yield* Sharding.Sharding
      const storage = yield* RunnerStorage.RunnerStorage
      const config = yield* ShardingConfig.ShardingConfig
      const timeout = Duration.decode(options?.timeout ?? config.shardLockRefreshInterval)
      const heartbeat = Option.match(config.runnerAddress, {
        onNone: () => Effect.succeed(undefined),
        onSome: (address) =>
          storage.refresh(address, []).pipe(
            Effect.as(undefined),
            Effect.timeoutTo({
              duration: timeout,
              onSuccess: () => undefined,
              onTimeout: () => `the cluster's storage did not answer within ${Duration.format(timeout)}`
            }),
            Effect.catchAll((error) => Effect.succeed(`the cluster's storage failed: ${error.message}`))
          )
      })
      return {
        check: Effect.flatMap(
          sharding.isShutdown,
          (down): Effect.Effect<string | undefined> => down ? Effect.succeed("the cluster engine shut down") : heartbeat
        )
      }
    })
  )

/**
 * One runner in this process with in-memory storage: every shard is its
 * own, messages are kept in memory (a persisted message survives its
 * entity's restart, not the process). Cluster code runs unchanged on it, and
 * moves to `layerSocket` by swapping the layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerEmbedded = (options?: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}): Layer.Layer<Services | Store | MessageStorage.MemoryDriver> =>
  layerReadiness().pipe(
    Layer.merge(store.layerMemory),
    Layer.provideMerge(Sharding.layer),
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provideMerge(RunnerStorage.layerMemory),
    Layer.provide(RunnerHealth.layerNoop),
    Layer.provideMerge(ShardingConfig.layer(options?.shardingConfig))
  )

/**
 * The engine's SQL storage, and the fleet's `Store`. Each runner creates its
 * tables when it starts, and on PostgreSQL two sessions creating the same
 * table at once fail the second ("relation … already exists"), which the engine's storage dies of: so
 * the replicas of a deployment starting together on a fresh database would
 * lose all but one. A setup that fails is tried again, up to four times over
 * about a second; by then the tables the first runner made are found.
 */
const sqlStorage = Layer.mergeAll(SqlRunnerStorage.layer, SqlMessageStorage.layer, store.layerSql).pipe(
  Layer.catchAllCause(Layer.fail),
  Layer.retry(store.setupRetry),
  Layer.catchAll(Layer.failCause),
  Layer.orDie
)

/**
 * A runner of a fleet: `NodeClusterSocket` for the runners' traffic, with
 * shard locks and messages in the SQL database of the `SqlClient` it is
 * given, and the fleet's `Store` in a table beside them. The settings are read
 * from the environment as `NodeClusterSocket` reads them, with
 * `shardingConfig` taking precedence.
 *
 * Shard locks are leases by default (`shardLockDisableAdvisory: true`): a
 * lock is a row its owner refreshes, and another runner may take the shard
 * only after `shardLockExpiration` without a refresh. A singleton's owner
 * that cannot confirm its lease within `ClusterTask`'s fence deadline (shorter
 * than the expiry) stops its task first, so two owners never overlap. With
 * advisory locks (`shardLockDisableAdvisory: false`, the engine's default) a
 * lock dies with its database session, a failover is faster, and an owner
 * cut off from the database may overlap a new owner until its fence fires.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSocket = (options?: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  readonly serialization?: "msgpack" | "ndjson" | undefined
}): Layer.Layer<
  Services | Store,
  SocketServer.SocketServerError | ConfigError.ConfigError,
  SqlClient.SqlClient
> => {
  const shardingConfig = { shardLockDisableAdvisory: true, ...options?.shardingConfig }
  return layerReadiness().pipe(
    Layer.provideMerge(NodeClusterSocket.layer({
      storage: "byo",
      serialization: options?.serialization,
      shardingConfig
    })),
    Layer.provideMerge(sqlStorage),
    Layer.provideMerge(ShardingConfig.layerFromEnv(shardingConfig))
  )
}
