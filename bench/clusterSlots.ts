/**
 * Submit latency of a sharded slot against a local one, on one embedded
 * runner (`ClusterRunner.layerEmbedded`, in-memory message storage):
 *
 * - `Controller.submit`: a local submission, returned once admitted.
 * - `ClusterController.submit`: through the slot's entity, returned once the
 *   cluster stored the persisted message.
 * - `Controller.submitAndWatch` + `await` against `ClusterController.run`: the
 *   round trip to a trivial task's outcome.
 *
 * Each row times `N` sequential calls (after a warm-up), spread over 100 slots
 * (a slot's queue holds 100 by default). Run it with
 * `TSX_TSCONFIG_PATH=tsconfig.examples.json node --import tsx bench/clusterSlots.ts [N]`.
 */
import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as ClusterController from "effect-taskvisor/ClusterController"
import * as ClusterRunner from "effect-taskvisor/ClusterRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"

const N = Number(process.argv[2] ?? 1000)
const WARMUP = 200
const SLOTS = 100

const Sync = ClusterController.make("bench-sync", {
  payload: Schema.Struct({ tenant: Schema.String, n: Schema.Number }),
  slot: (payload) => payload.tenant,
  task: (payload) => TaskSpec.once(`sync-${payload.tenant}-${payload.n}`, Effect.void)
})

const RunnerLive = Sync.layer.pipe(
  Layer.provideMerge(Controller.layer({ queueCapacity: 100_000 })),
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layerDefaults),
  Layer.provideMerge(ClusterRunner.layerEmbedded())
)

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

/** Time `n` sequential calls of `call(i)` (after a warm-up of its own), and report p50, p99 and the mean. */
const latencies = <E, R>(label: string, call: (i: number) => Effect.Effect<unknown, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < WARMUP; i++) yield* call(-1 - i)
    const times: Array<number> = []
    for (let i = 0; i < N; i++) {
      const start = performance.now()
      yield* call(i)
      times.push(performance.now() - start)
    }
    yield* Effect.sleep("200 millis")
    const sorted = [...times].sort((a, b) => a - b)
    const mean = times.reduce((sum, t) => sum + t, 0) / times.length
    const ms = (value: number) => `${value.toFixed(3)} ms`
    return `| ${label} | ${N} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${ms(mean)} |`
  })

const local = (prefix: string, i: number) =>
  ControllerSpec.queue(TaskSpec.once(`${prefix}-${i}`, Effect.void)).pipe(
    ControllerSpec.withSlot(`local/t${Math.abs(i) % SLOTS}`)
  )

const program = Effect.gen(function*() {
  const rows = [
    yield* latencies("`Controller.submit` (local)", (i) => Controller.submit(local("submit", i))),
    yield* latencies(
      "`ClusterController.submit` (entity, persisted)",
      (i) => Sync.submit({ tenant: `t${Math.abs(i) % SLOTS}`, n: i })
    ),
    yield* latencies(
      "`Controller.submitAndWatch` + `await` (local)",
      (i) => Effect.flatMap(Controller.submitAndWatch(local("watch", i)), (handle) => handle.await)
    ),
    yield* latencies(
      "`ClusterController.run` (entity, persisted)",
      (i) => Sync.run({ tenant: `t${Math.abs(i) % SLOTS}`, n: 1_000_000 + i })
    )
  ]
  process.stdout.write(
    ["| call | n | p50 | p99 | mean |", "| --- | ---: | ---: | ---: | ---: |", ...rows].join("\n") + "\n"
  )
})

program.pipe(
  Effect.provide(RunnerLive),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.runPromise
).then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
