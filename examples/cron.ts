/**
 * A report on a cron schedule with `TaskSpec.cron`: every 2 seconds (6 fields, seconds first), in a time zone, under
 * `overlap: "bufferOne"`. Its first run takes 4.5 s: of the two times that come meanwhile, the first is kept
 * (`RunBuffered`) and runs as soon as that run ends, the second is skipped (`RunSkipped`). `trigger` then runs it once
 * more now, and `list` shows that its next run did not move. The time of its last scheduled run is kept in a
 * `KeyValueStore` (in memory here; `KeyValueStore.layerFileSystem` keeps it on disk): the supervisor shuts down, the
 * program is "down" for 2 seconds, and a supervisor built again over the same store runs the time missed meanwhile at
 * once (`catchUp`), as one run. It ends by itself after about 8 s, or gracefully on Ctrl-C.
 */
import { KeyValueStore } from "@effect/platform"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Clock, Effect, Layer, Option, Schedule } from "effect"
import { Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

let started = 0
let finished = 0

const report = TaskSpec.cron(
  "report",
  Effect.gen(function*() {
    const run = ++started
    yield* Effect.log(`report run ${run}: started`)
    // the first run outlasts two of its slots
    yield* Effect.sleep(run === 1 ? "4500 millis" : "100 millis")
    yield* Effect.log(`report run ${run}: done`)
  }).pipe(Effect.ensuring(Effect.sync(() => finished++))),
  "*/2 * * * * *",
  { timeZone: "Europe/Berlin", overlap: "bufferOne", catchUp: "1 minute" }
)

/** The report's `list` row once `runs` runs have finished and it waits for its next time again. */
const scheduledAfter = (runs: number) =>
  TaskSupervisor.list.pipe(
    Effect.map((rows) => rows.find((row) => row.name === "report")),
    Effect.filterOrFail((row): row is TaskSupervisor.TaskInfo => finished >= runs && row?.state === "Scheduled"),
    Effect.retry(Schedule.spaced("10 millis"))
  )

const iso = (at: Date | undefined) => at?.toISOString() ?? "none"

/** What the store keeps for the report: the time of its last scheduled run that started. */
const stored = Effect.flatMap(KeyValueStore.KeyValueStore, (store) => store.get("effect-taskvisor/cron/report")).pipe(
  Effect.map(Option.getOrElse(() => "none"))
)

// one supervisor per "process"; both find the KeyValueStore in the context of the program that adds the task
const Supervisor = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))
)

const firstProcess = Effect.gen(function*() {
  yield* TaskSupervisor.add(report)
  const before = yield* scheduledAfter(2) // the long run, then the run it kept
  yield* Effect.log(`report is ${before.state}; next run at ${iso(before.nextRunAt)}`)
  yield* TaskSupervisor.trigger("report")
  const after = yield* scheduledAfter(3)
  yield* Effect.log(`after the triggered run, next run still at ${iso(after.nextRunAt)}`)
}).pipe(Effect.provide(Supervisor))

const secondProcess = Effect.gen(function*() {
  const now = yield* Clock.currentTimeMillis
  yield* Effect.log(`up again at ${new Date(now).toISOString()}, over the same store`)
  yield* TaskSupervisor.add(report)
  const row = yield* scheduledAfter(4)
  const caughtUp = yield* stored
  yield* Effect.log(`caught up the run of ${caughtUp}; next run at ${iso(row.nextRunAt)}`)
}).pipe(Effect.provide(Supervisor))

const program = Effect.gen(function*() {
  yield* firstProcess
  const last = yield* stored
  yield* Effect.log(`down: the store keeps the last scheduled run, ${last}`)
  yield* Effect.sleep("2 seconds")
  yield* secondProcess
})

program.pipe(Effect.provide(KeyValueStore.layerMemory), NodeRuntime.runMain)
