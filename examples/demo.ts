/**
 * `npm run demo`, ~4 s: a flaky worker that fails twice, then connects and processes batches; a periodic heartbeat;
 * a probe whose attempts time out until its retries run out. `Subscriber.log` prints every event (Debug included),
 * then a graceful `shutdown` stops the rest and the outcomes are summarised. Exits 0 by itself (Ctrl-C works too).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Data, Effect, Layer, Logger, LogLevel } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskOutcome, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class ConnectionReset extends Data.TaggedError("ConnectionReset")<{}> {
  override get message() {
    return "connection reset by peer"
  }
}

const ingest = TaskSpec.restartable(
  "ingest",
  Effect.gen(function*() {
    const { attempt } = yield* TaskSpec.CurrentTask
    if (attempt <= 2) return yield* new ConnectionReset()
    yield* Effect.log(`ingest: connected on attempt ${attempt}`)
    for (let batch = 1;; batch++) {
      yield* Effect.sleep("400 millis")
      yield* Effect.log(`ingest: processed batch ${batch}`)
    }
  })
).pipe(
  TaskSpec.withBackoff(
    BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withMax("1 second"), BackoffPolicy.withJitter("equal"))
  )
)

const heartbeat = TaskSpec.periodic("heartbeat", Effect.log("heartbeat: ok"), "1 second")

const probe = TaskSpec.restartable("probe", Effect.sleep("1 second")).pipe(
  TaskSpec.withTimeout("200 millis"),
  TaskSpec.withMaxRetries(2),
  TaskSpec.withBackoff(BackoffPolicy.constant("100 millis"))
)

const program = Effect.gen(function*() {
  const handles = [
    yield* TaskSupervisor.add(ingest),
    yield* TaskSupervisor.add(heartbeat),
    yield* TaskSupervisor.add(probe)
  ]
  yield* Effect.sleep("3500 millis")
  yield* Effect.log("demo: shutting down")
  yield* TaskSupervisor.shutdown
  yield* Console.log("\nOutcomes:")
  for (const handle of handles) {
    const outcome = yield* handle.await
    const reason = TaskOutcome.reason(outcome)
    yield* Console.log(`  ${handle.name.padEnd(10)} ${outcome._tag}${reason === undefined ? "" : `: ${reason}`}`)
  }
})

const SupervisorLive = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" }))
)

program.pipe(
  Effect.provide(SupervisorLive),
  Effect.provide(Logger.minimumLogLevel(LogLevel.Debug)),
  NodeRuntime.runMain
)
