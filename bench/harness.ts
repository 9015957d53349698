/**
 * Timing, statistics, tables and the JSON report shared by every benchmark.
 *
 * A sample is one `Effect` that measures its own timed region with
 * `performance.now()` (setup and teardown stay outside it) and reports how
 * long that region took and how many units (tasks, operations) it covered.
 */
import * as Effect from "effect/Effect"

/** What one sample measured. */
export interface Sample {
  /** Wall-clock milliseconds spent in the timed region. */
  readonly ms: number
  /** Units the timed region covered (tasks, adds, submits, attempts…). */
  readonly units: number
  /** Anything else the sample checked, e.g. events delivered. */
  readonly extra?: Readonly<Record<string, number>> | undefined
}

/**
 * How a result is read: `perOp` is µs per unit (lower is better), `rate` is
 * units per second (higher is better), `bytes` is bytes per unit.
 */
export type Kind = "perOp" | "rate" | "bytes"

export interface Workload {
  readonly id: string
  readonly param: string
  readonly kind: Kind
  /** How the unit is printed, e.g. "µs/run", "tasks/s". */
  readonly unit: string
  readonly sample: Effect.Effect<Sample, unknown>
  readonly samples?: number | undefined
  /** Warm-up samples, at least this many (default 3)… */
  readonly warmup?: number | undefined
  /** …and until this many milliseconds were spent warming up (default 300), so the JIT has compiled the hot paths. */
  readonly warmupMs?: number | undefined
  /** Stop sampling early (after at least 3 samples) once this many seconds were spent. */
  readonly budgetSeconds?: number | undefined
}

export interface Stats {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface Result {
  readonly id: string
  readonly param: string
  readonly kind: Kind
  readonly unit: string
  readonly samples: number
  /** Median, min and max of the reported figure (per-op µs, rate, or bytes). */
  readonly value: Stats
  /** Median time of the timed region in ms. */
  readonly totalMs: number
  /** Medians of each `extra` figure. */
  readonly extra: Readonly<Record<string, number>>
  readonly raw: ReadonlyArray<Sample>
}

export const DEFAULT_SAMPLES = 30
export const DEFAULT_WARMUP = 3
export const DEFAULT_WARMUP_MS = 300
/** Never more warm-up samples than this, whatever the time. */
const MAX_WARMUP = 5000

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const stats = (values: ReadonlyArray<number>): Stats => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values)
})

/** The figure a sample contributes for its kind. */
export const figure = (kind: Kind, sample: Sample): number => {
  switch (kind) {
    case "perOp":
      return (sample.ms * 1000) / sample.units
    case "rate":
      return sample.units / (sample.ms / 1000)
    case "bytes":
      return sample.extra?.bytes ?? Number.NaN
  }
}

/** Wrap `body` so the sample reports the milliseconds spent in it. */
export const timed = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<readonly [number, A], E, R> =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(body, (a) => [performance.now() - start, a] as const)
  })

const warm = async (workload: Workload): Promise<void> => {
  const warmup = workload.warmup ?? DEFAULT_WARMUP
  const warmupMs = workload.warmupMs ?? DEFAULT_WARMUP_MS
  const warming = performance.now()
  for (let i = 0; i < MAX_WARMUP && (i < warmup || performance.now() - warming < warmupMs); i++) {
    await Effect.runPromise(workload.sample)
  }
}

const summarize = (workload: Workload, raw: ReadonlyArray<Sample>): Result => {
  const extraKeys = new Set(raw.flatMap((s) => Object.keys(s.extra ?? {})))
  const extra: Record<string, number> = {}
  for (const key of extraKeys) extra[key] = median(raw.map((s) => s.extra?.[key] ?? Number.NaN))
  return {
    id: workload.id,
    param: workload.param,
    kind: workload.kind,
    unit: workload.unit,
    samples: raw.length,
    value: stats(raw.map((s) => figure(workload.kind, s))),
    totalMs: median(raw.map((s) => s.ms)),
    extra,
    raw
  }
}

/**
 * A result of figures measured outside `measure` (across processes, say), one a sample, each read as the kind
 * reads it and printed in the workload's unit (`perOp` figures may be in any lower-is-better unit, such as ms);
 * `msPerSample` is how long a sample took.
 */
export const resultOfFigures = (
  workload: Pick<Workload, "id" | "param" | "kind" | "unit">,
  figures: ReadonlyArray<number>,
  msPerSample: ReadonlyArray<number>,
  extra: Readonly<Record<string, number>> = {}
): Result => ({
  id: workload.id,
  param: workload.param,
  kind: workload.kind,
  unit: workload.unit,
  samples: figures.length,
  value: stats(figures),
  totalMs: median(msPerSample),
  extra,
  raw: figures.map((figure, i) => ({ ms: msPerSample[i], units: 1, extra: { figure } }))
})

/** Run a workload's warm-up and measured samples, one `Effect.runPromise` each. */
export const measure = async (workload: Workload): Promise<Result> => {
  const samples = workload.samples ?? DEFAULT_SAMPLES
  const budgetMs = (workload.budgetSeconds ?? Number.POSITIVE_INFINITY) * 1000
  await warm(workload)
  const raw: Array<Sample> = []
  const began = performance.now()
  for (let i = 0; i < samples; i++) {
    raw.push(await Effect.runPromise(workload.sample))
    if (raw.length >= 3 && performance.now() - began > budgetMs) break
  }
  return summarize(workload, raw)
}

/**
 * Measure two workloads with interleaved samples (a b, b a, a b, …), so that a
 * change of machine load during the run hits both alike: for A/B checks.
 */
export const measurePair = async (a: Workload, b: Workload): Promise<readonly [Result, Result]> => {
  const samples = Math.max(a.samples ?? DEFAULT_SAMPLES, b.samples ?? DEFAULT_SAMPLES)
  await warm(a)
  await warm(b)
  const rawA: Array<Sample> = []
  const rawB: Array<Sample> = []
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      rawA.push(await Effect.runPromise(a.sample))
      rawB.push(await Effect.runPromise(b.sample))
    } else {
      rawB.push(await Effect.runPromise(b.sample))
      rawA.push(await Effect.runPromise(a.sample))
    }
  }
  return [summarize(a, rawA), summarize(b, rawB)]
}

/** Numbers printed with 3 significant digits (µs), thousands separators (rates) or KB (bytes). */
export const formatValue = (kind: Kind, value: number): string => {
  if (!Number.isFinite(value)) return "–"
  switch (kind) {
    case "perOp":
      return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)
    case "rate":
      return Math.round(value).toLocaleString("en-US")
    case "bytes":
      return `${(value / 1024).toFixed(2)} KB`
  }
}

export const formatStats = (kind: Kind, s: Stats): string =>
  `${formatValue(kind, s.median)} (${formatValue(kind, s.min)} – ${formatValue(kind, s.max)})`

export const formatMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`

/** A GitHub-flavoured markdown table; it reads fine in a terminal too. */
export const markdownTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/** Print progress to stderr so stdout carries only the report. */
export const progress = (message: string): void => {
  process.stderr.write(`${message}\n`)
}
