/**
 * Turns measured results into the report: the results table (with baseline
 * and taskvisor ratios), the memory table, the targets (PASS/MISS), as
 * markdown for stdout and BENCHMARKS.md, and as JSON.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Kind, Result } from "./harness.js"
import { formatMs, formatStats, formatValue, markdownTable } from "./harness.js"
import type { MemoryResult } from "./memory.js"
import {
  taskvisorBatchEventsPerSecond,
  taskvisorCurrentThread,
  taskvisorRssBytesPerParkedTask,
  taskvisorScale
} from "./reference.js"

export interface Row {
  readonly result: Result
  readonly baseline: Result | undefined
  readonly note?: string | undefined
}

export interface MemoryRow {
  readonly supervisor: MemoryResult
  readonly fibers: MemoryResult
}

export interface Target {
  readonly name: string
  readonly measured: string
  readonly pass: boolean
}

export interface Meta {
  readonly date: string
  readonly command: string
  readonly node: string
  readonly cpu: string
  readonly nproc: number
  readonly memory: string
  readonly loadBefore: ReadonlyArray<number>
  readonly loadAfter: ReadonlyArray<number>
  readonly uptime: string
  readonly totalSeconds: number
}

/** µs (or bytes) per unit: lower is better whatever the kind. */
const cost = (kind: Kind, value: number): number => kind === "rate" ? 1e6 / value : value

/** Supervised cost ÷ other cost: 1 is as fast, 2 is twice as slow. */
export const costRatio = (kind: Kind, value: number, otherKind: Kind, other: number): number =>
  cost(kind, value) / cost(otherKind, other)

/**
 * The target that `result` costs at most `limit` times `baseline`, their medians compared per operation (a rate as
 * its µs per operation), the measure showing both.
 */
export const costTarget = (name: string, result: Result, baseline: Result, limit: number): Target => {
  const ratio = costRatio(result.kind, result.value.median, baseline.kind, baseline.value.median)
  const perOp = (r: Result) => formatValue("perOp", cost(r.kind, r.value.median))
  return { name, measured: `${ratio.toFixed(2)}× (${perOp(result)} vs ${perOp(baseline)} µs)`, pass: ratio <= limit }
}

export const key = (result: { readonly id: string; readonly param: string }): string => `${result.id}/${result.param}`

export const taskvisorOf = (result: Result): number | undefined =>
  taskvisorCurrentThread[key(result)] ?? taskvisorScale[key(result)]

const ratioText = (ratio: number): string =>
  Number.isFinite(ratio) ? `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×` : "–"

const noteOf = (row: Row): string => {
  const { result } = row
  const parts: Array<string> = []
  if (result.extra.expectedEvents !== undefined) {
    const eventsPerSecond = result.extra.events / (result.totalMs / 1000)
    const tv = taskvisorBatchEventsPerSecond[result.param]
    parts.push(
      `events ${result.extra.events}/${result.extra.expectedEvents}; ${formatValue("rate", eventsPerSecond)} events/s${
        tv === undefined ? "" : ` (taskvisor ${formatValue("rate", tv)})`
      }`
    )
  }
  if (result.extra.completed !== undefined) parts.push(`completed ${result.extra.completed}`)
  if (result.extra.listed !== undefined) parts.push(`listed ${result.extra.listed}`)
  if (result.extra.attempts !== undefined) {
    parts.push(
      `attempts ${result.extra.attempts}; ${formatValue("perOp", cost(result.kind, result.value.median))} µs/attempt`
    )
  }
  if (result.extra.maxLateMs !== undefined) {
    parts.push(
      `worst timer ${result.extra.maxLateMs.toFixed(1)} ms late; a 1 ms periodic task ticked ${
        result.extra.ticksPer100ms.toFixed(0)
      }×/100 ms`
    )
  }
  if (row.note !== undefined) parts.push(row.note)
  return parts.join("; ")
}

export const resultsTable = (rows: ReadonlyArray<Row>): string =>
  markdownTable(
    [
      "workload",
      "param",
      "median (min – max)",
      "unit",
      "time/sample",
      "n",
      "baseline (median)",
      "× baseline",
      "taskvisor CT",
      "× taskvisor",
      "notes"
    ],
    rows.map((row) => {
      const { baseline, result } = row
      const tv = taskvisorOf(result)
      return [
        result.id,
        result.param,
        formatStats(result.kind, result.value),
        result.unit,
        formatMs(result.totalMs),
        String(result.samples),
        baseline === undefined
          ? "–"
          : `${formatValue(baseline.kind, baseline.value.median)} ${baseline.unit} (${
            baseline.id.replace("baseline/", "")
          })`,
        baseline === undefined
          ? "–"
          : ratioText(costRatio(result.kind, result.value.median, baseline.kind, baseline.value.median)),
        tv === undefined ? "–" : `${formatValue(result.kind, tv)}`,
        tv === undefined ? "–" : ratioText(costRatio(result.kind, result.value.median, result.kind, tv)),
        noteOf(row)
      ]
    })
  )

export const memoryTable = (rows: ReadonlyArray<MemoryRow>): string =>
  markdownTable(
    [
      "parked tasks",
      "supervisor heap/task",
      "supervisor RSS/task",
      "bare fiber heap/task",
      "bare fiber RSS/task",
      "× heap",
      "× RSS",
      "taskvisor RSS/task",
      "park time sup / fibers"
    ],
    rows.map(({ fibers, supervisor }) => [
      supervisor.tasks.toLocaleString("en-US"),
      formatValue("bytes", supervisor.heapBytesPerTask),
      formatValue("bytes", supervisor.rssBytesPerTask),
      formatValue("bytes", fibers.heapBytesPerTask),
      formatValue("bytes", fibers.rssBytesPerTask),
      ratioText(supervisor.heapBytesPerTask / fibers.heapBytesPerTask),
      ratioText(supervisor.rssBytesPerTask / fibers.rssBytesPerTask),
      `${formatValue("bytes", taskvisorRssBytesPerParkedTask)} (run of 100k)`,
      `${formatMs(supervisor.parkMs)} / ${formatMs(fibers.parkMs)}`
    ])
  )

export const targetsTable = (targets: ReadonlyArray<Target>): string =>
  markdownTable(["target", "measured", "status"], targets.map((t) => [t.name, t.measured, t.pass ? "PASS" : "MISS"]))

export const metaOf = (
  command: string,
  loadBefore: ReadonlyArray<number>,
  totalSeconds: number
): Meta => ({
  date: new Date().toISOString(),
  command,
  node: process.version,
  cpu: `${os.cpus()[0]?.model ?? "unknown"} × ${os.cpus().length}`,
  nproc: os.availableParallelism(),
  memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  loadBefore,
  loadAfter: os.loadavg(),
  uptime: `${(os.uptime() / 3600).toFixed(1)} h`,
  totalSeconds
})

export const metaText = (meta: Meta): string => {
  const load = (l: ReadonlyArray<number>) => l.map((x) => x.toFixed(2)).join(", ")
  return [
    `- date: ${meta.date}`,
    `- command: \`${meta.command}\``,
    `- machine: ${meta.cpu} (nproc ${meta.nproc}), ${meta.memory} RAM, Node ${meta.node}, ${os.type()} ${os.release()}`,
    `- load average (1, 5, 15 min) before: ${load(meta.loadBefore)}; after: ${load(meta.loadAfter)}`,
    `- whole run: ${meta.totalSeconds.toFixed(0)} s`
  ].join("\n")
}

export const markdownReport = (
  meta: Meta,
  rows: ReadonlyArray<Row>,
  memory: ReadonlyArray<MemoryRow>,
  targets: ReadonlyArray<Target>
): string =>
  [
    metaText(meta),
    "",
    "### Targets",
    "",
    targetsTable(targets),
    "",
    "### Results",
    "",
    resultsTable(rows),
    "",
    "### Memory per parked task",
    "",
    memoryTable(memory)
  ].join("\n")

export const writeJson = (
  file: string,
  meta: Meta,
  rows: ReadonlyArray<Row>,
  memory: ReadonlyArray<MemoryRow>,
  targets: ReadonlyArray<Target>
): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const json = {
    meta,
    targets,
    results: rows.map(({ baseline, note, result }) => ({
      key: key(result),
      ...result,
      baseline: baseline === undefined
        ? undefined
        : { key: key(baseline), median: baseline.value.median, unit: baseline.unit },
      costRatioVsBaseline: baseline === undefined
        ? undefined
        : costRatio(result.kind, result.value.median, baseline.kind, baseline.value.median),
      taskvisorCurrentThread: taskvisorOf(result),
      note
    })),
    memory
  }
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`)
}

const START = "<!-- bench:start -->"
const END = "<!-- bench:end -->"

/** Replace the generated section of BENCHMARKS.md (between the bench markers) with `report`. */
export const updateMarkdown = (file: string, report: string): boolean => {
  if (!fs.existsSync(file)) return false
  const text = fs.readFileSync(file, "utf8")
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start < 0 || end < start) return false
  fs.writeFileSync(file, `${text.slice(0, start + START.length)}\n${report}\n${text.slice(end)}`)
  return true
}
