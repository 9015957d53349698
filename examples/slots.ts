/**
 * A reference for the controller's three admission policies, one slot each: `Queue` runs the slot's work one job
 * after another, `Replace` stops the running owner and starts the newest submission after the owner's cleanup, and
 * `DropIfRunning` turns work away while the slot is busy. Outcomes come from `submitAndWatch` handles.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { type Duration, Effect, Layer } from "effect"
import {
  Controller,
  ControllerSpec,
  SupervisorConfig,
  type TaskHandle,
  TaskOutcome,
  TaskSpec,
  TaskSupervisor
} from "effect-taskvisor"

const describe = (outcome: TaskOutcome.TaskOutcome<unknown>) =>
  TaskOutcome.$match(outcome, {
    Completed: () => "Completed",
    Failed: ({ reason }) => `Failed (${reason})`,
    Fatal: ({ reason }) => `Fatal (${reason})`,
    Canceled: () => "Canceled",
    ForceAborted: ({ reason }) => `ForceAborted (${reason})`,
    Rejected: ({ kind, reason }) => `Rejected{${kind}} (${reason})`
  })

/** A job that logs its start and end and takes `duration`. */
const job = (name: string, duration: Duration.DurationInput) =>
  TaskSpec.once(
    name,
    Effect.log(`${name}: started`).pipe(
      Effect.zipRight(Effect.sleep(duration)),
      Effect.zipRight(Effect.log(`${name}: done`)),
      Effect.onInterrupt(() => Effect.log(`${name}: interrupted`))
    )
  )

const show = (handles: ReadonlyArray<TaskHandle.TaskHandle<unknown>>) =>
  Effect.forEach(
    handles,
    (handle) =>
      Effect.flatMap(handle.await, (outcome) => Effect.log(`  ${handle.name.padEnd(10)} -> ${describe(outcome)}`))
  )

const queueDemo = Effect.gen(function*() {
  yield* Effect.log("Queue: three 400 ms jobs in slot \"queue-demo\"")
  const handles = yield* Effect.forEach(["job-1", "job-2", "job-3"], (name) =>
    Controller.submitAndWatch(
      ControllerSpec.queue(job(name, "400 millis")).pipe(ControllerSpec.withSlot("queue-demo"))
    ))
  yield* show(handles)
})

const replaceDemo = Effect.gen(function*() {
  yield* Effect.log("Replace: a 5 s job, then a 200 ms replacement in slot \"replace-demo\"")
  const long = yield* Controller.submitAndWatch(
    ControllerSpec.replace(job("long", "5 seconds")).pipe(ControllerSpec.withSlot("replace-demo"))
  )
  yield* Effect.sleep("100 millis")
  const short = yield* Controller.submitAndWatch(
    ControllerSpec.replace(job("short", "200 millis")).pipe(ControllerSpec.withSlot("replace-demo"))
  )
  yield* show([long, short])
})

const dropDemo = Effect.gen(function*() {
  yield* Effect.log("DropIfRunning: a 600 ms job, then a second submission while it is busy")
  const first = yield* Controller.submitAndWatch(
    ControllerSpec.dropIfRunning(job("first", "600 millis")).pipe(ControllerSpec.withSlot("drop-demo"))
  )
  yield* Effect.sleep("100 millis")
  const second = yield* Controller.submitAndWatch(
    ControllerSpec.dropIfRunning(job("second", "600 millis")).pipe(ControllerSpec.withSlot("drop-demo"))
  )
  yield* show([second, first])
})

const program = Effect.gen(function*() {
  yield* queueDemo
  yield* replaceDemo
  yield* dropDemo
})

const SupervisorLive = Controller.layer().pipe(
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layerDefaults)
)

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
