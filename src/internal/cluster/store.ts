/** The fleet's key-value store (SQL table `taskvisor_kv`), where cron singletons keep their last scheduled run. */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

/** A `KeyValueStore` every runner of a fleet shares (the embedded runner: its own, in memory). */
export class ClusterStore extends Context.Tag("effect-taskvisor/cluster/Store")<
  ClusterStore,
  KeyValueStore.KeyValueStore
>() {}

/** The table the store keeps its entries in. */
export const table = "taskvisor_kv"

/**
 * Runners starting at once on a fresh PostgreSQL database race to create the
 * table ("relation … already exists", or a unique violation on its catalog,
 * despite `IF NOT EXISTS`): a setup that fails is tried again, up to four
 * times over about a second; by then the table the first runner made is found.
 */
export const setupRetry = Schedule.intersect(Schedule.jittered(Schedule.exponential("50 millis")), Schedule.recurs(4))

const failed = (method: string) => (cause: SqlError) =>
  new PlatformError.SystemError({
    reason: "Unknown",
    module: "KeyValueStore",
    method,
    description: `the cluster store's table ${table} could not be used: ${cause.message}`,
    cause
  })

/** The store over `SqlClient`'s database; creates its table if it does not exist. */
export const make: Effect.Effect<KeyValueStore.KeyValueStore, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const t = sql(table)
  yield* sql.onDialectOrElse({
    mssql: () =>
      sql.unsafe(
        `IF OBJECT_ID(N'${table}', N'U') IS NULL ` +
          `CREATE TABLE ${table} (kv_key NVARCHAR(255) PRIMARY KEY, kv_value NVARCHAR(MAX) NOT NULL)`
      ),
    // pg, mysql, sqlite
    orElse: () => sql`CREATE TABLE IF NOT EXISTS ${t} (kv_key VARCHAR(255) PRIMARY KEY, kv_value TEXT NOT NULL)`
  }).pipe(Effect.retry(setupRetry))
  const upsert = (key: string, value: string) =>
    sql.onDialectOrElse({
      mssql: () =>
        sql`MERGE ${t} AS target USING (SELECT ${key} AS kv_key, ${value} AS kv_value) AS source
          ON target.kv_key = source.kv_key
          WHEN MATCHED THEN UPDATE SET kv_value = source.kv_value
          WHEN NOT MATCHED THEN INSERT (kv_key, kv_value) VALUES (source.kv_key, source.kv_value);`,
      mysql: () =>
        sql`INSERT INTO ${t} ${sql.insert({ kv_key: key, kv_value: value })}
          ON DUPLICATE KEY UPDATE kv_value = VALUES(kv_value)`,
      // pg, sqlite
      orElse: () =>
        sql`INSERT INTO ${t} ${sql.insert({ kv_key: key, kv_value: value })}
          ON CONFLICT (kv_key) DO UPDATE SET kv_value = EXCLUDED.kv_value`
    })
  return KeyValueStore.makeStringOnly({
    get: (key) =>
      sql<{ kv_value: string }>`SELECT kv_value FROM ${t} WHERE kv_key = ${key}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.kv_value)),
        Effect.mapError(failed("get"))
      ),
    set: (key, value) => Effect.mapError(Effect.asVoid(upsert(key, value)), failed("set")),
    remove: (key) => Effect.mapError(Effect.asVoid(sql`DELETE FROM ${t} WHERE kv_key = ${key}`), failed("remove")),
    clear: Effect.mapError(Effect.asVoid(sql`DELETE FROM ${t}`), failed("clear")),
    size: sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${t}`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.mapError(failed("size"))
    )
  })
})

/** The store over the runners' SQL database. */
export const layerSql: Layer.Layer<ClusterStore, SqlError, SqlClient.SqlClient> = Layer.effect(ClusterStore, make)

/** A store in this process's memory (the embedded runner's). */
export const layerMemory: Layer.Layer<ClusterStore> = Layer.effect(
  ClusterStore,
  Effect.provide(KeyValueStore.KeyValueStore, KeyValueStore.layerMemory)
)
