/**
 * The `cron/` rows: what scheduled tasks cost while they wait, and how late a run starts.
 *
 * - `cron/heap_per_task/10k_scheduled`: 10,000 cron tasks waiting for 03:00 UTC on one supervisor, heap per task
 *   after forced GCs (`bench/memory.ts`, subject `cron`, in child processes), against the heap per parked task of the
 *   same run (subject `supervisor`), children of the two alternated.
 * - `cron/idle_cpu/10k_scheduled`: the process's CPU time (`process.cpuUsage`, user + system) per second of wall
 *   time while 10,000 cron tasks wait, against the same with an empty supervisor; the notes count the armed timers.
 * - `cron/fire_lateness/10k_scheduled`: beside those 10,000, a probe cron task on a per-second schedule records how
 *   late each run starts (`Date.now()` in its body less its second boundary), against a bare `Effect.sleep` loop
 *   waking on every second boundary (measured alone), and the same loop beside 10,000 fibers asleep (in the notes).
 */
import { TaskSpec } from "effect-taskvisor"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import type { Workload } from "./harness.js"
import { formatValue, median, progress, resultOfFigures } from "./harness.js"
import { awaitScheduled, measureInChild, scheduledSpec, snapshot } from "./memory.js"
import type { Row, Target } from "./report.js"
import { key } from "./report.js"
import { benchInput, type Supervisor, supervisorIn } from "./workloads.js"

const SCHEDULED = 10_000
/** Child processes per side of the heap row. */
const HEAP_SAMPLES = 2
/** Wall-clock windows per side of the CPU row, and how long each is. */
const CPU_WINDOWS = 3
/** How long the process is left to settle (GC, compilation threads) before its first window. */
const SETTLE_MS = 1_000
const CPU_WINDOW_MS = 2_000
/** Runs of the probe, and turns of each bare loop. */
const PROBE_RUNS = 20
const BARE_RUNS = 10
/** "No CPU between runs": at most this much more CPU time per second than with no task (run-to-run noise). */
const IDLE_CPU_TOLERANCE_MS = 2

const row = (id: string, param: string, kind: Workload["kind"], unit: string) => ({ id, param, kind, unit })
const heapRow = row("cron/heap_per_task", "10k_scheduled", "bytes", "heap/task")
const parkedRow = row("memory/parked", "10k_parked", "bytes", "heap/task")
const cpuRow = row("cron/idle_cpu", "10k_scheduled", "perOp", "ms CPU/s")
const noTaskRow = row("baseline/idle_cpu", "no_task", "perOp", "ms CPU/s")
const probeRow = row("cron/fire_lateness", "10k_scheduled", "perOp", "ms late")
const bareRow = row("baseline/sleep_loop", "second_boundary", "perOp", "ms late")

/** The keys of the `cron/` rows. */
export const cronKeys: ReadonlyArray<string> = [key(heapRow), key(cpuRow), key(probeRow)]

const wallSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Timers armed in the process (Node's `Timeout` resources). */
const armedTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** A supervisor until `close`, with `n` cron tasks waiting for their next time. */
const openScheduled = async (n: number): Promise<{ supervisor: Supervisor; close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const supervisor = await Effect.runPromise(Effect.gen(function*() {
    const supervisor = yield* supervisorIn(benchInput, scope)
    for (let i = 0; i < n; i++) yield* supervisor.add(scheduledSpec(i))
    if (n > 0) yield* awaitScheduled(supervisor, scheduledSpec(n - 1).name)
    return supervisor
  }))
  return { supervisor, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** CPU milliseconds per second of wall time over one window, after forced GCs (outside it). */
const cpuWindow = async (): Promise<number> => {
  snapshot()
  const began = performance.now()
  const before = process.cpuUsage()
  await wallSleep(CPU_WINDOW_MS)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / ((performance.now() - began) / 1000)
}

/** The lateness (ms) of `runs` turns of a loop sleeping with `Effect.sleep` until the next second boundary. */
const bareLoop = (runs: number): Promise<Array<number>> =>
  Effect.runPromise(Effect.gen(function*() {
    const late: Array<number> = []
    for (let i = 0; i < runs; i++) {
      const at = (Math.floor(Date.now() / 1000) + 1) * 1000
      yield* Effect.sleep(at - Date.now())
      late.push(Date.now() - at)
    }
    return late
  }))

/** The lateness (ms) of `runs` runs of a per-second cron task added to `supervisor`. */
const probe = (supervisor: Supervisor, runs: number): Promise<Array<number>> =>
  new Promise((resolve, reject) => {
    const late: Array<number> = []
    const body = Effect.sync(() => {
      // the run's scheduled time is the second boundary it started after
      late.push(Date.now() % 1000)
      if (late.length === runs) resolve([...late])
    })
    // the probe runs on until the supervisor closes
    Effect.runPromise(supervisor.add(TaskSpec.cron("probe", body, "* * * * * *"))).then(() => {}, reject)
  })

const latenessText = (late: ReadonlyArray<number>) =>
  `median ${median(late).toFixed(1)} ms, p95 ${percentile(late, 95).toFixed(1)} ms, worst ${
    Math.max(...late).toFixed(1)
  } ms`

/** The `cron/` rows `selected` asks for, and their targets. */
export const measureCron = async (
  selected: (key: string) => boolean
): Promise<{ readonly rows: Array<Row>; readonly targets: Array<Target> }> => {
  const rows: Array<Row> = []
  const targets: Array<Target> = []

  if (selected(key(heapRow))) {
    const cron: Array<number> = []
    const parked: Array<number> = []
    const cronMs: Array<number> = []
    const parkedMs: Array<number> = []
    for (let i = 0; i < HEAP_SAMPLES; i++) {
      progress(`  cron/heap_per_task: children ${i + 1} of ${HEAP_SAMPLES} …`)
      const a = await measureInChild("cron", SCHEDULED)
      const b = await measureInChild("supervisor", SCHEDULED)
      cron.push(a.heapBytesPerTask)
      cronMs.push(a.parkMs)
      parked.push(b.heapBytesPerTask)
      parkedMs.push(b.parkMs)
    }
    const result = resultOfFigures(heapRow, cron, cronMs)
    const baseline = resultOfFigures(parkedRow, parked, parkedMs)
    rows.push({
      result,
      baseline,
      note: `time to schedule / park 10k: ${median(cronMs).toFixed(0)} / ${median(parkedMs).toFixed(0)} ms`
    })
    targets.push({
      name: "heap per scheduled task (10k cron tasks) ≤ heap per parked task, same run",
      measured: `${formatValue("bytes", result.value.median)} vs ${formatValue("bytes", baseline.value.median)}`,
      pass: result.value.median <= baseline.value.median
    })
  }

  const wantCpu = selected(key(cpuRow))
  const wantLateness = selected(key(probeRow))
  if (!wantCpu && !wantLateness) return { rows, targets }

  // the windows with no task first, while nothing else has run in the rows
  const empty = wantCpu ? await openScheduled(0) : undefined
  const none: Array<number> = []
  const timersNone = armedTimers()
  if (empty !== undefined) {
    await wallSleep(SETTLE_MS)
    progress(`  cron/idle_cpu: no task, ${CPU_WINDOWS} × ${CPU_WINDOW_MS} ms …`)
    for (let i = 0; i < CPU_WINDOWS; i++) none.push(await cpuWindow())
    await empty.close()
  }

  let bare: Array<number> = []
  let bareBeside: Array<number> = []
  if (wantLateness) {
    progress(`  cron/fire_lateness: a bare sleep loop, ${BARE_RUNS} s …`)
    bare = await bareLoop(BARE_RUNS)
    progress(`  cron/fire_lateness: the loop beside ${SCHEDULED} fibers asleep, ${BARE_RUNS} s …`)
    const sleepers = Effect.runSync(Effect.forEach(
      Array.from({ length: SCHEDULED }),
      () => Effect.forkDaemon(Effect.sleep("1 days"))
    ))
    bareBeside = await bareLoop(BARE_RUNS)
    await Effect.runPromise(Fiber.interruptAll(sleepers))
  }

  progress(`  cron/: ${SCHEDULED} scheduled tasks …`)
  const fleet = await openScheduled(SCHEDULED)
  if (wantCpu) {
    await wallSleep(SETTLE_MS)
    const timers = armedTimers()
    const idle: Array<number> = []
    for (let i = 0; i < CPU_WINDOWS; i++) idle.push(await cpuWindow())
    const result = resultOfFigures(cpuRow, idle, idle.map(() => CPU_WINDOW_MS))
    const baseline = resultOfFigures(noTaskRow, none, none.map(() => CPU_WINDOW_MS))
    const more = result.value.median - baseline.value.median
    rows.push({
      result,
      baseline,
      note: `${timers - timersNone} more timers armed than with no task (${timers} against ${timersNone})`
    })
    targets.push({
      name: `no CPU between runs: 10k scheduled tasks idle ≤ ${IDLE_CPU_TOLERANCE_MS} ms CPU/s more than none`,
      measured: `${more >= 0 ? "+" : ""}${more.toFixed(2)} ms CPU/s (${result.value.median.toFixed(2)} vs ${
        baseline.value.median.toFixed(2)
      }); ${timers - timersNone} timers for ${SCHEDULED} tasks`,
      pass: more <= IDLE_CPU_TOLERANCE_MS
    })
  }
  if (wantLateness) {
    progress(`  cron/fire_lateness: the probe beside them, ${PROBE_RUNS} s …`)
    const late = await probe(fleet.supervisor, PROBE_RUNS)
    const result = resultOfFigures(probeRow, late, late.map(() => 1000))
    const baseline = resultOfFigures(bareRow, bare, bare.map(() => 1000))
    rows.push({
      result,
      baseline,
      note: `probe ${latenessText(late)}; bare loop ${latenessText(bare)}; the loop beside ${SCHEDULED} fibers asleep ${
        latenessText(bareBeside)
      }`
    })
    targets.push({
      name: "fire lateness beside 10k scheduled tasks ≤ 2 ms (median)",
      measured: `${latenessText(late)} (bare sleep loop: median ${median(bare).toFixed(1)} ms, beside 10k fibers ${
        median(bareBeside).toFixed(1)
      } ms)`,
      pass: result.value.median <= 2
    })
  }
  await fleet.close()
  return { rows, targets }
}
