/**
 * Ownership moving on a rebalance, with no runner stopping: two `ClusterRunner.layerSocket` runners in this process
 * over a real PostgreSQL server. The engine assigns shards to the healthy runners by a hash ring of their addresses
 * (@effect/cluster's `Sharding`, recomputed every `refreshAssignmentsInterval`), so a runner that joins takes some
 * shards from the others: the first runner releases them, which stops the singletons of those shards there, and the
 * joiner acquires them. The test computes the ring as the engine does, to pick one singleton whose shard the joiner
 * takes and one whose shard stays.
 */
import { EntityId } from "@effect/cluster/EntityId"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as Sharding from "@effect/cluster/Sharding"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, HashRing, Layer, Option, Redacted, Scope } from "effect"
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

const shardsPerGroup = 30

const ofTag = <K extends SupervisorEvent["_tag"]>(events: ReadonlyArray<SupervisorEvent>, tag: K, name: string) =>
  events.filter((e): e is Extract<SupervisorEvent, { _tag: K }> =>
    e._tag === tag && (("singleton" in e && e.singleton === name) || ("task" in e && e.task === name))
  )

/** The engine of a runner of the fleet on `url`, listening on `port`, with its supervisor; its scope closes it. */
const runner = (url: string, port: number) =>
  Effect.gen(function*() {
    const recorder = recording(`runner ${port}`)
    const base = TaskSupervisor.layer.pipe(
      Layer.provide(Subscriber.layer(recorder.subscriber)),
      Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" })),
      Layer.merge(ClusterRunner.layerSocket({
        shardingConfig: {
          runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", port)),
          shardLockExpiration: "4 seconds",
          shardLockRefreshInterval: "1 second",
          refreshAssignmentsInterval: "1 second",
          shardsPerGroup
        }
      })),
      Layer.provide(PgClient.layer({ url: Redacted.make(url), applicationName: `runner-${port}` }))
    )
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(base, scope)
    return { scope, context, events: recorder.events, address: `127.0.0.1:${port}` }
  })

/** Whose shard each index is (1-based shard ids), as the engine's ring of these runners gives them. */
const assignments = (ports: ReadonlyArray<number>): ReadonlyArray<string> => {
  const ring = HashRing.make<RunnerAddress.RunnerAddress>()
  for (const port of ports) HashRing.add(ring, RunnerAddress.make("127.0.0.1", port), { weight: 1 })
  return HashRing.getShards(ring, shardsPerGroup)!.map((address) => `${address.host}:${address.port}`)
}

describe("a singleton whose shard moves on a rebalance", () => {
  const postgres = usePostgres()

  it.live(
    "a runner joins: the task stops gracefully where it was (Handover, Canceled) and starts on the joiner; the rest stay",
    () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => postgres().createDatabase("rebalance"))
        const [portA, portB] = yield* Effect.promise(async () => {
          const a = await freePort()
          let b = await freePort()
          while (b === a) b = await freePort()
          return [a, b]
        })
        const a = yield* runner(url, portA)
        // the names: one whose shard the ring of both runners gives the joiner, one whose shard it leaves
        const sharding = Context.get(a.context, Sharding.Sharding)
        const both = assignments([portA, portB])
        const ownerOf = (name: string) => both[sharding.getShardId(EntityId.make(name), "default").id - 1]
        const names = Array.from({ length: 100 }, (_, i) => `singleton-${i}`)
        const moves = names.find((name) => ownerOf(name) === `127.0.0.1:${portB}`)!
        const stays = names.find((name) => ownerOf(name) === a.address)!
        assert.isDefined(moves)
        assert.isDefined(stays)

        const log: Array<string> = []
        const singleton = (name: string, at: string) =>
          ClusterTask.singleton(
            TaskSpec.restartable(
              name,
              Effect.acquireRelease(
                Effect.sync(() => log.push(`start ${name}@${at}`)),
                () => Effect.sync(() => log.push(`stop ${name}@${at}`))
              ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
            ),
            { unownedAfter: "1 second" }
          )
        const singletons = (at: string) => Layer.merge(singleton(moves, at), singleton(stays, at))
        const top = (built: Effect.Effect.Success<ReturnType<typeof runner>>, at: string) =>
          Layer.buildWithScope(singletons(at).pipe(Layer.provide(Layer.succeedContext(built.context))), built.scope)

        const topA = yield* top(a, "a")
        yield* eventually("both run on the only runner", () =>
          log.includes(`start ${moves}@a`) && log.includes(`start ${stays}@a`), "20 seconds")

        const b = yield* runner(url, portB)
        yield* top(b, "b")
        yield* eventually("the joiner runs the singleton whose shard moved", () =>
          log.includes(`start ${moves}@b`), "20 seconds")

        // where it was: stopped before it started on the joiner, released as a handover, its attempt canceled
        assert.deepStrictEqual(
          log.filter((entry) =>
            entry.includes(moves)
          ),
          [
            `start ${moves}@a`,
            `stop ${moves}@a`,
            `start ${moves}@b`
          ]
        )
        const released = ofTag(a.events, "SingletonReleased", moves)
        assert.deepStrictEqual(released.map((e) => [e.release, e.runner]), [["Handover", a.address]])
        assert.deepStrictEqual(
          ofTag(a.events, "AttemptCanceled", moves).map((e) =>
            e.attempt
          ),
          [1]
        )
        assert.deepStrictEqual(ofTag(a.events, "AttemptFailed", moves), [])
        const finished = ofTag(a.events, "TaskFinished", moves)
        assert.deepStrictEqual(
          finished.map((e) =>
            e.outcome._tag
          ),
          ["Canceled"]
        )
        assert.isBelow(a.events.indexOf(finished[0]), a.events.indexOf(released[0]), "released after it stopped")
        // where it goes
        assert.deepStrictEqual(ofTag(b.events, "SingletonAcquired", moves).map((e) => e.runner), [b.address])
        const supervisorB = Context.get(b.context, TaskSupervisor.TaskSupervisor)
        assert.isTrue(yield* supervisorB.isAlive(moves))

        // the singleton whose shard stayed was not disturbed, and never ran on the joiner
        assert.deepStrictEqual(log.filter((entry) => entry.includes(stays)), [`start ${stays}@a`])
        assert.deepStrictEqual(ofTag(a.events, "SingletonReleased", stays), [])
        assert.deepStrictEqual(ofTag(b.events, "SingletonAcquired", stays), [])

        // what the first runner knows: the moved one is held by the joiner, and runs there
        yield* eventually("the first runner sees the joiner run it", () => {
          const rows = Effect.runSync(ClusterTask.status.pipe(Effect.provide(topA)))
          const row = rows.find((r) => r.name === moves)!
          return row.owner === b.address && row.running && !row.local
        }, "10 seconds")

        yield* Scope.close(b.scope, Exit.void)
        yield* Scope.close(a.scope, Exit.void)
      }),
    60_000
  )
})
