/**
 * A cooperative long-running worker: a `restartable` ticker that logs a tick every 500 ms. Stopping it is
 * fiber interruption, and its `Effect.onInterrupt` finalizer logs a summary. It runs until Ctrl-C, but so that
 * it also ends when run non-interactively it stops itself after ~3 s with `TaskSupervisor.shutdown`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Ref } from "effect"
import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const ticker = Effect.gen(function*() {
  const ticks = yield* Ref.make(0)
  yield* Effect.sleep("500 millis").pipe(
    Effect.zipRight(Ref.updateAndGet(ticks, (n) => n + 1)),
    Effect.flatMap((n) => Effect.log(`tick ${n}`)),
    Effect.forever,
    Effect.onInterrupt(() =>
      Effect.flatMap(Ref.get(ticks), (n) => Effect.log(`ticker stopped cleanly after ${n} ticks`))
    )
  )
})

const program = Effect.gen(function*() {
  yield* TaskSupervisor.add(TaskSpec.restartable("ticker", ticker))
  yield* Effect.log("worker started; stopping in 3 seconds (or press Ctrl-C)")
  yield* Effect.sleep("3 seconds")
  yield* TaskSupervisor.shutdown
  yield* Effect.log("shutdown complete")
})

const SupervisorLive = TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" })))

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
