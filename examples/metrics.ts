/**
 * The supervisor's Effect metrics exported as Prometheus text through @effect/opentelemetry and the OpenTelemetry
 * Prometheus exporter, served at `/metrics` by `SupervisorHttp` beside the other routes. A flaky task restarts a few
 * times; the example then prints what a Prometheus server would scrape, and ends.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Effect, Layer } from "effect"
import { BackoffPolicy, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as SupervisorHttp from "effect-taskvisor/SupervisorHttp"

// the exporter as a metric reader only: SupervisorHttp serves its text, no server of its own
const exporter = new PrometheusExporter({ preventServerStart: true })
const serializer = new PrometheusSerializer()
const prometheusText = Effect.promise(async () => serializer.serialize((await exporter.collect()).resourceMetrics))

const program = Effect.gen(function*() {
  let runs = 0
  yield* TaskSupervisor.add(
    TaskSpec.restartable(
      "flaky",
      Effect.suspend(() => ++runs <= 3 ? Effect.fail(`run ${runs} failed`) : Effect.never)
    ).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("100 millis")))
  )
  yield* TaskSupervisor.add(TaskSpec.once("report", Effect.sleep("50 millis")))
  yield* Effect.sleep("1 second")
  const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
  const text = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/metrics`).then((r) => r.text()))
  const ours = text.split("\n").filter((line) => line.startsWith("taskvisor_") && !line.includes("_bucket"))
  yield* Effect.log(`GET /metrics (the taskvisor_ lines, without histogram buckets):\n${ours.join("\n")}`)
})

const MainLive = SupervisorHttp.layer({ port: 0, metrics: prometheusText }).pipe(
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layer({ grace: "1 second" })),
  Layer.provide(NodeSdk.layer(() => ({ resource: { serviceName: "taskvisor-example" }, metricReader: exporter })))
)

program.pipe(Effect.provide(MainLive), NodeRuntime.runMain)
