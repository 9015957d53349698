/**
 * `npm run bench`: every workload, its baseline and the memory check, in one
 * process (memory in child processes), printing a markdown report to stdout
 * and writing `bench/results/latest.json` and `bench/results/latest.md`.
 *
 * Options: `--filter <text>` runs only the rows whose key contains the text
 * (e.g. `--filter dynamic/`, `--filter memory`); `--update-md` replaces the
 * generated section of BENCHMARKS.md with the new report. The `cron/` rows
 * (`bench/cron.ts`) take about a minute, the `process/` rows (`bench/process.ts`)
 * about half of one, the `worker/` rows (`bench/worker.ts`) about as long. The `cluster/` rows
 * (`bench/cluster.ts`) start PostgreSQL and runner processes, and take about
 * three minutes of the run.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as baselines from "./baselines.js"
import { clusterKeys, measureCluster } from "./cluster.js"
import { cronKeys, measureCron } from "./cron.js"
import type { Result, Workload } from "./harness.js"
import { formatStats, formatValue, measure, measurePair, progress } from "./harness.js"
import { measureInChild } from "./memory.js"
import { measureProcess, processKeys } from "./process.js"
import { taskvisorRssBytesPerParkedTask } from "./reference.js"
import type { MemoryRow, Row, Target } from "./report.js"
import { costRatio, costTarget, key, markdownReport, metaOf, taskvisorOf, updateMarkdown, writeJson } from "./report.js"
import * as scale from "./scale.js"
import { measureWorker, workerKeys } from "./worker.js"
import * as workloads from "./workloads.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const filterIndex = args.indexOf("--filter")
const filter = filterIndex >= 0 ? args[filterIndex + 1] ?? "" : ""
const updateMd = args.includes("--update-md")
const selected = (k: string) => filter === "" || k.includes(filter)

/** Retries per sample in the restart comparison (both sides run `k + 1` attempts). */
const RESTART_RETRIES = 1000
/** The retries of the row beside a zero backoff through the clock (about 1 ms each). */
const CLOCK_SLEEP_RETRIES = 100
const MEMORY_SIZES = [10_000, 100_000]
/** Live tasks under the scaling rows, each against none. */
const FLEET_SIZES = [1000, 10_000, 100_000]
/** The large batch of the scaling rows, against `throughput/batch_nosub`'s 500. */
const BIG_BATCH = 50_000
/** How long the process warms up before the first row. */
const WARM_UP_MS = 2000
/** A slow subscriber "does not reduce throughput" if throughput keeps at least this share (run-to-run noise is ~10%). */
const SLOW_TOLERANCE = 0.9

interface Planned {
  readonly workload: Workload
  readonly baseline?: Workload | undefined
  /** A second baseline, reported in the notes. */
  readonly alt?: Workload | undefined
}

const forkInstant = (n: number) => baselines.fork(`${n}_instant`, n, workloads.instant)
const mapInstant = (n: number) => baselines.fiberMap(`${n}_instant`, n, workloads.instant)

const lifecycleBaseline = (param: string, body: Parameters<typeof baselines.fork>[2]) =>
  baselines.fork(`1_${param}`, 1, body)

const find = (id: string, param: string): Workload => {
  const all = [...workloads.supervisorWorkloads, ...workloads.slowSubscriberWorkloads]
  const w = all.find((w) => w.id === id && w.param === param)
  if (w === undefined) throw new Error(`no workload ${id}/${param}`)
  return w
}

const plan: ReadonlyArray<Planned> = [
  { workload: find("lifecycle/instant", "instant"), baseline: lifecycleBaseline("instant", workloads.instant) },
  ...[100, 1000, 10000].map((n) => ({
    workload: find("lifecycle/with_work", `${n}_iters`),
    baseline: lifecycleBaseline(`work_${n}`, workloads.work(n))
  })),
  ...[50, 200, 500].map((n) => ({
    workload: find("throughput/batch", String(n)),
    baseline: forkInstant(n),
    alt: mapInstant(n)
  })),
  ...[50, 200, 500].map((n) => ({
    workload: find("throughput/batch_nosub", String(n)),
    baseline: forkInstant(n),
    alt: mapInstant(n)
  })),
  ...[10, 100, 500].map((n) => ({
    workload: find("throughput/batch_work", String(n)),
    baseline: baselines.fork(`${n}_work_1000`, n, workloads.work(1000))
  })),
  ...[0, 1, 4, 8].map((s) => ({
    workload: find("fanout/subs", `100t_${s}s`),
    baseline: forkInstant(100),
    alt: mapInstant(100)
  })),
  { workload: find("dynamic/add", "1000 adds"), baseline: baselines.fiberMapAdd },
  { workload: find("dynamic/add_cancel", "1000 ops"), baseline: baselines.fiberMapAddRemove },
  ...[10, 100, 500].map((n) => ({ workload: find("dynamic/list", `${n}_tasks`) })),
  ...[10, 100, 500].map((n) => ({ workload: find("dynamic/churn", String(n)), baseline: baselines.fiberMapChurn(n) })),
  ...[5, 20, 50].map((n) => ({
    workload: find("controller/queue", String(n)),
    baseline: baselines.semaphoreQueue("baseline/semaphore_queue", n, 1)
  })),
  ...[5, 20, 50].map((n) => ({
    workload: find("controller/replace", String(n)),
    baseline: baselines.fiberMapReplace(n)
  })),
  ...[5, 20, 50].map((n) => ({
    workload: find("controller/drop_if_running", String(n)),
    baseline: baselines.fiberMapOnlyIfMissing("baseline/fibermap_only_if_missing", n, workloads.short)
  })),
  ...[100, 500, 1000].map((n) => ({
    workload: find("controller/submit_hotpath", String(n)),
    baseline: baselines.fiberMapOnlyIfMissing("baseline/fibermap_only_if_missing_instant", n, workloads.instant)
  })),
  ...[8, 32, 64].map((n) => ({
    workload: find("controller/multi_slot", String(n)),
    baseline: baselines.semaphoreQueue("baseline/semaphore_multi_slot", n, 8)
  })),
  {
    workload: workloads.restartSupervised(RESTART_RETRIES),
    baseline: baselines.retryLoop(RESTART_RETRIES)
  },
  // why a zero delay is not the clock's sleep(0): a timer per retry
  {
    workload: workloads.restartSupervised(CLOCK_SLEEP_RETRIES),
    baseline: baselines.retryLoop(CLOCK_SLEEP_RETRIES, true)
  },
  { workload: workloads.groupStartStop(100), baseline: workloads.plainStartStop(100) },
  ...(["restart", "batch", "add"] as const).map((row) => {
    const size = row === "restart" ? RESTART_RETRIES : 500
    return { workload: workloads.metricsCost(row, true, size), baseline: workloads.metricsCost(row, false, size) }
  }),
  ...[100, 1000, 10_000].flatMap((n) =>
    [1, 4].map((permits) => ({ workload: workloads.permitsQueued(n, permits), baseline: workloads.slotQueued(n) }))
  ),
  { workload: workloads.hotLoopLateness, baseline: workloads.sleepLoopLateness },
  ...["slow_subscriber/batch_500_1sub", "slow_subscriber/fanout_100_8subs"].map((id) => ({
    workload: find(id, "with_slow"),
    baseline: find(id, "with_fast")
  }))
]

const cache = new Map<string, Result>()

const record = (result: Result): Result => {
  cache.set(key(result), result)
  progress(`  ${key(result)}: ${formatStats(result.kind, result.value)} ${result.unit} (${result.samples} samples)`)
  return result
}

const run = async (workload: Workload): Promise<Result> => cache.get(key(workload)) ?? record(await measure(workload))

const runPair = async (a: Workload, b: Workload): Promise<readonly [Result, Result]> => {
  const [ra, rb] = await measurePair(a, b)
  return [record(ra), record(rb)]
}

/**
 * Before the first row, run the supervisor's common paths (building it, a run, retries) for a while, so the
 * first rows are not measured while the JIT still compiles what every row shares.
 */
const warmUpProcess = async (): Promise<void> => {
  const shared = [
    find("lifecycle/instant", "instant"),
    find("throughput/batch", "50"),
    workloads.restartSupervised(100)
  ]
  const until = performance.now() + WARM_UP_MS
  while (performance.now() < until) {
    for (const workload of shared) await Effect.runPromise(workload.sample)
  }
}

const main = async () => {
  const began = performance.now()
  const loadBefore = os.loadavg()
  await warmUpProcess()

  const rows: Array<Row> = []
  for (const planned of plan) {
    if (!selected(key(planned.workload))) continue
    let baseline: Result | undefined
    let result: Result
    // a baseline is measured with its samples interleaved with the workload's, so load that
    // comes and goes during the run weighs on both sides of the ratio alike
    if (planned.baseline !== undefined) {
      ;[baseline, result] = await runPair(planned.baseline, planned.workload)
    } else {
      result = await run(planned.workload)
    }
    const alt = planned.alt === undefined ? undefined : await run(planned.alt)
    rows.push({
      result,
      baseline,
      note: alt === undefined
        ? undefined
        : `${costRatio(result.kind, result.value.median, alt.kind, alt.value.median).toFixed(2)}× FiberMap.run (${
          formatValue(alt.kind, alt.value.median)
        } ${alt.unit})`
    })
  }

  // scaling: the large batch against the batch of 500, and add+cancel on an empty supervisor, while no fleet
  // exists in the process (a fleet's heap slows every collection, whoever allocates); then the rows of each
  // fleet size while that fleet lives
  if (selected("scale/") || selected(`throughput/batch_nosub/${BIG_BATCH}`)) {
    // the large batch first, before any fleet has grown the heap
    const big = workloads.batchNoSub(BIG_BATCH)
    if (selected(key(big))) {
      const [baseline, result] = await runPair(find("throughput/batch_nosub", "500"), big)
      rows.push({ result, baseline })
    }
    const empty = await scale.openFleet(0)
    const anyAddCancel = [0, ...FLEET_SIZES].some((size) => selected(`scale/add_cancel/${scale.sizeLabel(size)}`))
    const none = anyAddCancel ? await run(scale.addCancel(empty)) : undefined
    await empty.close()
    if (none !== undefined) rows.push({ result: none, baseline: undefined })
    for (const size of FLEET_SIZES) {
      const label = scale.sizeLabel(size)
      if (!selected(`scale/add_cancel/${label}`) && !selected(`scale/list/${label}`)) continue
      progress(`  fleet of ${size.toLocaleString("en-US")} parked tasks …`)
      const fleet = await scale.openFleet(size)
      const addCancel = scale.addCancel(fleet)
      if (selected(key(addCancel))) rows.push({ result: await run(addCancel), baseline: none })
      const list = scale.list(fleet)
      if (selected(key(list))) rows.push({ result: await run(list), baseline: undefined })
      await fleet.close()
    }
  }

  const memory: Array<MemoryRow> = []
  if (selected("memory/parked")) {
    for (const n of MEMORY_SIZES) {
      progress(`  memory/parked/${n} …`)
      const fibers = await measureInChild("fibers", n)
      const supervisor = await measureInChild("supervisor", n)
      memory.push({ supervisor, fibers })
    }
  }

  const targets = evaluate(rows, memory)
  if (cronKeys.some(selected)) {
    progress("  cron/ …")
    const cron = await measureCron(selected)
    rows.push(...cron.rows)
    targets.push(...cron.targets)
  }
  if (processKeys.some(selected)) {
    progress("  process/ …")
    const processes = await measureProcess(selected)
    rows.push(...processes.rows)
    targets.push(...processes.targets)
  }
  if (workerKeys.some(selected)) {
    progress("  worker/ …")
    const workers = await measureWorker(selected)
    rows.push(...workers.rows)
    targets.push(...workers.targets)
  }
  if (clusterKeys.some(selected)) {
    progress("  cluster/ …")
    const cluster = await measureCluster(selected)
    rows.push(...cluster.rows)
    targets.push(...cluster.targets)
  }
  const meta = metaOf(
    `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`,
    loadBefore,
    (performance.now() - began) / 1000
  )
  const report = markdownReport(meta, rows, memory, targets)
  process.stdout.write(`${report}\n`)
  const resultsDir = path.join(root, "bench", "results")
  writeJson(path.join(resultsDir, "latest.json"), meta, rows, memory, targets)
  fs.writeFileSync(path.join(resultsDir, "latest.md"), `${report}\n`)
  if (updateMd) {
    const file = path.join(root, "BENCHMARKS.md")
    progress(updateMarkdown(file, report) ? `updated ${file}` : `no bench markers in ${file}; not updated`)
  }
  progress(`wrote ${path.join(resultsDir, "latest.json")} in ${meta.totalSeconds.toFixed(0)} s`)
}

/** The targets of the performance work, each a ratio or a figure of this run. */
const evaluate = (rows: ReadonlyArray<Row>, memory: ReadonlyArray<MemoryRow>): Array<Target> => {
  const targets: Array<Target> = []
  const row = (k: string) => rows.find((r) => key(r.result) === k)
  const ratioOf = (r: Row) =>
    r.baseline === undefined
      ? Number.NaN
      : costRatio(r.result.kind, r.result.value.median, r.baseline.kind, r.baseline.value.median)
  /** A row against its baseline: at most `limit` times its cost. */
  const atMost = (k: string, limit: number, name: string) => {
    const r = row(k)
    if (r !== undefined && r.baseline !== undefined) targets.push(costTarget(name, r.result, r.baseline, limit))
  }

  atMost("dynamic/add/1000 adds", 2, "`add` ≤ 2× `FiberMap.run` of the same body, default config (metrics on)")
  atMost(
    "lifecycle/instant/instant",
    1.2,
    "one whole single-attempt task (`lifecycle/instant`) ≤ 1.2× bare forkDaemon+join"
  )
  atMost("dynamic/add_cancel/1000 ops", 1.1, "add+cancel ≤ 1.1× `FiberMap.run`+`remove`")
  const churn = rows.filter((r) => r.result.id === "dynamic/churn" && r.baseline !== undefined)
  if (churn.length > 0) {
    const ratios = churn.map(ratioOf)
    targets.push({
      name: "churn (adds, then shutdown) ≤ 1.1× `FiberMap` at every size",
      measured: churn.map((r, i) => `${r.result.param}: ${ratios[i].toFixed(2)}×`).join(", "),
      pass: ratios.every((ratio) => ratio <= 1.1)
    })
  }
  atMost(
    "throughput/batch_nosub/500",
    1.15,
    "per task of `run` of 500 (`batch_nosub/500`) ≤ 1.15× bare forkDaemon+join"
  )
  const big = memory.find((m) => m.supervisor.tasks === 100_000)
  if (big !== undefined) {
    const { heapBytesPerTask, rssBytesPerTask } = big.supervisor
    targets.push({
      name: `heap per parked task at 100k ≤ 4.5 KB, RSS below taskvisor's ${
        Math.round(taskvisorRssBytesPerParkedTask).toLocaleString("en-US")
      } B`,
      measured: `${formatValue("bytes", heapBytesPerTask)} heap, ${formatValue("bytes", rssBytesPerTask)} RSS`,
      pass: heapBytesPerTask <= 4.5 * 1024 && rssBytesPerTask < taskvisorRssBytesPerParkedTask
    })
  }
  atMost("scale/add_cancel/100k_live", 1.5, "add+cancel with 100k live tasks ≤ 1.5× with none")
  const list = row("scale/list/100k_live")
  if (list !== undefined) {
    targets.push({
      name: "`list` of 100k tasks ≤ 150 ns per entry",
      measured: `${formatValue("perOp", list.result.value.median)} ns/entry`,
      pass: list.result.value.median <= 150
    })
  }
  atMost(`throughput/batch_nosub/${BIG_BATCH}`, 1.2, "per task of a batch of 50k ≤ 1.2× of a batch of 500")
  atMost("metrics/restart/on", 1.1, "restart row with metrics ≤ 1.1× without")
  const subscribed = rows.filter((r) =>
    /^(throughput\/batch\/|fanout\/subs\/100t_[1-9]|controller\/(queue|multi_slot)\/)/.test(key(r.result)) &&
    taskvisorOf(r.result) !== undefined
  )
  if (subscribed.length > 0) {
    const speedups = subscribed.map((r) =>
      1 / costRatio(r.result.kind, r.result.value.median, r.result.kind, taskvisorOf(r.result)!)
    )
    const least = Math.min(...speedups)
    targets.push({
      name: "every row where subscribers listen ≥ 10× taskvisor",
      measured: `least ${least.toFixed(1)}× (${
        key(subscribed[speedups.indexOf(least)].result)
      }), ${subscribed.length} rows`,
      pass: least >= 10
    })
  }
  const restart = row(`restart/supervised/${RESTART_RETRIES}_retries`)
  if (restart !== undefined && restart.baseline !== undefined) {
    const share = restart.result.value.median / restart.baseline.value.median
    targets.push({
      name: "restart throughput ≥ 1.2× hand-written Effect.retry loop",
      measured: `${share.toFixed(2)}× (${formatValue("rate", restart.result.value.median)} vs ${
        formatValue("rate", restart.baseline.value.median)
      } attempts/s)`,
      pass: share >= 1.2
    })
  }
  const lateness = row("hot_loop/timer_lateness/zero_backoff_retries")
  if (lateness !== undefined) {
    const worstOf = (result: Result) => Math.max(...result.raw.map((s) => s.extra?.maxLateMs ?? Number.NaN))
    const worst = worstOf(lateness.result)
    const bare = lateness.baseline
    targets.push({
      name: "beside a zero-backoff retry loop, timers late ≤ 1 ms (median) and ≤ 5 ms (worst)",
      measured: `median ${formatValue("perOp", lateness.result.value.median)} µs, worst ${worst.toFixed(1)} ms${
        bare === undefined
          ? ""
          : ` (bare sleep(0) loop: ${formatValue("perOp", bare.value.median)} µs, ${worstOf(bare).toFixed(1)} ms)`
      }`,
      pass: lateness.result.value.median <= 1000 && worst <= 5
    })
  }
  const fanout = row("fanout/subs/100t_8s")
  if (fanout !== undefined) {
    targets.push({
      name: "fanout: 100 tasks to 8 subscribers ≥ 20,000 tasks/s",
      measured: `${formatValue("rate", fanout.result.value.median)} tasks/s`,
      pass: fanout.result.value.median >= 20000
    })
  }
  const slow = rows.filter((r) => r.result.id.startsWith("slow_subscriber/") && r.baseline !== undefined)
  if (slow.length > 0) {
    const shares = slow.map((r) => r.result.value.median / r.baseline!.value.median)
    targets.push({
      name: `a slow subscriber does not reduce task throughput (keeps ≥ ${SLOW_TOLERANCE}× within noise)`,
      measured: slow.map((r, i) => `${r.result.id.replace("slow_subscriber/", "")}: ${shares[i].toFixed(2)}×`).join(
        ", "
      ),
      pass: shares.every((s) => s >= SLOW_TOLERANCE)
    })
  }
  return targets
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
