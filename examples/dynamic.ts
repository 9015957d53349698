/**
 * Managing tasks at runtime: add workers to a running supervisor, `list` them, `remove` one (returns as soon as
 * the stop is claimed), `cancel` the same one (joins the stop already under way and returns `false`), cancel
 * another by name, check `isAlive`, and finally `shutdown`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

/** A ticker that flushes its buffer for 200 ms when stopped. */
const worker = (name: string) =>
  TaskSpec.restartable(
    name,
    Effect.log(`${name}: tick`).pipe(
      Effect.zipRight(Effect.sleep("300 millis")),
      Effect.forever,
      Effect.onInterrupt(() => Effect.zipRight(Effect.sleep("200 millis"), Effect.log(`${name}: flushed and stopped`)))
    )
  )

const printList = Effect.gen(function*() {
  const tasks = yield* TaskSupervisor.list
  yield* Effect.log(`list: ${tasks.map((t) => `#${t.id} ${t.name} ${t.state}`).join(", ")}`)
})

const program = Effect.gen(function*() {
  const a = yield* TaskSupervisor.add(worker("worker-a"))
  yield* TaskSupervisor.add(worker("worker-b"))
  yield* Effect.sleep("700 millis")
  yield* printList

  const removed = yield* TaskSupervisor.remove(a.id)
  yield* Effect.log(`remove(#${a.id}) claimed the stop: ${removed}`)
  yield* printList
  const canceled = yield* TaskSupervisor.cancel(a.id)
  yield* Effect.log(`cancel(#${a.id}) joined the removal, claimed: ${canceled}`)

  yield* TaskSupervisor.add(worker("worker-c"))
  yield* Effect.sleep("400 millis")
  const canceledB = yield* TaskSupervisor.cancel("worker-b")
  yield* Effect.log(`cancel("worker-b") claimed: ${canceledB}`)
  yield* Effect.log(`isAlive("worker-b"): ${yield* TaskSupervisor.isAlive("worker-b")}`)
  yield* Effect.log(`isAlive("worker-c"): ${yield* TaskSupervisor.isAlive("worker-c")}`)
  yield* printList

  yield* TaskSupervisor.shutdown
  yield* Effect.log("supervisor shut down")
})

program.pipe(
  Effect.provide(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))),
  NodeRuntime.runMain
)
