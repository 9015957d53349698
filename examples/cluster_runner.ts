/**
 * One runner of a fleet, as its own process: `ClusterRunner.layerSocket` over PostgreSQL (`@effect/sql-pg`), a
 * `TaskSupervisor`, and one cluster singleton, `heartbeat`, that runs on exactly one runner of the fleet at a time.
 * `examples/cluster_fleet.ts` starts three of these; started alone it needs a PostgreSQL server:
 *
 *   DATABASE_URL=postgres://… RUNNER_NAME=a HOST=127.0.0.1 PORT=34431 npm run example examples/cluster_runner.ts
 *
 * The engine reads its settings from the environment (`ShardingConfig.layerFromEnv`): `HOST` and `PORT` (this
 * runner's address), `SHARD_LOCK_EXPIRATION`, `SHARD_LOCK_REFRESH_INTERVAL`, `REFRESH_ASSIGNMENTS_INTERVAL`,
 * `RUNNER_HEALTH_CHECK_INTERVAL` (durations such as `4 seconds`), … `RUNNER_NAME` names the runner in its reports
 * and its PostgreSQL sessions (`application_name`).
 *
 * It tells what happens on stdout, one JSON object a line stamped with `Date.now()`: `ready` when the runner has
 * joined, `started` and `ended` (with `why`) around each run of the singleton's body on this runner, and the
 * supervisor's `Singleton…` and `Attempt…` events. Logs go to stderr. SIGTERM (or Ctrl-C) stops it gracefully:
 * the singleton is stopped here and its shard released, so another runner takes it over at once.
 */
import type * as Sharding from "@effect/cluster/Sharding"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Cause, Config, Effect, Exit, Layer, Logger, pipe } from "effect"
import { Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as ClusterRunner from "effect-taskvisor/ClusterRunner"
import * as ClusterTask from "effect-taskvisor/ClusterTask"
import { fileURLToPath } from "node:url"
import type { Happening } from "./cluster_processes.js"

/**
 * Writes one report line (a pipe's writes are synchronous on Linux: a line written is out before a SIGKILL): a
 * `Happening`, or what else a runner built on this one reports.
 */
export const report = (
  runner: string,
  happening: Happening | { readonly type: string; readonly [field: string]: unknown }
): Effect.Effect<void> =>
  Effect.sync(() => process.stdout.write(JSON.stringify({ at: Date.now(), runner, ...happening }) + "\n"))

const runnerName: Config.Config<string> = Config.string("RUNNER_NAME").pipe(Config.withDefault("runner"))

/** What a runner gives the singleton layer. */
export type Requirements = Sharding.Sharding | TaskSupervisor.TaskSupervisor | TaskSupervisor.SupervisorRegistry

/**
 * The singleton's body: says when it starts and when it ends (and why), and works until it is stopped.
 */
export const heartbeat = (runner: string): Effect.Effect<never> => {
  let runs = 0
  return Effect.suspend(() => {
    const run = ++runs
    return report(runner, { type: "started", run }).pipe(
      Effect.andThen(Effect.never),
      Effect.onExit((exit) =>
        report(runner, {
          type: "ended",
          run,
          why: Exit.isSuccess(exit) ? "succeeded" : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failed"
        })
      )
    )
  })
}

/**
 * The runner and its supervisor, with `singleton` (a layer over `Sharding` and the supervisor) on them. The
 * supervisor's `Singleton…` and `Attempt…` events are reported.
 */
const runnerLayer = <A, E>(singleton: (runner: string) => Layer.Layer<A, E, Requirements>) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const runner = yield* runnerName
    const reporter = Subscriber.make({
      name: "report",
      onEvent: (event) =>
        event._tag === "SingletonReleased"
          ? report(runner, { type: "event", tag: event._tag, release: event.release })
          : event._tag.startsWith("Singleton") || event._tag.startsWith("Attempt")
          ? report(runner, { type: "event", tag: event._tag })
          : Effect.void
    })
    const supervisor = TaskSupervisor.layer.pipe(
      Layer.provide(Subscriber.layer(reporter)),
      Layer.provide(SupervisorConfig.layerDefaults)
    )
    const cluster = ClusterRunner.layerSocket().pipe(
      Layer.provide(PgClient.layerConfig({
        url: Config.redacted("DATABASE_URL"),
        applicationName: Config.succeed(runner)
      }))
    )
    return pipe(
      Layer.effectDiscard(report(runner, { type: "ready" })),
      Layer.provide(singleton(runner)),
      Layer.provide(supervisor),
      Layer.provide(cluster),
      Layer.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
    )
  }))

/** Runs a runner until SIGTERM or SIGINT, then stops it gracefully. */
export const launch = <A, E>(singleton: (runner: string) => Layer.Layer<A, E, Requirements>): void =>
  NodeRuntime.runMain(Layer.launch(runnerLayer(singleton)), { disablePrettyLogger: true })

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  launch((runner) => ClusterTask.singleton(TaskSpec.restartable("heartbeat", heartbeat(runner))))
}
