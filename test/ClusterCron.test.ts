/**
 * A cron task under `ClusterTask.singleton` on `ClusterRunner.layerSocket` runners over a real PostgreSQL server: it
 * runs on one runner at each scheduled time, and its last run is kept in the fleet's store (`taskvisor_kv`), so the
 * runner that takes it after a time passed with no owner catches that time up once (or, with `catchUp: "none"`,
 * publishes it skipped). Also the SQL store itself.
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { freePort } from "../examples/cluster_processes.js"
import * as ClusterRunner from "../src/ClusterRunner.js"
import * as ClusterTask from "../src/ClusterTask.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { eventually } from "./utils/cluster.js"
import { recording } from "./utils/recorder.js"
import { usePostgres } from "./utils/usePostgres.js"

const pg = (url: string) => PgClient.layer({ url: Redacted.make(url) })

const key = "effect-taskvisor/cron/tick"

/** A run of the cron task: on which runner, for which scheduled time (as the store had it), when it started. */
interface Run {
  readonly runner: string
  readonly scheduledAt: number
  readonly at: number
}

/** Every 2 seconds; the run reads the time its owner stored for it. */
const tick = (runs: Array<Run>, runner: string, catchUp: TaskSpec.CronOptions["catchUp"]) =>
  TaskSpec.cron(
    "tick",
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ kv_value: string }>`SELECT kv_value FROM taskvisor_kv WHERE kv_key = ${key}`
      // none stored: NaN, which every such run shares
      runs.push({ runner, scheduledAt: rows.length === 0 ? Number.NaN : Date.parse(rows[0].kv_value), at: Date.now() })
    }),
    "*/2 * * * * *",
    { catchUp }
  )

/** A runner of the fleet on `url` with its supervisor and the `tick` singleton; its scope closes it. */
const runner = (url: string, name: string, runs: Array<Run>, catchUp: TaskSpec.CronOptions["catchUp"]) =>
  Effect.gen(function*() {
    const recorder = recording(name)
    const port = yield* Effect.promise(freePort)
    const base = TaskSupervisor.layer.pipe(
      Layer.provide(Subscriber.layer(recorder.subscriber)),
      Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" })),
      Layer.merge(ClusterRunner.layerSocket({
        shardingConfig: {
          runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", port)),
          shardLockExpiration: "4 seconds",
          shardLockRefreshInterval: "1 second",
          refreshAssignmentsInterval: "1 second",
          shardsPerGroup: 30
        }
      })),
      Layer.provideMerge(pg(url))
    )
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(base, scope)
    yield* Layer.buildWithScope(
      ClusterTask.singleton(tick(runs, name, catchUp)).pipe(Layer.provide(Layer.succeedContext(context))),
      scope
    )
    return { scope, recorder }
  })

/** How many runs each scheduled time had, across the runners. */
const perTime = (runs: ReadonlyArray<Run>) => {
  const counts = new Map<number, number>()
  for (const run of runs) counts.set(run.scheduledAt, (counts.get(run.scheduledAt) ?? 0) + 1)
  return counts
}

const storedIn = (url: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ kv_value: string }>`SELECT kv_value FROM taskvisor_kv WHERE kv_key = ${key}`
  ).pipe(
    Effect.map((rows) => Date.parse(rows[0].kv_value)),
    Effect.provide(pg(url))
  )

/**
 * Two runners run `tick` for a while; then both stop, and a scheduled time passes with no owner; then a third runner
 * takes it and runs a scheduled time after its start. Returns the runs, the first time that passed with no owner, the
 * time stored when both had stopped, the third runner's events and the time stored at the end.
 */
const failover = (url: string, catchUp: TaskSpec.CronOptions["catchUp"]) =>
  Effect.gen(function*() {
    const runs: Array<Run> = []
    const [a, b] = yield* Effect.all([runner(url, "a", runs, catchUp), runner(url, "b", runs, catchUp)], {
      concurrency: 2
    })
    yield* eventually("two scheduled runs", () => runs.length >= 2, "20 seconds")
    yield* Scope.close(a.scope, Exit.void)
    yield* Scope.close(b.scope, Exit.void)
    const stoppedAt = Date.now()
    const before = runs.length
    const storedBefore = yield* storedIn(url)
    // the next scheduled time passes with no owner
    const missedAt = Math.ceil((stoppedAt + 1) / 2000) * 2000
    yield* eventually("a scheduled time passed", () => Date.now() > missedAt + 300)
    assert.strictEqual(runs.length, before, "nothing runs while no runner owns it")
    const startedAt = Date.now()
    const c = yield* runner(url, "c", runs, catchUp)
    yield* eventually("a scheduled run on the new owner", () =>
      runs.some((run) => run.scheduledAt > startedAt), "20 seconds")
    yield* Scope.close(c.scope, Exit.void)
    return { runs, storedBefore, missedAt, events: c.recorder.events, stored: yield* storedIn(url) }
  })

describe("ClusterTask.singleton of a cron task on the embedded runner", () => {
  it.live(
    "keeps its last run in the runner's Store; its effect sees the caller's own KeyValueStore",
    () =>
      Effect.gen(function*() {
        const seen: Array<string | undefined> = []
        const spec = TaskSpec.cron(
          "own-store",
          Effect.flatMap(KeyValueStore.KeyValueStore, (kv) => kv.get("mine")).pipe(
            Effect.map((v) => seen.push(Option.getOrUndefined(v)))
          ),
          "* * * * * *"
        )
        const base = yield* Layer.build(
          Layer.mergeAll(
            TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "1 second" }))),
            ClusterRunner.layerEmbedded(),
            KeyValueStore.layerMemory
          )
        )
        const own = Context.get(base, KeyValueStore.KeyValueStore)
        yield* own.set("mine", "yes")
        yield* Layer.build(ClusterTask.singleton(spec).pipe(Layer.provide(Layer.succeedContext(base))))
        yield* eventually("a scheduled run", () => seen.length >= 1, "5 seconds")
        assert.strictEqual(seen[0], "yes")
        assert.isTrue(Option.isNone(yield* own.get("effect-taskvisor/cron/own-store")), "not in the caller's store")
        const stored = yield* Context.get(base, ClusterRunner.Store).get("effect-taskvisor/cron/own-store")
        assert.isTrue(Option.isSome(stored) && !Number.isNaN(Date.parse(stored.value)), "in the runner's Store")
      }).pipe(Effect.scoped),
    10_000
  )
})

describe("ClusterTask.singleton of a cron task on PostgreSQL", () => {
  const postgres = usePostgres()

  it.live(
    "the store keeps, replaces and removes values, and stores created at once on a fresh database all start",
    () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => postgres().createDatabase("kv_fresh"))
        // each on its own client, as the runners of a deployment starting together
        const store = ClusterRunner.layerStore.pipe(Layer.provide(pg(url)))
        const stores = yield* Effect.all(
          Array.from({ length: 4 }, () => Effect.exit(Effect.provide(ClusterRunner.Store, store))),
          { concurrency: 4 }
        )
        for (const exit of stores) assert.isTrue(Exit.isSuccess(exit), String(exit))
        const kv = Context.get(yield* Layer.build(store), ClusterRunner.Store)
        assert.isTrue(Option.isNone(yield* kv.get("k")))
        yield* kv.set("k", "one")
        yield* kv.set("other", "two")
        assert.strictEqual(Option.getOrUndefined(yield* kv.get("k")), "one")
        yield* kv.set("k", "three")
        assert.strictEqual(Option.getOrUndefined(yield* kv.get("k")), "three")
        assert.strictEqual(yield* kv.size, 2)
        yield* kv.remove("k")
        assert.isTrue(Option.isNone(yield* kv.get("k")))
        assert.strictEqual(yield* kv.size, 1)
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a scheduled time missed while no runner owned it is caught up once by the next owner",
    () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => postgres().createDatabase("cron_catchup"))
        const { missedAt, runs, stored, storedBefore } = yield* failover(url, "30 seconds")
        for (const [at, count] of perTime(runs)) assert.strictEqual(count, 1, `runs for ${new Date(at).toISOString()}`)
        // the new owner's first run is the catch-up: for the latest time that had passed when it started
        const first = runs.find((run) => run.runner === "c")!
        assert.isAtLeast(first.scheduledAt, missedAt)
        assert.strictEqual(first.scheduledAt, Math.floor(first.at / 2000) * 2000, "the latest missed time")
        const caughtUp = runs.filter((run) => run.scheduledAt > storedBefore && run.scheduledAt <= first.scheduledAt)
        assert.deepStrictEqual(caughtUp, [first], "once, for the missed times together")
        assert.strictEqual(stored, Math.max(...runs.map((run) => run.scheduledAt)), "the store has the last run")
      }),
    50_000
  )

  it.live(
    "with catchUp \"none\" the next owner publishes the missed time skipped and waits for the next",
    () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => postgres().createDatabase("cron_none"))
        const { events, missedAt, runs, storedBefore } = yield* failover(url, "none")
        for (const [at, count] of perTime(runs)) assert.strictEqual(count, 1, `runs for ${new Date(at).toISOString()}`)
        const skipped = events.filter((e): e is Extract<SupervisorEvent, { _tag: "RunSkipped" }> =>
          e._tag === "RunSkipped"
        )
        assert.strictEqual(skipped.length, 1)
        assert.strictEqual(skipped[0].why, "Missed")
        assert.isAtLeast(skipped[0].scheduledAt, missedAt)
        // nothing ran for the missed times; the new owner's first run is the next time after them
        assert.deepStrictEqual(
          runs.filter((run) => run.scheduledAt > storedBefore && run.scheduledAt <= skipped[0].scheduledAt),
          []
        )
        assert.strictEqual(runs.find((run) => run.runner === "c")!.scheduledAt, skipped[0].scheduledAt + 2000)
      }),
    50_000
  )
})
