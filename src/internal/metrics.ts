/**
 * The supervisor's Effect `Metric`s, updated where the registry and the actors
 * decide (never from the event bus, which may drop), synchronously, through
 * hooks found once per task name rather than on every update.
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import type { TaskOutcome } from "./taskOutcome.js"

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
const slotsRunningKey = MetricKey.gauge("taskvisor_controller_slots_running", {
  description: "Controller slots whose owner runs (not being replaced)"
})
const slotsQueuedKey = MetricKey.gauge("taskvisor_controller_queued", {
  description: "Submissions waiting in controller slot queues"
})

export const attempts = Metric.fromMetricKey(attemptsKey)
export const restarts = Metric.fromMetricKey(restartsKey)
export const finished = Metric.fromMetricKey(finishedKey)
export const registered = Metric.fromMetricKey(registeredKey)
export const running = Metric.fromMetricKey(runningKey)
export const backingOff = Metric.fromMetricKey(backingOffKey)
export const attemptDuration = Metric.fromMetricKey(attemptDurationKey)
export const eventsDropped = Metric.fromMetricKey(eventsDroppedKey)
export const slotsRunning = Metric.fromMetricKey(slotsRunningKey)
export const slotsQueued = Metric.fromMetricKey(slotsQueuedKey)

/** The hook `key` with `labels` updates: the same one its metric, so labelled, reads. */
const hookOf = <Type extends MetricKeyType.MetricKeyType<any, any>>(
  key: MetricKey.MetricKey<Type>,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
) => Metric.globalMetricRegistry.get(labels.length === 0 ? key : MetricKey.taggedWithLabels(key, labels))

type Counter = MetricHook.MetricHook.Counter<number>
type Gauge = MetricHook.MetricHook.Gauge<number>

const outcomeLabels: { readonly [K in TaskOutcome<unknown>["_tag"]]: string } = {
  Completed: "completed",
  Failed: "failed",
  Fatal: "fatal",
  Canceled: "canceled",
  ForceAborted: "force_aborted",
  Rejected: "rejected"
}

/** The metrics of the tasks of one name, or of every task without the task label. */
export class TaskMetrics {
  private readonly restarts: Counter
  private readonly registered: Gauge
  private readonly running: Gauge
  private readonly backingOff: Gauge
  private readonly duration: MetricHook.MetricHook.Histogram
  /** The attempts by result, and the finished tasks by outcome, as they first occur. */
  private readonly results = new Map<string, Counter>()
  private readonly outcomes = new Map<string, Counter>()

  constructor(private readonly labels: ReadonlyArray<MetricLabel.MetricLabel>) {
    this.restarts = hookOf(restartsKey, labels)
    this.registered = hookOf(registeredKey, labels)
    this.running = hookOf(runningKey, labels)
    this.backingOff = hookOf(backingOffKey, labels)
    this.duration = hookOf(attemptDurationKey, labels)
  }

  /** The counter of `key` with these labels, then `label=value`. */
  private counter(
    hooks: Map<string, Counter>,
    key: MetricKey.MetricKey.Counter<number>,
    label: "result" | "outcome",
    value: string
  ): Counter {
    let hook = hooks.get(value)
    if (hook === undefined) {
      hook = hookOf(key, [...this.labels, MetricLabel.make(label, value)])
      hooks.set(value, hook)
    }
    return hook
  }

  /** A task of this name was registered. */
  added(): void {
    this.registered.modify(1)
  }

  started(attempt: number): void {
    if (attempt > 1) this.restarts.update(1)
  }

  ended(result: AttemptResult, millis: number): void {
    this.counter(this.results, attemptsKey, "result", result).update(1)
    this.duration.update(millis / 1000)
  }

  /** A task's phase changed, as far as the gauges count it. */
  moved(from: Counted, to: Counted): void {
    if (from === to) return
    if (from !== undefined) (from === "Running" ? this.running : this.backingOff).modify(-1)
    if (to !== undefined) (to === "Running" ? this.running : this.backingOff).modify(1)
  }

  finished(outcome: TaskOutcome<unknown>, last: Counted): void {
    this.moved(last, undefined)
    this.registered.modify(-1)
    this.counter(this.outcomes, finishedKey, "outcome", outcomeLabels[outcome._tag]).update(1)
  }
}

/** The metrics of each task name seen, process-wide as Effect's metric registry is. */
const byName = new Map<string, TaskMetrics>()

/** Every task's metrics when the task label is left out. */
let unlabelled: TaskMetrics | undefined

/** The metrics of the tasks named `name`: labelled with it, or not. */
export const metricsOf = (name: string, taskLabel: boolean): TaskMetrics => {
  if (!taskLabel) return unlabelled ??= new TaskMetrics([])
  let metrics = byName.get(name)
  if (metrics === undefined) {
    metrics = new TaskMetrics([MetricLabel.make("task", name)])
    byName.set(name, metrics)
  }
  return metrics
}

/** Counts the drops of one subscriber's queue. */
export const dropsOf = (subscriber: string): (count: number) => void => {
  const hook: Counter = hookOf(eventsDroppedKey, [MetricLabel.make("subscriber", subscriber)])
  return (count) => hook.update(count)
}

/** The controller's gauges, unlabelled. */
export const slotGauges: { readonly running: Gauge; readonly queued: Gauge } = {
  running: hookOf(slotsRunningKey, []),
  queued: hookOf(slotsQueuedKey, [])
}
