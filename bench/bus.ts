/**
 * The shipped event bus against the `PubSub` one (`bench/pubsubBus.ts`) on the rows where
 * subscribers listen, in one process: each row's samples alternate between a supervisor built on
 * either bus (a b, b a, …). Prints a markdown table to stdout.
 *
 * `npm run build && node --expose-gc --import tsx bench/bus.ts [--filter <text>] [--samples <n>]`
 */
import * as Effect from "effect/Effect"
import { register } from "node:module"
import * as os from "node:os"
import type { Choice } from "./busSwitch.js"
import type { Result, Sample, Workload } from "./harness.js"

// before the library loads: its supervisor then imports its bus through bench/busSwitch.ts
register("./busHook.mjs", import.meta.url)

const { built, choice } = await import("./busSwitch.js")
const { formatStats, markdownTable, measurePair, progress } = await import("./harness.js")
const { costRatio, key } = await import("./report.js")
const { slowSubscriberWorkloads, supervisorWorkloads } = await import("./workloads.js")

const args = process.argv.slice(2)
const filterIndex = args.indexOf("--filter")
const filter = filterIndex >= 0 ? args[filterIndex + 1] ?? "" : ""
const samplesIndex = args.indexOf("--samples")
/** Samples per side of each row, instead of the row's own. */
const samples = samplesIndex >= 0 ? Number(args[samplesIndex + 1]) : undefined

/** The rows with subscribers (and `fanout/subs/100t_0s`, without: both sides the same, the noise floor). */
const rows = [
  ...supervisorWorkloads.filter((w) => w.id === "throughput/batch" || w.id === "fanout/subs"),
  ...slowSubscriberWorkloads
].filter((w) => key(w).includes(filter))

const on = (workload: Workload, bus: Choice): Workload => ({
  ...workload,
  samples: samples ?? workload.samples,
  sample: Effect.suspend(() => {
    ;(globalThis as { [choice]?: Choice })[choice] = bus
    return workload.sample
  })
})

/** Cost of a sample per unit. */
const cost = (sample: Sample) => sample.ms / sample.units
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]
/** Whether every sample that counts events saw them all. */
const complete = (result: Result) =>
  result.raw.every((s) => s.extra?.events === undefined || s.extra.events === s.extra.expectedEvents)

const loadBefore = os.loadavg()
const lines: Array<Array<string>> = []
for (const workload of rows) {
  const [shipped, pubsub] = await measurePair(on(workload, "shipped"), on(workload, "pubsub"))
  const ratio = costRatio(pubsub.kind, pubsub.value.median, shipped.kind, shipped.value.median)
  // the best sample of each side (least disturbed by other processes), and the median of the
  // ratios of the samples taken one right after the other
  const best = costRatio(pubsub.kind, pubsub.value.max, shipped.kind, shipped.value.max)
  const paired = median(pubsub.raw.map((s, i) => cost(s) / cost(shipped.raw[i])))
  progress(`  ${key(workload)}: ${ratio.toFixed(3)}× (best ${best.toFixed(3)}×, paired ${paired.toFixed(3)}×)`)
  lines.push([
    key(workload),
    formatStats(shipped.kind, shipped.value),
    formatStats(pubsub.kind, pubsub.value),
    `${ratio.toFixed(2)}×`,
    `${best.toFixed(2)}×`,
    `${paired.toFixed(2)}×`,
    complete(shipped) && complete(pubsub) ? "yes" : "NO"
  ])
}
if (rows.length > 0 && (built.shipped === 0 || built.pubsub === 0)) {
  throw new Error(`the bus switch did not take (built: ${JSON.stringify(built)}): see bench/busHook.mjs`)
}
process.stdout.write(
  `${
    markdownTable(
      [
        "row",
        `shipped bus (${rows[0]?.unit ?? ""}, median (min – max))`,
        "PubSub bus",
        "PubSub cost: medians",
        "best samples",
        "paired samples",
        "all events"
      ],
      lines
    )
  }\n\nsupervisors built on the shipped bus: ${built.shipped}, on the PubSub bus: ${built.pubsub}; load before: ${
    loadBefore.map((l) => l.toFixed(2)).join(" ")
  }, after: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`
)
process.exit(0)
