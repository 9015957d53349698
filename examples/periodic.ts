/**
 * A heartbeat with `TaskSpec.periodic`: a short job that runs again 1 second after each success (a fixed delay
 * after completion, not a cron schedule). It stops by itself after ~3.5 s via `TaskSupervisor.shutdown`, or
 * gracefully on Ctrl-C; the handle's outcome is then `Canceled`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const beat = Effect.gen(function*() {
  const { attempt } = yield* TaskSpec.CurrentTask
  yield* Effect.log(`heartbeat #${attempt}: all systems nominal`)
})

const program = Effect.gen(function*() {
  const heartbeat = yield* TaskSupervisor.add(TaskSpec.periodic("heartbeat", beat, "1 second"))
  yield* Effect.sleep("3500 millis")
  yield* TaskSupervisor.shutdown
  const outcome = yield* heartbeat.await
  yield* Effect.log(`heartbeat stopped: ${outcome._tag}`)
})

program.pipe(
  Effect.provide(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))),
  NodeRuntime.runMain
)
