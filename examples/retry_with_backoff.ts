/**
 * Retrying flaky tasks. "fetch-rates" fails twice with a typed `UpstreamUnavailable`, then succeeds; its retries
 * are spaced by an exponential `BackoffPolicy` (capped, equal jitter) within a budget of 3. "sync-orders" fails 3
 * times and is spaced by an Effect `Schedule` fed each failure. A custom subscriber prints the backoff events.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Data, Duration, Effect, Layer, Schedule } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class UpstreamUnavailable extends Data.TaggedError("UpstreamUnavailable")<{ readonly status: number }> {
  override get message() {
    return `upstream answered ${this.status}`
  }
}

/** Fails on the first `failures` attempts, then succeeds. */
const flaky = (failures: number) =>
  Effect.gen(function*() {
    const { attempt, name } = yield* TaskSpec.CurrentTask
    if (attempt <= failures) return yield* new UpstreamUnavailable({ status: 503 })
    yield* Effect.log(`${name}: succeeded on attempt ${attempt}`)
  })

const fetchRates = TaskSpec.restartable("fetch-rates", flaky(2)).pipe(
  TaskSpec.withBackoff(
    BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withMax("2 seconds"), BackoffPolicy.withJitter("equal"))
  ),
  TaskSpec.withMaxRetries(3)
)

const syncOrders = TaskSpec.restartable("sync-orders", flaky(3)).pipe(
  // 50 ms doubling, at most 5 retries, and only for upstream errors (not for timeouts or defects)
  TaskSpec.withSchedule(
    Schedule.exponential("50 millis").pipe(
      Schedule.intersect(Schedule.recurs(5)),
      Schedule.whileInput((error: TaskSpec.AttemptFailure<UpstreamUnavailable>) => error._tag === "UpstreamUnavailable")
    )
  )
)

const backoffPrinter = Subscriber.make({
  name: "backoff-printer",
  onEvent: (event) => {
    switch (event._tag) {
      case "BackoffScheduled":
        return Console.log(
          `${event.task}: attempt ${event.attempt} failed (${event.reason}), next attempt in ${
            Math.round(Duration.toMillis(event.delay))
          } ms`
        )
      case "TaskFinished":
        return Console.log(`${event.task}: ${event.outcome._tag}`)
      default:
        return Effect.void
    }
  }
})

const program = Effect.gen(function*() {
  yield* TaskSupervisor.run([fetchRates, syncOrders])
  yield* Effect.log("both tasks finished")
})

const SupervisorLive = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(backoffPrinter)),
  Layer.provide(SupervisorConfig.layerDefaults)
)

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
