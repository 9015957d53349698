/**
 * One span per attempt, exported to the console through @effect/opentelemetry: a task that fails twice before it
 * succeeds gives three `taskvisor.attempt` spans under the caller's span, each with the task, its id, the attempt,
 * its result and, on failure, the reason, and each linked to the attempt before it.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { BackoffPolicy, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const program = Effect.gen(function*() {
  let runs = 0
  const handle = yield* TaskSupervisor.add(
    TaskSpec.restartable(
      "importer",
      Effect.suspend(() => ++runs <= 2 ? Effect.fail(`batch ${runs} rejected`) : Effect.sleep("20 millis"))
    ).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("50 millis")))
  ).pipe(Effect.withSpan("start-importer"))
  const outcome = yield* handle.await
  yield* Effect.log(`importer: ${outcome._tag}; the spans above are its three attempts`)
})

const MainLive = TaskSupervisor.layer.pipe(
  Layer.provide(SupervisorConfig.layer({ grace: "1 second" })),
  Layer.provideMerge(
    NodeSdk.layer(() => ({
      resource: { serviceName: "taskvisor-example" },
      spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
    }))
  )
)

program.pipe(Effect.provide(MainLive), NodeRuntime.runMain)
