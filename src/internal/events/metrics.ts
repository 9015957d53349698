/** The supervisor's Effect metrics: their keys, and the per-task hooks the registry and the actors update. */
/**
 * The supervisor's Effect `Metric`s, updated where the registry and the actors
 * decide (never from the event bus, which may drop), synchronously, through
 * hooks found once per task name rather than on every update.
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import { names, type TaskOutcome } from "../data/taskOutcome.js"
import { hookOf } from "../effectInternals/metricRegistry.js"

/** How an attempt ended, as the `result` label of `attempts` says it. */
export type AttemptResult = "succeeded" | "failed" | "timed_out" | "stalled" | "canceled"

/** What the state gauges count: a task's phase, as far as they tell it. */
export type Counted = "Running" | "BackingOff" | undefined

const attemptsKey = MetricKey.counter("taskvisor_attempts_total", {
  description: "Attempts that ended, by result (succeeded, failed, timed_out, stalled, canceled)",
  incremental: true
})
const restartsKey = MetricKey.counter("taskvisor_restarts_total", {
  description: "Attempts started after a task's first one",
  incremental: true
})
const finishedKey = MetricKey.counter("taskvisor_tasks_finished_total", {
  description: "Tasks that reached their terminal outcome, by outcome",
  incremental: true
})
const registeredKey = MetricKey.gauge("taskvisor_tasks_registered", {
  description: "Tasks registered: added and not finished yet"
})
const runningKey = MetricKey.gauge("taskvisor_tasks_running", { description: "Tasks running an attempt" })
const backingOffKey = MetricKey.gauge("taskvisor_tasks_backing_off", {
  description: "Tasks waiting between attempts (backoff, restart interval or park)"
})
const attemptDurationKey = MetricKey.histogram(
  "taskvisor_attempt_duration_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 4, count: 12 }),
  "How long attempts ran, in seconds"
)
const eventsDroppedKey = MetricKey.counter("taskvisor_events_dropped_total", {
  description: "Events a subscriber's full queue dropped, by subscriber",
  incremental: true
})
const labelsFoldedKey = MetricKey.counter("taskvisor_task_labels_folded_total", {
  description: "Tasks counted under task=\"(other)\" because the task label's cap (metrics.maxTaskLabels) was reached",
  incremental: true
})
const slotsRunningKey = MetricKey.gauge("taskvisor_controller_slots_running", {
  description: "Controller slots whose owner runs (not being replaced)"
})
const slotsQueuedKey = MetricKey.gauge("taskvisor_controller_queued", {
  description: "Submissions waiting in controller slot queues"
})

const singletonUnownedKey = MetricKey.gauge("taskvisor_singleton_unowned", {
  description: "1 while a cluster singleton has run nowhere for longer than its unownedAfter, by singleton"
})
const singletonOwnedKey = MetricKey.gauge("taskvisor_singleton_owned", {
  description: "1 while this runner owns a cluster singleton, by singleton"
})
const singletonFencedKey = MetricKey.counter("taskvisor_singleton_fenced_total", {
  description: "Times an owner stopped a cluster singleton because it could not confirm its lease, by singleton",
  incremental: true
})

export const attempts = Metric.fromMetricKey(attemptsKey)
export const restarts = Metric.fromMetricKey(restartsKey)
export const finished = Metric.fromMetricKey(finishedKey)
export const registered = Metric.fromMetricKey(registeredKey)
export const running = Metric.fromMetricKey(runningKey)
export const backingOff = Metric.fromMetricKey(backingOffKey)
export const attemptDuration = Metric.fromMetricKey(attemptDurationKey)
export const eventsDropped = Metric.fromMetricKey(eventsDroppedKey)
export const labelsFolded = Metric.fromMetricKey(labelsFoldedKey)
export const slotsRunning = Metric.fromMetricKey(slotsRunningKey)
export const slotsQueued = Metric.fromMetricKey(slotsQueuedKey)
export const singletonUnowned = Metric.fromMetricKey(singletonUnownedKey)
export const singletonOwned = Metric.fromMetricKey(singletonOwnedKey)
export const singletonFenced = Metric.fromMetricKey(singletonFencedKey)

type Counter = MetricHook.MetricHook.Counter<number>
type Gauge = MetricHook.MetricHook.Gauge<number>

/** The counters of the tasks of one name (or of every task, without the task label), their hooks found on first use. */
export class Counters {
  private restartsHook: Counter | undefined = undefined
  private durationHook: MetricHook.MetricHook.Histogram | undefined = undefined
  private readonly results: { [R in AttemptResult]?: Counter } = {}
  private readonly outcomes: { [O in TaskOutcome<unknown>["_tag"]]?: Counter } = {}

  constructor(private readonly labels: ReadonlyArray<MetricLabel.MetricLabel>) {}

  get restarts(): Counter {
    return this.restartsHook ??= hookOf(restartsKey, this.labels)
  }

  get duration(): MetricHook.MetricHook.Histogram {
    return this.durationHook ??= hookOf(attemptDurationKey, this.labels)
  }

  result(result: AttemptResult): Counter {
    return this.results[result] ??= hookOf(attemptsKey, [...this.labels, MetricLabel.make("result", result)])
  }

  outcome(tag: TaskOutcome<unknown>["_tag"]): Counter {
    return this.outcomes[tag] ??= hookOf(finishedKey, [...this.labels, MetricLabel.make("outcome", names[tag])])
  }
}

/** The state gauges: supervisor-wide, never labelled (a gauge per task name would be 0 or 1). */
const registeredHook: Gauge = hookOf(registeredKey, [])
const runningHook: Gauge = hookOf(runningKey, [])
const backingOffHook: Gauge = hookOf(backingOffKey, [])
const foldedHook: Counter = hookOf(labelsFoldedKey, [])

/** The `task` label of the tasks whose names came past the cap. */
export const otherTasks = "(other)"

/** The counters of each task name given its own label, process-wide as Effect's metric registry is. */
const byName = new Map<string, Counters>()
/** The counters of the tasks past the cap, and of every task of a supervisor without the task label. */
let other: Counters | undefined
let unlabelled: Counters | undefined

/**
 * Where a supervisor's tasks count: the gauges, and the counters by task name
 * (at most `maxTaskLabels` names in the process, the others folded into
 * `task="(other)"` and counted) or unlabelled. A task finds its counters once,
 * when its first attempt ends (or it ends without one): nothing is kept per
 * name before.
 */
export class Recorder {
  constructor(private readonly taskLabel: boolean, private readonly maxTaskLabels: number) {}

  /** The counters the task named `name` counts under. */
  counters(name: string): Counters {
    if (!this.taskLabel) return unlabelled ??= new Counters([])
    const named = byName.get(name)
    if (named !== undefined) return named
    if (byName.size >= this.maxTaskLabels) {
      foldedHook.update(1)
      return other ??= new Counters([MetricLabel.make("task", otherTasks)])
    }
    const counters = new Counters([MetricLabel.make("task", name)])
    byName.set(name, counters)
    return counters
  }

  /** A task was registered. */
  added(): void {
    registeredHook.modify(1)
  }

  /** An attempt after the task's first started. */
  restarted(counters: Counters): void {
    counters.restarts.update(1)
  }

  ended(counters: Counters, result: AttemptResult, millis: number): void {
    counters.result(result).update(1)
    counters.duration.update(millis / 1000)
  }

  /** A task's phase changed, as far as the gauges count it. */
  moved(from: Counted, to: Counted): void {
    if (from === to) return
    if (from !== undefined) (from === "Running" ? runningHook : backingOffHook).modify(-1)
    if (to !== undefined) (to === "Running" ? runningHook : backingOffHook).modify(1)
  }

  finished(counters: Counters, outcome: TaskOutcome<unknown>, last: Counted): void {
    this.moved(last, undefined)
    registeredHook.modify(-1)
    counters.outcome(outcome._tag).update(1)
  }
}

/** The recorder of a supervisor's settings; `undefined` when its metrics are off. */
export const recorderOf = (
  settings: { readonly enabled: boolean; readonly taskLabel: boolean; readonly maxTaskLabels: number }
): Recorder | undefined => settings.enabled ? new Recorder(settings.taskLabel, settings.maxTaskLabels) : undefined

/** The drops of one subscriber's queue. */
export const dropsOf = (subscriber: string): Counter =>
  hookOf(eventsDroppedKey, [MetricLabel.make("subscriber", subscriber)])

/** The controller's gauges, unlabelled. */
export const slotGauges: { readonly running: Gauge; readonly queued: Gauge } = {
  running: hookOf(slotsRunningKey, []),
  queued: hookOf(slotsQueuedKey, [])
}
