/**
 * A broker consumer on an in-process `Queue` pre-filled with 8 messages. Attempt 1 (read from `TaskSpec.CurrentTask`)
 * fails with "connection refused" and is retried with exponential backoff and equal jitter; attempt 2 drains the
 * queue and returns once it is empty, so the `restartable` task completes and `run` returns.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Data, Effect, Layer, Logger, LogLevel, Option, Queue } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class BrokerError extends Data.TaggedError("BrokerError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

const consume = (queue: Queue.Queue<string>) =>
  Effect.gen(function*() {
    const { attempt } = yield* TaskSpec.CurrentTask
    yield* Effect.log(`consumer: connecting (attempt ${attempt})`)
    if (attempt === 1) return yield* new BrokerError({ reason: "connection refused" })
    let processed = 0
    while (true) {
      const message = yield* Queue.poll(queue)
      if (Option.isNone(message)) break
      yield* Effect.sleep("50 millis") // handle the message
      processed++
      yield* Effect.log(`consumer: processed ${message.value}`)
    }
    yield* Effect.log(`consumer: queue drained after ${processed} messages`)
  })

const program = Effect.gen(function*() {
  const queue = yield* Queue.unbounded<string>()
  yield* Queue.offerAll(queue, Array.from({ length: 8 }, (_, i) => `order-${i + 1}`))
  const consumer = TaskSpec.restartable("consumer", consume(queue)).pipe(
    TaskSpec.withBackoff(
      BackoffPolicy.exponential("100 millis").pipe(
        BackoffPolicy.withMax("5 seconds"),
        BackoffPolicy.withJitter("equal")
      )
    )
  )
  yield* TaskSupervisor.run([consumer])
  yield* Effect.log("consumer completed; run() returned")
})

const SupervisorLive = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layerDefaults)
)

program.pipe(
  Effect.provide(SupervisorLive),
  Effect.provide(Logger.minimumLogLevel(LogLevel.Debug)), // show the Debug-level backoff events
  NodeRuntime.runMain
)
