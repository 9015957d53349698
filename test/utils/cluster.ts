/**
 * Cluster helpers for the tests: a real-time poll, the embedded runner with a
 * shard-lock storage that can be made to hang, and a supervisor served over
 * HTTP beside the embedded runner with singletons registered on it, or over
 * a runner built apart with sharded slots and no singleton.
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as ClusterController from "../../src/ClusterController.js"
import * as ClusterRunner from "../../src/ClusterRunner.js"
import * as ClusterTask from "../../src/ClusterTask.js"
import * as Controller from "../../src/Controller.js"
import * as SupervisorConfig from "../../src/SupervisorConfig.js"
import * as SupervisorHttp from "../../src/SupervisorHttp.js"
import * as TaskSpec from "../../src/TaskSpec.js"
import * as TaskSupervisor from "../../src/TaskSupervisor.js"

/** Poll `condition` every 20 ms until it holds; a defect naming `what` after `within` of real time. */
export const eventually = (what: string, condition: () => boolean, within: Duration.DurationInput = "10 seconds") =>
  eventuallyEffect(what, Effect.sync(condition), within)

/** Run `condition` every 20 ms until it holds; a defect naming `what` after `within` of real time. */
export const eventuallyEffect = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  within: Duration.DurationInput = "10 seconds"
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(within)
    while (!(yield* condition)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting until ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

/**
 * The embedded runner's composition, with a shard-lock storage whose acquire
 * and refresh hang while `hung.on` is set; by default the engine's own refresh
 * is far off (the fence, not the engine, must notice).
 */
export const hangingRunner = (
  hung: { on: boolean },
  locks: { readonly refresh: Duration.DurationInput; readonly expiry: Duration.DurationInput } = {
    refresh: "30 seconds",
    expiry: "60 seconds"
  }
) =>
  Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provideMerge(
      Layer.effect(
        RunnerStorage.RunnerStorage,
        Effect.map(RunnerStorage.makeMemory, (memory) =>
          RunnerStorage.RunnerStorage.of({
            ...memory,
            acquire: (address, shardIds) =>
              Effect.suspend(() => hung.on ? Effect.never : memory.acquire(address, shardIds)),
            refresh: (address, shardIds) =>
              Effect.suspend(() => hung.on ? Effect.never : memory.refresh(address, shardIds))
          }))
      )
    ),
    Layer.provide(RunnerHealth.layerNoop),
    Layer.provideMerge(ShardingConfig.layer({
      shardLockDisableAdvisory: true,
      shardLockRefreshInterval: locks.refresh,
      shardLockExpiration: locks.expiry
    }))
  )

/** A singleton to register: its spec and options. */
export type Singleton = readonly [TaskSpec.TaskSpec<unknown>, ClusterTask.SingletonOptions?]

/**
 * A supervisor beside a cluster runner (the embedded one unless told), the
 * `singletons` registered over them, and `SupervisorHttp.layer` serving them
 * on a free loopback port, for the life of the scope; its base URL (with a
 * trailing slash), its runner's address and its supervisor.
 */
export const servedCluster = (
  singletons: readonly [Singleton, ...Array<Singleton>],
  options: { readonly runner?: Layer.Layer<Sharding.Sharding | ShardingConfig.ShardingConfig> } = {}
) =>
  Effect.gen(function*() {
    const base = TaskSupervisor.layer.pipe(
      Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" })),
      Layer.merge(options.runner ?? ClusterRunner.layerEmbedded())
    )
    const [first, ...rest] = singletons.map(([spec, singletonOptions]) => ClusterTask.singleton(spec, singletonOptions))
    const context = yield* Layer.build(
      SupervisorHttp.layer({ port: 0 }).pipe(
        Layer.provideMerge(Layer.mergeAll(first, ...rest)),
        Layer.provideMerge(base)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
    const runner = Option.getOrThrow(Context.get(context, ShardingConfig.ShardingConfig).runnerAddress)
    return {
      url: `http://127.0.0.1:${address.port}/`,
      runner: `${runner.host}:${runner.port}`,
      supervisor: Context.get(context, TaskSupervisor.TaskSupervisor)
    }
  })

/**
 * A runner that runs only sharded slots: over `engine` (a runner's context, built and closed by the caller, so that
 * it can shut down while the endpoint still serves), a supervisor, a controller, the slots of `jobs` (a job is its
 * slot key and ends at once) and `SupervisorHttp.layer` on a free loopback port, for the life of the scope; its base
 * URL (with a trailing slash), and `run`, which submits a job and waits for its outcome.
 */
export const servedSlots = (engine: Context.Context<Sharding.Sharding | ClusterRunner.Readiness>) =>
  Effect.gen(function*() {
    const jobs = ClusterController.make("jobs", {
      payload: Schema.String,
      slot: (job) => job,
      task: (job) => TaskSpec.once(`job-${job}`, Effect.void)
    })
    const context = yield* Layer.build(
      SupervisorHttp.layer({ port: 0 }).pipe(
        Layer.provideMerge(jobs.layer),
        Layer.provideMerge(Controller.layer()),
        Layer.provideMerge(TaskSupervisor.layer),
        Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" })),
        Layer.provideMerge(Layer.succeedContext(engine))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
    return {
      url: `http://127.0.0.1:${address.port}/`,
      run: (job: string) => Effect.provide(jobs.run(job), engine)
    }
  })
