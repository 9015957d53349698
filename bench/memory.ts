/**
 * Memory per parked task: `n` tasks whose body is `Effect.never`, added to
 * one supervisor, against `n` bare fibers (`Effect.forkDaemon(Effect.never)`);
 * and per scheduled task (`cron`): `n` cron tasks waiting for a time that
 * does not come during the measurement.
 *
 * Each configuration runs in its own child process (this module is also its
 * entry point) so that one measurement's heap and RSS growth does not leak
 * into the next. Heap used and RSS are read after two `global.gc()` calls,
 * before and after the tasks are parked; the difference divided by `n` is
 * the cost per task. Run directly: `node --expose-gc --import tsx bench/memory.ts supervisor 10000`
 * (or `fibers`, `cron`).
 */
import { TaskSpec } from "effect-taskvisor"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Supervisor } from "./workloads.js"
import { awaitAlive, settingsOf, withSupervisor, worker } from "./workloads.js"

/** `supervisor`: parked tasks; `fibers`: bare fibers; `cron`: scheduled cron tasks. */
export type Subject = "supervisor" | "fibers" | "cron"

const subjects: ReadonlyArray<Subject> = ["supervisor", "fibers", "cron"]

/** A daily time: none of the scheduled tasks runs while it is measured. */
export const nightly = "0 3 * * *"

/** The `i`th scheduled task of the cron rows: it waits for 03:00 UTC and does nothing then. */
export const scheduledSpec = (i: number) => TaskSpec.cron(`c-${i}`, Effect.void, nightly)

/** Wait until the task named `name` waits for its next scheduled time (tasks start in order, so the last one tells). */
export const awaitScheduled = (supervisor: Supervisor, name: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (true) {
      const details = yield* Effect.orDie(supervisor.inspect(name))
      if (Option.isSome(details) && details.value.nextRunAt !== undefined) return
      yield* Effect.sleep("1 millis")
    }
  })

/** How a supervised subject's tasks are made, and how to know the last one is in place. */
const supervisedTasks = {
  supervisor: { spec: (i: number) => TaskSpec.once(`w-${i}`, worker), settled: awaitAlive },
  cron: { spec: scheduledSpec, settled: awaitScheduled }
}

export interface MemoryResult {
  readonly subject: Subject
  readonly tasks: number
  readonly heapBytesPerTask: number
  readonly rssBytesPerTask: number
  /** How long parking the tasks took (adds or forks), ms. */
  readonly parkMs: number
}

declare const global: { gc?: () => void }

/** `process.memoryUsage()` after two full collections (needs `--expose-gc`). */
export const snapshot = (): NodeJS.MemoryUsage => {
  if (global.gc === undefined) throw new Error("run with --expose-gc")
  global.gc()
  global.gc()
  return process.memoryUsage()
}

const result = (
  subject: Subject,
  tasks: number,
  before: NodeJS.MemoryUsage,
  after: NodeJS.MemoryUsage,
  parkMs: number
): MemoryResult => ({
  subject,
  tasks,
  heapBytesPerTask: (after.heapUsed - before.heapUsed) / tasks,
  rssBytesPerTask: (after.rss - before.rss) / tasks,
  parkMs
})

/** `report` runs before teardown: a child process exits there instead of stopping 100k tasks it no longer needs. */
type Report = (result: MemoryResult) => void

const supervised = (
  subject: keyof typeof supervisedTasks,
  n: number,
  report: Report
): Effect.Effect<MemoryResult, unknown> =>
  withSupervisor(settingsOf({}), [], (sup) =>
    Effect.gen(function*() {
      const tasks = supervisedTasks[subject]
      // the specs exist before the first snapshot: only what the supervisor adds per task is counted
      const specs = Array.from({ length: n }, (_, i) => tasks.spec(i))
      const before = snapshot()
      const start = performance.now()
      for (const spec of specs) yield* sup.add(spec)
      yield* tasks.settled(sup, specs[n - 1].name)
      const parkMs = performance.now() - start
      const after = snapshot()
      const measured = result(subject, n, before, after, parkMs)
      report(measured)
      return measured
    }))

const bare = (n: number, report: Report): Effect.Effect<MemoryResult> =>
  Effect.gen(function*() {
    const before = snapshot()
    const start = performance.now()
    const fibers: Array<Fiber.RuntimeFiber<never>> = []
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkDaemon(worker))
    yield* Effect.sleep("10 millis")
    const parkMs = performance.now() - start
    const after = snapshot()
    const measured = result("fibers", n, before, after, parkMs)
    report(measured)
    yield* Fiber.interruptAll(fibers)
    return measured
  })

export const measureHere = (subject: Subject, n: number, report: Report = () => {}): Promise<MemoryResult> =>
  Effect.runPromise(subject === "fibers" ? bare(n, report) : supervised(subject, n, report))

const self = fileURLToPath(import.meta.url)

/** Measure in a fresh Node process with the same loader flags and `--expose-gc`. */
export const measureInChild = (subject: Subject, n: number): Promise<MemoryResult> => {
  const flags = process.execArgv.includes("--expose-gc") ? process.execArgv : ["--expose-gc", ...process.execArgv]
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...flags, self, subject, String(n)],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`memory child failed: ${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as MemoryResult)
      }
    )
  })
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === self) {
  const subject = subjects.find((s) => s === process.argv[2]) ?? "supervisor"
  const n = Number(process.argv[3] ?? 10000)
  measureHere(subject, n, (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0))
  }).then(
    () => {},
    (e) => {
      process.stderr.write(`${String(e)}\n`)
      process.exit(1)
    }
  )
}
