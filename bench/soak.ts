/**
 * `npm run soak`: does the supervisor's memory stay flat over a long run?
 *
 * In one process, each phase against a fresh supervisor (`TaskSupervisor.make`
 * inside `Effect.scoped`, default config):
 *
 * - `restarts`: a few restartable tasks that fail at once with zero backoff,
 *   until 1,000,000 attempts in total have run; then every task parks in its
 *   next attempt, is cancelled (outcome `Canceled`) and the scope closes.
 * - `add_cancel`: 100,000 cycles of `add` a parked task (`Effect.never`, a
 *   new name each time) then `cancel` it (which awaits its terminal cleanup).
 * - `restarts_subscriber`: a shorter restart run with one counting subscriber
 *   attached, so the event path (bus, mailbox, subscriber worker) soaks too.
 *
 * The clock is real. Heap used and RSS are read after two `global.gc()` calls
 * at fixed checkpoints; sampling runs synchronously in the task body (restart
 * phases) or in the loop (add/cancel), so the counts are exact, nothing runs
 * while the collector does, and the time spent sampling is excluded from the
 * elapsed times and rates. Prints a markdown table and a verdict per phase and
 * writes `bench/results/soak.json`. Exits 1 if an outcome, a count or the
 * registry is wrong, if a phase fails, or if a heap is not flat; 2 if the
 * watchdog fires.
 */
import type { TaskSupervisor } from "effect-taskvisor"
import { BackoffPolicy, TaskSpec } from "effect-taskvisor"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { formatMs, markdownTable, progress } from "./harness.js"
import { snapshot } from "./memory.js"
import type { Meta } from "./report.js"
import { metaOf } from "./report.js"
import { counting, withSupervisor } from "./workloads.js"

type Supervisor = TaskSupervisor.TaskSupervisor["Type"]

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const resultFile = path.join(root, "bench", "results", "soak.json")

/** A hung supervisor must not hang the soak: give up (exit 2) after this long. */
const WATCHDOG_MS = 10 * 60 * 1000

// ---------------------------------------------------------------------------
// the verdict

/**
 * Heap "flat" rule. Growth is measured from the first checkpoint after the
 * warm-up (JIT code, inline caches, lazily built Effect internals are allocated
 * once early on) to the last checkpoint, both read after two full GCs.
 *
 * A leak retains something per operation, and the least V8 can retain per
 * operation is one 4-byte slot (a compressed pointer or a Smi pushed to an
 * array that only grows); a leaked object, closure or Map entry is 12 bytes or
 * more, a leaked task entry or fiber hundreds. So a phase is flat when its
 * growth is below `FLAT_BYTES_PER_UNIT` (2 bytes per restart or cycle, half the
 * smallest possible leak) or, whatever the count, below `FLAT_NOISE_BYTES`:
 * heapUsed after full GCs still drifts with V8's own bookkeeping (optimised
 * code and its weak lists kept growing by ~0.3 B per add/cancel cycle over
 * 400k cycles in a heap-snapshot diff, with no JS object count growing), about
 * 100 KB over a phase here, so the floor is 5× that. With 800,000 restarts
 * after warm-up the per-unit bound (1.6 MB) applies; with 80,000 cycles the
 * floor does (about 6.6 B per cycle), which still catches any leaked object
 * per cycle and misses only a bare array slot.
 */
const FLAT_BYTES_PER_UNIT = 2
const FLAT_NOISE_BYTES = 512 * 1024

interface Checkpoint {
  readonly label: string
  /** Attempts or cycles done. */
  readonly units: number
  /** Since the phase began, sampling pauses excluded. */
  readonly elapsedMs: number
  /** Units per second since the previous checkpoint (NaN for the first). */
  readonly rate: number
  readonly heapUsed: number
  readonly rss: number
  /** How long the two GCs and the read took. */
  readonly sampleMs: number
  /** Events published but not yet delivered to the counting subscriber (subscriber phase only). */
  readonly backlog?: number | undefined
}

interface Verdict {
  readonly fromUnits: number
  readonly toUnits: number
  readonly growthBytes: number
  readonly bytesPer1k: number
  /** Least-squares slope of heap used over the checkpoints after warm-up, bytes per 1k units. */
  readonly slopeBytesPer1k: number
  readonly flat: boolean
  readonly rule: string
}

const verdictOf = (checkpoints: ReadonlyArray<Checkpoint>, warmupUnits: number): Verdict => {
  const window = checkpoints.filter((c) => c.label !== "closed" && c.units >= warmupUnits)
  const first = window[0]
  const last = window[window.length - 1]
  const units = last.units - first.units
  const growthBytes = last.heapUsed - first.heapUsed
  const mx = window.reduce((s, c) => s + c.units, 0) / window.length
  const my = window.reduce((s, c) => s + c.heapUsed, 0) / window.length
  const sxy = window.reduce((s, c) => s + (c.units - mx) * (c.heapUsed - my), 0)
  const sxx = window.reduce((s, c) => s + (c.units - mx) ** 2, 0)
  const allowed = Math.max(FLAT_NOISE_BYTES, FLAT_BYTES_PER_UNIT * units)
  return {
    fromUnits: first.units,
    toUnits: last.units,
    growthBytes,
    bytesPer1k: (growthBytes / units) * 1000,
    slopeBytesPer1k: sxx === 0 ? Number.NaN : (sxy / sxx) * 1000,
    flat: growthBytes < allowed,
    rule: `growth < max(${FLAT_NOISE_BYTES} B, ${FLAT_BYTES_PER_UNIT} B × units) = ${allowed} B`
  }
}

// ---------------------------------------------------------------------------
// sampling

/** Takes checkpoints and keeps the time spent taking them out of the phase's clock. */
const recorder = () => {
  const checkpoints: Array<Checkpoint> = []
  const start = performance.now()
  let paused = 0
  const record = (label: string, units: number, backlog?: number): void => {
    const t0 = performance.now()
    const elapsedMs = t0 - start - paused
    const memory = snapshot()
    const sampleMs = performance.now() - t0
    paused += sampleMs
    const prev = checkpoints[checkpoints.length - 1]
    const rate = prev === undefined || elapsedMs === prev.elapsedMs
      ? Number.NaN
      : (units - prev.units) / ((elapsedMs - prev.elapsedMs) / 1000)
    checkpoints.push({
      label,
      units,
      elapsedMs,
      rate,
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      sampleMs,
      backlog
    })
  }
  return { checkpoints, record }
}

/** The supervisor misbehaved: what and where. Keeps the first few of each phase. */
const problems: Array<string> = []
let suppressed = 0
const problem = (message: string): void => {
  if (problems.length < 20) problems.push(message)
  else suppressed++
}

// ---------------------------------------------------------------------------
// phases

interface Phase {
  readonly id: string
  readonly what: string
  /** "attempts" or "cycles". */
  readonly unit: string
  readonly total: number
  readonly every: number
  readonly warmupUnits: number
  readonly run: (phase: Phase, record: ReturnType<typeof recorder>["record"]) => Effect.Effect<void, unknown>
}

interface PhaseResult {
  readonly phase: Phase
  readonly checkpoints: ReadonlyArray<Checkpoint>
  readonly verdict: Verdict | undefined
  readonly wallMs: number
  readonly ok: boolean
  readonly extra: Readonly<Record<string, number>>
}

const label = (units: number): string => units % 1000 === 0 ? `${units / 1000}k` : String(units)

/** Poll `check` every millisecond for up to `ms`; whether it held. */
const eventually = (check: Effect.Effect<boolean>, ms: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = performance.now() + ms
    while (true) {
      if (yield* check) return true
      if (performance.now() > deadline) return false
      yield* Effect.sleep("1 millis")
    }
  })

const RESTART_TASKS = 4

/**
 * `tasks` restartable tasks failing at once with zero backoff share one attempt
 * counter; the attempt that brings it to `total` is the last to fail, every
 * later attempt parks, and the tasks are then cancelled one by one.
 */
const restarts = (tasks: number, withSubscriber: boolean, extra: Record<string, number>) =>
(
  phase: Phase,
  record: ReturnType<typeof recorder>["record"]
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const { every, total } = phase
    const state = { attempts: 0 }
    const subscriber = withSubscriber ? counting() : undefined
    // one TaskAdded per task, then AttemptStarting, AttemptFailed and BackoffScheduled per failed attempt
    const published = () => tasks + 3 * state.attempts
    // sampled in attempt n's body, where only its AttemptStarting is out yet (exact with one task)
    const backlog = () => subscriber === undefined ? undefined : published() - 2 - subscriber.state.count
    const reached = yield* Deferred.make<void>()
    const failure = Effect.fail("boom")
    const body = Effect.suspend((): Effect.Effect<void, string> => {
      if (state.attempts >= total) return Effect.never
      state.attempts++
      if (state.attempts % every === 0) record(label(state.attempts), state.attempts, backlog())
      return state.attempts === total ? Effect.zipRight(Deferred.succeed(reached, undefined), failure) : failure
    })
    const specs = Array.from(
      { length: tasks },
      (_, i) => TaskSpec.restartable(`restart-${i}`, body).pipe(TaskSpec.withBackoff(BackoffPolicy.constant(0)))
    )
    yield* withSupervisor(
      {},
      subscriber === undefined ? [] : [subscriber.subscriber],
      (sup: Supervisor) =>
        Effect.gen(function*() {
          record("start", 0)
          const handles = yield* Effect.forEach(specs, sup.add)
          yield* Deferred.await(reached)
          // each task's next attempt parks; then `list` shows every task running attempt n with Σn = total + tasks
          const parked = yield* eventually(
            Effect.map(
              sup.list,
              (infos) =>
                infos.length === tasks && infos.every((info) => info.state === "Running") &&
                infos.reduce((s, info) => s + info.attempt, 0) === total + tasks
            ),
            5000
          )
          if (!parked) {
            const infos = yield* sup.list
            problem(`${phase.id}: tasks did not all park after ${total} attempts: ${JSON.stringify(infos)}`)
          }
          for (const handle of handles) {
            const claimed = yield* sup.cancel(handle.id)
            const outcome = yield* handle.await
            if (!claimed) problem(`${phase.id}: cancel(${handle.name}) did not claim the stop`)
            if (outcome._tag !== "Canceled") problem(`${phase.id}: ${handle.name} ended ${outcome._tag}, not Canceled`)
          }
          const left = yield* sup.list
          if (left.length !== 0) problem(`${phase.id}: list not empty after cancelling: ${JSON.stringify(left)}`)
          if (state.attempts !== total) problem(`${phase.id}: ${state.attempts} attempts ran, expected ${total}`)
        })
    )
    // the scope is closed: the supervisor shut down and its subscribers drained
    record("closed", state.attempts)
    if (subscriber !== undefined) {
      extra.events = subscriber.state.count
      extra.eventsExpectedAtLeast = published()
      if (subscriber.state.count < published()) {
        // a bounded subscriber queue may drop under load by design: report it, it is not a failure
        progress(`${phase.id}: the subscriber got ${subscriber.state.count} of at least ${published()} events`)
      }
    }
  })

const addCancel = (phase: Phase, record: ReturnType<typeof recorder>["record"]): Effect.Effect<void, unknown> =>
  withSupervisor({}, [], (sup: Supervisor) =>
    Effect.gen(function*() {
      const { every, total } = phase
      record("start", 0)
      for (let i = 1; i <= total; i++) {
        const handle = yield* sup.add(TaskSpec.once(`parked-${i}`, Effect.never))
        const claimed = yield* sup.cancel(handle.id)
        const outcome = yield* handle.await
        if (!claimed) problem(`${phase.id}: cancel(${handle.name}) did not claim the stop`)
        if (outcome._tag !== "Canceled") problem(`${phase.id}: ${handle.name} ended ${outcome._tag}, not Canceled`)
        if (i % every === 0) {
          const listed = yield* sup.list
          if (listed.length !== 0) problem(`${phase.id}: ${listed.length} tasks listed after cycle ${i}`)
          record(label(i), i)
        }
      }
      const left = yield* sup.list
      if (left.length !== 0) problem(`${phase.id}: list not empty after the last cancel: ${JSON.stringify(left)}`)
    })).pipe(Effect.zipRight(Effect.sync(() => record("closed", phase.total))))

const subscriberExtra: Record<string, number> = {}

const phases: ReadonlyArray<Phase> = [
  {
    id: "restarts",
    what: `${RESTART_TASKS} restartable tasks failing at once, BackoffPolicy.constant(0), no subscriber`,
    unit: "attempts",
    total: 1_000_000,
    every: 100_000,
    warmupUnits: 200_000,
    run: restarts(RESTART_TASKS, false, {})
  },
  {
    id: "add_cancel",
    what: "add TaskSpec.once(parked-i, Effect.never), then cancel it (awaits cleanup)",
    unit: "cycles",
    total: 100_000,
    every: 10_000,
    warmupUnits: 20_000,
    run: addCancel
  },
  {
    id: "restarts_subscriber",
    what: "1 restartable task failing at once, BackoffPolicy.constant(0), one counting subscriber",
    unit: "attempts",
    total: 200_000,
    every: 20_000,
    warmupUnits: 40_000,
    run: restarts(1, true, subscriberExtra)
  }
]

const runPhase = (phase: Phase): Effect.Effect<PhaseResult> =>
  Effect.suspend(() => {
    progress(`soak: ${phase.id} (${phase.total.toLocaleString("en-US")} ${phase.unit})…`)
    const recording = recorder()
    const start = performance.now()
    const before = problems.length + suppressed
    return phase.run(phase, recording.record).pipe(
      Effect.catchAllCause((cause) => Effect.sync(() => problem(`${phase.id} failed: ${Cause.pretty(cause)}`))),
      Effect.map((): PhaseResult => {
        const { checkpoints } = recording
        const complete = checkpoints.some((c) => c.label !== "closed" && c.units === phase.total)
        return {
          phase,
          checkpoints,
          verdict: complete ? verdictOf(checkpoints, phase.warmupUnits) : undefined,
          wallMs: performance.now() - start,
          ok: problems.length + suppressed === before,
          extra: phase.id === "restarts_subscriber" ? subscriberExtra : {}
        }
      })
    )
  })

// ---------------------------------------------------------------------------
// report

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2)
const rate = (r: number): string => Number.isFinite(r) ? Math.round(r).toLocaleString("en-US") : "–"

const table = (result: PhaseResult): string => {
  const withBacklog = result.checkpoints.some((c) => c.backlog !== undefined)
  const header = [
    "checkpoint",
    result.phase.unit,
    "elapsed s",
    "rate/s",
    "heap MB after GC",
    "RSS MB",
    ...(withBacklog ? ["subscriber backlog"] : [])
  ]
  const rows = result.checkpoints.map((c) => [
    c.label,
    c.units.toLocaleString("en-US"),
    (c.elapsedMs / 1000).toFixed(2),
    c.label === "closed" ? "–" : rate(c.rate),
    mb(c.heapUsed),
    mb(c.rss),
    ...(withBacklog ? [c.backlog === undefined ? "–" : String(c.backlog)] : [])
  ])
  return markdownTable(header, rows)
}

const verdictLine = (result: PhaseResult): string => {
  const v = result.verdict
  const unit = result.phase.unit === "attempts" ? "restarts" : "cycles"
  if (v === undefined) return `**${result.phase.id}: no verdict** (the phase did not complete)`
  const sign = v.growthBytes >= 0 ? "+" : ""
  return `**${result.phase.id}: heap ${v.flat ? "flat" : "GROWING"}**: ${sign}${
    (v.growthBytes / 1024).toFixed(1)
  } KB from ${label(v.fromUnits)} to ${label(v.toUnits)} ${result.phase.unit} = ${
    v.bytesPer1k.toFixed(1)
  } B per 1k ${unit} (least-squares slope ${v.slopeBytesPer1k.toFixed(1)} B per 1k); rule: ${v.rule}`
}

const report = (results: ReadonlyArray<PhaseResult>, totalMs: number): string => {
  const sections = results.map((r) => {
    const samplingMs = r.checkpoints.reduce((s, c) => s + c.sampleMs, 0)
    const extra = Object.entries(r.extra).map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ")
    return [
      `## ${r.phase.id}: ${r.phase.what}`,
      "",
      table(r),
      "",
      verdictLine(r),
      "",
      `phase wall time ${formatMs(r.wallMs)} (of which sampling ${formatMs(samplingMs)}); checks ${
        r.ok ? "passed" : "FAILED"
      }${extra === "" ? "" : `; ${extra}`}`
    ].join("\n")
  })
  const lines = [
    "# Soak",
    "",
    "elapsed excludes sampling pauses; rate/s is over the interval since the previous checkpoint; heap and RSS are",
    "read after two global.gc(); `closed` is read after the supervisor's scope closed.",
    "",
    ...sections.flatMap((s) => [s, ""]),
    `total run time ${formatMs(totalMs)}`
  ]
  if (problems.length > 0) {
    lines.push("", "## Problems", "", ...problems.map((p) => `- ${p}`))
    if (suppressed > 0) lines.push(`- … and ${suppressed} more`)
  }
  return lines.join("\n")
}

const writeJson = (meta: Meta, results: ReadonlyArray<PhaseResult>): void => {
  fs.mkdirSync(path.dirname(resultFile), { recursive: true })
  const json = {
    meta,
    flatRule: { bytesPerUnit: FLAT_BYTES_PER_UNIT, noiseBytes: FLAT_NOISE_BYTES },
    phases: results.map((r) => ({
      id: r.phase.id,
      what: r.phase.what,
      unit: r.phase.unit,
      total: r.phase.total,
      every: r.phase.every,
      warmupUnits: r.phase.warmupUnits,
      wallMs: r.wallMs,
      ok: r.ok,
      extra: r.extra,
      verdict: r.verdict,
      checkpoints: r.checkpoints
    })),
    problems,
    suppressedProblems: suppressed
  }
  fs.writeFileSync(resultFile, `${JSON.stringify(json, null, 2)}\n`)
}

// ---------------------------------------------------------------------------
// main

const main = async (): Promise<number> => {
  const loadBefore = os.loadavg()
  const started = performance.now()
  const results: Array<PhaseResult> = []
  for (const phase of phases) results.push(await Effect.runPromise(runPhase(phase)))
  const totalMs = performance.now() - started
  writeJson(metaOf("npm run soak", loadBefore, totalMs / 1000), results)
  process.stdout.write(`${report(results, totalMs)}\n`)
  progress(`soak: wrote ${path.relative(root, resultFile)}`)
  // a growing heap fails the soak too: finding a leak is its point
  return problems.length + suppressed === 0 && results.every((r) => r.ok && r.verdict?.flat === true) ? 0 : 1
}

const watchdog = setTimeout(() => {
  process.stderr.write(`soak: still running after ${WATCHDOG_MS / 1000} s, giving up\n`)
  process.exit(2)
}, WATCHDOG_MS)
watchdog.unref()

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
    process.exit(1)
  }
)
