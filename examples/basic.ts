/**
 * The minimal static setup: one `TaskSpec.once` task run with `TaskSupervisor.run`.
 * `run` admits the batch, waits until the registry is empty and shuts the supervisor down,
 * so the program ends by itself as soon as "hello" has finished.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const hello = TaskSpec.once("hello", Effect.log("hello from a supervised task"))

const program = Effect.gen(function*() {
  yield* TaskSupervisor.run([hello])
  yield* Effect.log("the registry is empty: run() returned")
})

program.pipe(
  Effect.provide(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))),
  NodeRuntime.runMain
)
