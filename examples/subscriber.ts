/**
 * A custom subscriber: "metrics" counts attempt starts, successes, failures and backoffs into `Ref`s held by an
 * `EventCounts` service, which `Subscriber.layer` provides to it from the Layer graph. A flaky job fails 3 times
 * (default backoff) and then succeeds; the counts are printed once `run` returns, when subscribers have drained.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Context, Data, Effect, Layer, Ref } from "effect"
import { Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class EventCounts extends Context.Tag("examples/EventCounts")<EventCounts, {
  readonly starts: Ref.Ref<number>
  readonly successes: Ref.Ref<number>
  readonly failures: Ref.Ref<number>
  readonly backoffs: Ref.Ref<number>
}>() {
  static readonly layer = Layer.effect(
    EventCounts,
    Effect.all({ starts: Ref.make(0), successes: Ref.make(0), failures: Ref.make(0), backoffs: Ref.make(0) })
  )
}

const increment = (ref: Ref.Ref<number>) => Ref.update(ref, (n) => n + 1)

const metrics = Subscriber.make({
  name: "metrics",
  capacity: 2048,
  onEvent: (event) =>
    Effect.flatMap(EventCounts, (counts) => {
      switch (event._tag) {
        case "AttemptStarting":
          return increment(counts.starts)
        case "AttemptSucceeded":
          return increment(counts.successes)
        case "AttemptFailed":
          return increment(counts.failures)
        case "BackoffScheduled":
          return increment(counts.backoffs)
        default:
          return Effect.void
      }
    })
})

class JobError extends Data.TaggedError("JobError")<{ readonly attempt: number }> {}

const flakyJob = Effect.gen(function*() {
  const { attempt } = yield* TaskSpec.CurrentTask
  if (attempt <= 3) return yield* new JobError({ attempt })
  yield* Effect.log(`flaky-job: succeeded on attempt ${attempt}`)
})

const program = Effect.gen(function*() {
  yield* TaskSupervisor.run([TaskSpec.restartable("flaky-job", flakyJob)])
  const counts = yield* EventCounts
  const [starts, successes, failures, backoffs] = yield* Effect.all([
    counts.starts,
    counts.successes,
    counts.failures,
    counts.backoffs
  ])
  yield* Effect.log(`starts=${starts} successes=${successes} failures=${failures} backoffs=${backoffs}`)
})

const MainLayer = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(metrics)),
  Layer.provide(SupervisorConfig.layerDefaults),
  Layer.provideMerge(EventCounts.layer)
)

program.pipe(Effect.provide(MainLayer), NodeRuntime.runMain)
