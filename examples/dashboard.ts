/**
 * The operator's view: a small fleet served with the dashboard, the JSON routes, the live events and the Prometheus
 * scrape endpoint (`/metrics`, through @effect/opentelemetry and the OpenTelemetry Prometheus exporter, as in
 * `metrics.ts`) on http://127.0.0.1:8080/ (`PORT` sets another port, 0 a free one) until Ctrl-C. The fleet: a flaky
 * poller, a periodic report, a pipeline group (fetch → parse → store under `restForOne`, its parser crashing now and then, so
 * the store restarts with it) and a controller slot that takes a new import every few seconds. Ctrl-C shuts the
 * supervisor down gracefully: from then on each task's stop and outcome are logged, then the end of the shutdown.
 *
 * With TASKVISOR_TOKEN set, the page shows buttons to restart, pause, resume, trigger and cancel a task (it asks for
 * the token once and keeps it for the browser tab), and the POST routes accept it as a bearer token:
 * `curl -X POST -H "Authorization: Bearer $TASKVISOR_TOKEN" http://127.0.0.1:8080/tasks/poller/pause`.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Config, Data, Effect, Layer, Option, Random, Schedule } from "effect"
import { Controller, ControllerSpec, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as SupervisorHttp from "effect-taskvisor/SupervisorHttp"

/** Fails about one run in three, after a little while. */
const poll = Effect.gen(function*() {
  yield* Effect.sleep("2 seconds")
  if ((yield* Random.nextIntBetween(0, 3)) === 0) return yield* Effect.fail("upstream answered 503")
  yield* Effect.never
})

/** A failure with an exit code (65: the input data was incorrect), kept in the crash history. */
class Malformed extends Data.TaggedError("Malformed")<{ readonly message: string; readonly exitCode: number }> {}

/** Parses pages until one of them is malformed, after 5 to 20 seconds. */
const parse = Effect.gen(function*() {
  yield* Effect.sleep(`${yield* Random.nextIntBetween(5, 20)} seconds`)
  return yield* new Malformed({ message: "malformed page: unexpected end of input", exitCode: 65 })
})

const pipeline = TaskSpec.group("pipeline", [
  TaskSpec.restartable("fetch", Effect.never),
  TaskSpec.restartable("parse", parse),
  TaskSpec.restartable("store", Effect.never)
], { strategy: "restForOne", intensity: { maxRestarts: 10, within: "1 minute" } })

const fleet = Effect.gen(function*() {
  yield* TaskSupervisor.add(TaskSpec.restartable("poller", poll))
  yield* TaskSupervisor.add(TaskSpec.periodic("report", Effect.sleep("500 millis"), "10 seconds"))
  yield* TaskSupervisor.add(pipeline)
  let n = 0
  yield* Effect.repeat(
    Effect.suspend(() =>
      Controller.submit(
        ControllerSpec.replace(TaskSpec.once(`import-${++n}`, Effect.sleep("4 seconds"))).pipe(
          ControllerSpec.withSlot("imports")
        )
      )
    ),
    Schedule.spaced("3 seconds")
  ).pipe(Effect.forkScoped)
  const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
  yield* Effect.log(`dashboard on http://127.0.0.1:${address.port}/, metrics on /metrics (Ctrl-C stops)`)
  return yield* Effect.never
})

// the exporter as a metric reader only: SupervisorHttp serves its text at /metrics, beside the page
const exporter = new PrometheusExporter({ preventServerStart: true })
const serializer = new PrometheusSerializer()
const prometheusText = Effect.promise(async () => serializer.serialize((await exporter.collect()).resourceMetrics))

const HttpLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const token = yield* Config.option(Config.redacted("TASKVISOR_TOKEN"))
    const port = yield* Config.integer("PORT").pipe(Config.withDefault(8080))
    yield* Effect.log(`controls ${Option.isSome(token) ? "on" : "off (set TASKVISOR_TOKEN)"}`)
    return SupervisorHttp.layer({ port, token: Option.getOrUndefined(token), metrics: prometheusText })
  })
)

// from the shutdown on, every event is logged: the tasks stopping, their outcomes, and the end within the grace
let stopping = false
const shutdownLog = Subscriber.make({
  name: "shutdown-log",
  onEvent: (event) => {
    if (event._tag === "ShutdownRequested") stopping = true
    return stopping ? Effect.log(Subscriber.formatEvent(event)) : Effect.void
  }
})

const MainLive = HttpLive.pipe(
  Layer.provideMerge(Controller.layer()),
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(Subscriber.layer(shutdownLog)),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" })),
  Layer.provide(NodeSdk.layer(() => ({ resource: { serviceName: "taskvisor-dashboard" }, metricReader: exporter })))
)

fleet.pipe(Effect.scoped, Effect.provide(MainLive), NodeRuntime.runMain)
