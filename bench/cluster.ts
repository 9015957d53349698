/**
 * The `cluster/` rows: a fleet of three runner processes over a real PostgreSQL server (test/utils/fleet.ts, the
 * runners of the cluster tests: a `ClusterTask.singleton` and the sharded slots of `jobs`), measured from the runners'
 * reports (`Date.now()` stamps of one machine) and their answers to bench commands (test/fixtures/cluster/slots.ts).
 *
 * - `cluster/failover_kill9`: from a `kill -9` of the singleton's owner to the singleton's start on another runner,
 *   with the tuned lock expiry of the tests (4 s) and with the engine's default (35 s).
 * - `cluster/handover_sigterm`: from a SIGTERM of the owner to the singleton's start on another runner, with
 *   `REFRESH_ASSIGNMENTS_INTERVAL` 1 s (the tests' fleet) and 3 s (the engine's default, in the default fleet).
 * - `cluster/submit_latency`: `ClusterController.submit` (returns once stored), one at a time, from each runner to
 *   slots it owns (`local`) and to slots others own (`remote`); the figure is each runner's p50, the notes its p99.
 * - `cluster/submit_throughput`: the three runners submitting at once, 32 at a time each, to 100 slots.
 * - `cluster/submit_embedded`: in this process, on one embedded runner (`ClusterRunner.layerEmbedded`, memory
 *   storage, no network), `ClusterController.submit` against `Controller.submit` of the same no-op tasks over 100
 *   slots, samples alternated: what the engine's entity path costs before any storage or network.
 *
 * After every fault the runner is replaced and the fleet left to settle (no move of the singleton for two
 * assignment refreshes) before the next sample. The runners talk to the server directly (no proxy), and run the
 * sources (`src/`) under tsx, not `dist/`.
 */
import type * as Sharding from "@effect/cluster/Sharding"
import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as ClusterController from "effect-taskvisor/ClusterController"
import * as ClusterRunner from "effect-taskvisor/ClusterRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import type { Process } from "../examples/cluster_processes.js"
import type { SlotLine } from "../test/fixtures/cluster/commands.js"
import { slotLines } from "../test/fixtures/cluster/commands.js"
import { Fleet, tuned, until } from "../test/utils/fleet.js"
import type { Workload } from "./harness.js"
import { formatValue, measurePair, median, progress, resultOfFigures } from "./harness.js"
import type { Row, Target } from "./report.js"
import { key } from "./report.js"

const KILLS_TUNED = 3
const KILLS_DEFAULT = 1
const HANDOVERS = 3
const LATENCY_SUBMISSIONS = 500
/** Slot keys the latency command splits into local and remote ones. */
const LATENCY_SLOTS = 60
const THROUGHPUT_TRIALS = 3
const THROUGHPUT_SUBMISSIONS = 1000
const THROUGHPUT_CONCURRENCY = 32
/** Submissions a sample of the embedded rows, one at a time. */
const EMBEDDED_SUBMITS = 200
const EMBEDDED_SLOTS = 100

/** A fleet's engine settings, as the rows name them. */
interface Setting {
  readonly env: Readonly<Record<string, string>>
  readonly expiryMs: number
  readonly refreshMs: number
}

const TUNED: Setting = { env: tuned, expiryMs: 4_000, refreshMs: 1_000 }
const DEFAULT: Setting = { env: {}, expiryMs: 35_000, refreshMs: 3_000 }

const rowKeys = {
  failoverTuned: "cluster/failover_kill9/expiry_4s",
  failoverDefault: "cluster/failover_kill9/expiry_35s_default",
  handoverTuned: "cluster/handover_sigterm/refresh_1s",
  handoverDefault: "cluster/handover_sigterm/refresh_3s_default",
  local: "cluster/submit_latency/local",
  remote: "cluster/submit_latency/remote",
  throughput: "cluster/submit_throughput/3_runners",
  embedded: "cluster/submit_embedded/entity"
}

/** The keys of the `cluster/` rows. */
export const clusterKeys: ReadonlyArray<string> = Object.values(rowKeys)

const split = (k: string) => ({ id: k.slice(0, k.lastIndexOf("/")), param: k.slice(k.lastIndexOf("/") + 1) })

const replaced = new WeakSet<Process>()

/** Waits until every runner is ready, one runs the singleton, and it has not moved for two assignment refreshes. */
const settle = async (fleet: Fleet, setting: Setting) => {
  // a runner that ended by itself (seen once: at its start, with nothing on stderr) is said and replaced
  for (
    const ended of fleet.processes.filter((p) =>
      fleet.exitedAt.has(p) && !fleet.faults.some((f) => f.runner === p.name)
    )
  ) {
    if (replaced.has(ended)) continue
    replaced.add(ended)
    progress(`    ${ended.name} ended by itself (${ended.child.exitCode ?? ended.child.signalCode}): replaced`)
    await fleet.start()
  }
  await fleet.ready()
  if (live(fleet).length !== 3) throw new Error(`the fleet is not three runners\n${fleet.describe()}`)
  await fleet.owner(setting.expiryMs + 30_000)
  const lastMove = () =>
    Math.max(
      ...fleet.processes.flatMap((p) => p.reports.filter((r) => r.type !== "event").map((r) => r.at))
    )
  await until(() => Date.now() - lastMove() > 2 * setting.refreshMs, 60_000, "the fleet settles", fleet.describe)
  await fleet.owner(setting.expiryMs + 30_000)
}

/** Puts `fault` on the singleton's owner, `samples` times: the times (ms) from each fault to the next start elsewhere. */
const singletonMoves = async (
  fleet: Fleet,
  setting: Setting,
  samples: number,
  fault: "kill -9" | "SIGTERM"
): Promise<{ figures: Array<number>; took: Array<number> }> => {
  const figures: Array<number> = []
  const took: Array<number> = []
  for (let i = 0; i < samples; i++) {
    await settle(fleet, setting)
    const owner = await fleet.owner()
    const at = fleet.fault(fault, owner)
    owner.child.kill(fault === "kill -9" ? "SIGKILL" : "SIGTERM")
    const next = await fleet.nextStart(owner, at, setting.expiryMs + 30_000)
    figures.push(next.at - at)
    took.push(Date.now() - at)
    progress(`    ${fault} of ${owner.name}: started on ${next.process.name} after ${next.at - at} ms`)
    await owner.exited
    await fleet.start()
  }
  return { figures, took }
}

const answerOf = <T extends SlotLine["type"]>(line: SlotLine, type: T): Extract<SlotLine, { type: T }> => {
  if (line.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(line)}`)
  return line as Extract<SlotLine, { type: T }>
}

const live = (fleet: Fleet): Array<Process> => fleet.processes.filter((p) => !fleet.exitedAt.has(p))

const latency = async (fleet: Fleet): Promise<Array<Row>> => {
  const answers: Array<Extract<SlotLine, { type: "latency" }>> = []
  for (const runner of live(fleet)) {
    const answer = await fleet.ask(runner, {
      tag: `latency-${runner.name}`,
      latency: { n: LATENCY_SUBMISSIONS, slots: LATENCY_SLOTS }
    }, 120_000)
    answers.push(answerOf(answer, "latency"))
  }
  const row = (k: string, side: "local" | "remote") => {
    const figures = answers.map((a) => a[side].p50)
    return resultOfFigures(
      { ...split(k), kind: "perOp", unit: "ms p50" },
      figures,
      answers.map((a) => a[side].mean * a[side].n),
      { p99: median(answers.map((a) => a[side].p99)) }
    )
  }
  const local = row(rowKeys.local, "local")
  const remote = row(rowKeys.remote, "remote")
  const p99s = (side: "local" | "remote") =>
    `p99 per runner ${answers.map((a) => formatValue("perOp", a[side].p99)).join(", ")} ms; ${LATENCY_SUBMISSIONS}` +
    ` submissions a runner`
  return [
    { result: local, baseline: undefined, note: p99s("local") },
    { result: remote, baseline: local, note: p99s("remote") }
  ]
}

const throughput = async (fleet: Fleet): Promise<Row> => {
  const rates: Array<number> = []
  const took: Array<number> = []
  for (let trial = 0; trial < THROUGHPUT_TRIALS; trial++) {
    const runners = live(fleet)
    const answers = await Promise.all(runners.map((runner) =>
      fleet.ask(runner, {
        tag: `throughput-${trial}-${runner.name}`,
        throughput: { n: THROUGHPUT_SUBMISSIONS, concurrency: THROUGHPUT_CONCURRENCY }
      }, 120_000).then((line) => answerOf(line, "throughput"))
    ))
    const from = Math.min(...answers.map((a) => a.from))
    const to = Math.max(...answers.map((a) => a.to))
    rates.push((runners.length * THROUGHPUT_SUBMISSIONS) / ((to - from) / 1000))
    took.push(to - from)
    // every submission runs before the next trial
    const ran = () =>
      runners.flatMap((p) => slotLines(p.reports)).filter((l) =>
        l.type === "slot-ended" && l.id.includes(`-throughput-${trial}-`)
      ).length
    await until(() => ran() === runners.length * THROUGHPUT_SUBMISSIONS, 120_000, "the submissions ran", fleet.describe)
  }
  return {
    result: resultOfFigures({ ...split(rowKeys.throughput), kind: "rate", unit: "submissions/s" }, rates, took),
    baseline: undefined,
    note: `${THROUGHPUT_SUBMISSIONS} from each runner, ${THROUGHPUT_CONCURRENCY} at a time, over 100 slots`
  }
}

/** `ClusterController.submit` on one embedded runner against `Controller.submit`, in this process. */
const embedded = async (): Promise<Row> => {
  const Sync = ClusterController.make("bench-sync", {
    payload: Schema.Struct({ slot: Schema.String, n: Schema.Number }),
    slot: (payload) => payload.slot,
    task: (payload) => TaskSpec.once(`sync-${payload.slot}`, Effect.void)
  })
  const runtime = ManagedRuntime.make(
    Sync.layer.pipe(
      Layer.provideMerge(Controller.layer({ queueCapacity: 100_000 })),
      Layer.provideMerge(TaskSupervisor.layer),
      Layer.provide(SupervisorConfig.layerDefaults),
      Layer.provideMerge(ClusterRunner.layerEmbedded()),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  let round = 0
  const workload = (
    id: string,
    param: string,
    submit: (slot: string, n: number) => Effect.Effect<unknown, unknown, Controller.Controller | Sharding.Sharding>
  ): Workload => ({
    id,
    param,
    kind: "perOp",
    unit: "µs/submit",
    samples: 15,
    sample: Effect.promise(() =>
      runtime.runPromise(Effect.gen(function*() {
        const base = ++round * EMBEDDED_SUBMITS
        const start = performance.now()
        for (let i = 0; i < EMBEDDED_SUBMITS; i++) yield* submit(`s${i % EMBEDDED_SLOTS}`, base + i)
        return { ms: performance.now() - start, units: EMBEDDED_SUBMITS }
      }))
    )
  })
  try {
    const [controller, entity] = await measurePair(
      workload(
        "baseline/controller_submit",
        "embedded",
        (slot, n) =>
          Controller.Controller.pipe(Effect.flatMap((controller) =>
            controller.submit(
              ControllerSpec.queue(TaskSpec.once(`local-${n}`, Effect.void)).pipe(ControllerSpec.withSlot(slot))
            )
          ))
      ),
      workload(split(rowKeys.embedded).id, split(rowKeys.embedded).param, (slot, n) => Sync.submit({ slot, n }))
    )
    return { result: entity, baseline: controller, note: "one embedded runner, memory storage, in this process" }
  } finally {
    await runtime.dispose()
  }
}

/** Runs the rows of one fleet's setting, the fleet closed whatever happens. */
const withFleet = async <A>(setting: Setting, body: (fleet: Fleet) => Promise<A>): Promise<A> => {
  progress(`  a fleet of three runners, lock expiry ${setting.expiryMs / 1000} s …`)
  const fleet = await Fleet.open("taskvisor", { settings: setting.env, proxied: false })
  try {
    return await body(fleet)
  } finally {
    await fleet.close()
  }
}

const moveRow = (k: string, moves: { figures: Array<number>; took: Array<number> }, note: string): Row => ({
  result: resultOfFigures({ ...split(k), kind: "perOp", unit: "ms" }, moves.figures, moves.took),
  baseline: undefined,
  note
})

/** The singleton's move rows of one fleet that `selected` asks for: each its key, samples, how the owner goes, note. */
const moveRows = async (
  fleet: Fleet,
  setting: Setting,
  selected: (key: string) => boolean,
  rows: Array<Row>,
  plan: ReadonlyArray<readonly [key: string, samples: number, how: Parameters<typeof singletonMoves>[3], note: string]>
): Promise<void> => {
  for (const [key, samples, how, note] of plan) {
    if (selected(key)) rows.push(moveRow(key, await singletonMoves(fleet, setting, samples, how), note))
  }
}

/** The `cluster/` rows `selected` asks for, and their targets. */
export const measureCluster = async (
  selected: (key: string) => boolean
): Promise<{ readonly rows: Array<Row>; readonly targets: Array<Target> }> => {
  const rows: Array<Row> = []
  if (selected(rowKeys.embedded)) rows.push(await embedded())
  if (
    [rowKeys.failoverTuned, rowKeys.handoverTuned, rowKeys.local, rowKeys.remote, rowKeys.throughput].some(selected)
  ) {
    await withFleet(TUNED, async (fleet) => {
      await settle(fleet, TUNED)
      if (selected(rowKeys.local) || selected(rowKeys.remote)) rows.push(...await latency(fleet))
      if (selected(rowKeys.throughput)) rows.push(await throughput(fleet))
      await moveRows(fleet, TUNED, selected, rows, [
        [rowKeys.handoverTuned, HANDOVERS, "SIGTERM", "REFRESH_ASSIGNMENTS_INTERVAL 1 s, lock expiry 4 s"],
        [rowKeys.failoverTuned, KILLS_TUNED, "kill -9", "SHARD_LOCK_EXPIRATION 4 s, refreshed every 1 s"]
      ])
    })
  }
  if ([rowKeys.failoverDefault, rowKeys.handoverDefault].some(selected)) {
    await withFleet(DEFAULT, async (fleet) => {
      await moveRows(fleet, DEFAULT, selected, rows, [
        [rowKeys.handoverDefault, HANDOVERS, "SIGTERM", "the engine's defaults: REFRESH_ASSIGNMENTS_INTERVAL 3 s"],
        [rowKeys.failoverDefault, KILLS_DEFAULT, "kill -9", "the engine's defaults: SHARD_LOCK_EXPIRATION 35 s"]
      ])
    })
  }
  return { rows, targets: targets(rows) }
}

const targets = (rows: ReadonlyArray<Row>): Array<Target> => {
  const row = (k: string) => rows.find((r) => key(r.result) === k)?.result
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const result: Array<Target> = []
  for (const [k, expiryMs] of [[rowKeys.failoverTuned, 4_000], [rowKeys.failoverDefault, 35_000]] as const) {
    const r = row(k)
    if (r === undefined) continue
    result.push({
      name: `failover after \`kill -9\` of a singleton's owner ≤ lock expiry (${expiryMs / 1000} s) + 1 s`,
      measured: `median ${s(r.value.median)}, max ${s(r.value.max)} (${r.samples} kills)`,
      pass: r.value.max <= expiryMs + 1_000
    })
  }
  for (const [k, setting] of [[rowKeys.handoverTuned, "1 s"], [rowKeys.handoverDefault, "3 s (default)"]] as const) {
    const r = row(k)
    if (r === undefined) continue
    result.push({
      name: `handover on a graceful stop < 1 s, REFRESH_ASSIGNMENTS_INTERVAL ${setting}`,
      measured: `median ${s(r.value.median)}, max ${s(r.value.max)} (${r.samples} stops)`,
      pass: r.value.max < 1_000
    })
  }
  const remote = row(rowKeys.remote)
  const local = row(rowKeys.local)
  if (remote !== undefined) {
    result.push({
      name: "`ClusterController.submit` to a remote slot: p50 < 5 ms on loopback",
      measured: `p50 ${formatValue("perOp", remote.value.median)} ms (p99 ${
        formatValue("perOp", remote.extra.p99)
      } ms)${
        local === undefined
          ? ""
          : `; local ${formatValue("perOp", local.value.median)} ms (p99 ${formatValue("perOp", local.extra.p99)} ms)`
      }`,
      pass: remote.value.median < 5
    })
  }
  return result
}
