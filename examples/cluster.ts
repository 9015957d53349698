/**
 * Cluster mode in one process: a `ClusterTask.singleton` on the embedded runner (`ClusterRunner.layerEmbedded`, one
 * runner, in-memory storage, no server). The spec is an ordinary `TaskSpec`: it fails twice and is restarted with
 * backoff by the local supervisor, then runs. The program then releases the singleton: its task is stopped
 * gracefully, and the bus says `SingletonReleased` (`Shutdown`). Swap `layerEmbedded()` for
 * `ClusterRunner.layerSocket(...)` over PostgreSQL and the same layer runs it on exactly one runner of a fleet
 * (`examples/cluster_fleet.ts`).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as ClusterRunner from "effect-taskvisor/ClusterRunner"
import * as ClusterTask from "effect-taskvisor/ClusterTask"

let attempts = 0
const nightlyImport = TaskSpec.make(
  "nightly-import",
  Effect.gen(function*() {
    attempts++
    if (attempts <= 2) return yield* Effect.fail(`the database is not up yet (attempt ${attempts})`)
    yield* Effect.log("importing, on whichever runner owns the singleton")
    return yield* Effect.never
  }),
  { backoff: BackoffPolicy.exponential("100 millis") }
)

const Supervisor = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))
)

const program = Effect.gen(function*() {
  // the singleton runs while this scope is open
  yield* Layer.launch(ClusterTask.singleton(nightlyImport)).pipe(
    Effect.timeout("2 seconds"),
    Effect.ignore
  )
  yield* Effect.log(`released after ${attempts} attempts`)
})

program.pipe(
  Effect.provide(Layer.merge(Supervisor, ClusterRunner.layerEmbedded())),
  NodeRuntime.runMain
)
