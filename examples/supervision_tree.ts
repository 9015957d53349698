/**
 * `npm run example examples/supervision_tree.ts`, ~4 s: a fetch → parse → store pipeline under `restForOne`. The
 * parser crashes on its first batch: the store, started after it, is stopped and restarts after it, while the
 * fetcher, started before it, keeps running. The output shows each stage's attempts, then the group's shutdown,
 * children first, in reverse order.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Queue } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const program = Effect.gen(function*() {
  const pages = yield* Queue.unbounded<string>()
  const records = yield* Queue.unbounded<string>()

  const fetch = TaskSpec.restartable(
    "fetch",
    Effect.gen(function*() {
      const { attempt } = yield* TaskSpec.CurrentTask
      for (let page = 1;; page++) {
        yield* Effect.sleep("300 millis")
        yield* Queue.offer(pages, `page ${page}`)
        yield* Console.log(`fetch (attempt ${attempt}): fetched page ${page}`)
      }
    })
  )

  const parse = TaskSpec.restartable(
    "parse",
    Effect.gen(function*() {
      const { attempt } = yield* TaskSpec.CurrentTask
      while (true) {
        const page = yield* Queue.take(pages)
        if (attempt === 1) return yield* Effect.fail(`cannot parse ${page}`)
        yield* Queue.offer(records, `${page} parsed`)
        yield* Console.log(`parse (attempt ${attempt}): parsed ${page}`)
      }
    })
  ).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("500 millis")))

  const store = TaskSpec.restartable(
    "store",
    Effect.gen(function*() {
      const { attempt } = yield* TaskSpec.CurrentTask
      yield* Effect.addFinalizer(() => Console.log(`store (attempt ${attempt}): connection closed`))
      yield* Console.log(`store (attempt ${attempt}): connected`)
      while (true) {
        const record = yield* Queue.take(records)
        yield* Console.log(`store (attempt ${attempt}): stored ${record}`)
      }
    })
  )

  const pipeline = TaskSpec.group("pipeline", [fetch, parse, store], {
    strategy: "restForOne",
    intensity: { maxRestarts: 5, within: "10 seconds" }
  })

  yield* TaskSupervisor.add(pipeline)
  yield* Effect.sleep("3 seconds")
  yield* Console.log(
    "listed:",
    (yield* TaskSupervisor.list).map((t) => `${t.name} ${t.state} #${t.attempt}`).join(", ")
  )
})

/** Only the events that tell the tree's story. */
const tree = Subscriber.make({
  name: "tree",
  onEvent: (event) =>
    ["GroupRestarting", "AttemptFailed", "TaskFinished"].includes(event._tag)
      ? Console.log(`  event: ${Subscriber.formatEvent(event)}`)
      : Effect.void
})

const SupervisorLive = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(tree)),
  Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" }))
)

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
