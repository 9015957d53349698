/**
 * The supervisor's Effect metrics after scripted task histories: attempts by
 * result, restarts, outcomes, the state gauges, attempt durations, drops per
 * subscriber and the controller's slots; with the task label, without it, and
 * off. Effect's metrics are process-wide: each test names its tasks apart and
 * reads the unlabelled ones as differences.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorMetrics from "../src/SupervisorMetrics.js"
import * as TaskSpec from "../src/TaskSpec.js"
import type * as TaskSupervisor from "../src/TaskSupervisor.js"
import { recordingSupervisor, supervisorWithSubscribers } from "./utils/controller.js"
import { ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { recording, supervisorWith } from "./utils/recorder.js"
import { cycling, neverEnding, stubborn } from "./utils/tasks.js"

/** `metric` with the labels, in their order (the task first, as the supervisor writes them). */
const labelled = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, labels: Record<string, string>) =>
  Object.entries(labels).reduce((tagged, [key, value]) => Metric.tagged(tagged, key, value), metric)

/** A counter's count with the labels. */
const count = (metric: Metric.Metric.Counter<number>, labels: Record<string, string> = {}) =>
  Effect.map(Metric.value(labelled(metric, labels)), (state) => state.count)

/** A gauge's value with the labels. */
const gauge = (metric: Metric.Metric.Gauge<number>, labels: Record<string, string> = {}) =>
  Effect.map(Metric.value(labelled(metric, labels)), (state) => state.value)

/** The state gauges (supervisor-wide): registered, running, backing off. */
const gauges = () =>
  Effect.all([
    Effect.map(Metric.value(SupervisorMetrics.registered), (state) => state.value),
    Effect.map(Metric.value(SupervisorMetrics.running), (state) => state.value),
    Effect.map(Metric.value(SupervisorMetrics.backingOff), (state) => state.value)
  ])

/** Whether any metric of the supervisor's was ever updated with these labels. */
const seen = (labels: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs.some(({ metricKey }) =>
      metricKey.name.startsWith("taskvisor_") &&
      Object.entries(labels).every(([key, value]) => metricKey.tags.some((t) => t.key === key && t.value === value))
    ))

const second = BackoffPolicy.constant("1 second")

/** Run one task named `name` that succeeds at once, to its end. */
const runOnce = (supervisor: TaskSupervisor.TaskSupervisor["Type"], name: string) =>
  Effect.flatMap(supervisor.add(TaskSpec.once(name, Effect.void)), (handle) => handle.await)

describe("SupervisorMetrics", () => {
  it.scoped("a task's history: attempts by result, restarts, durations, its outcome and the state gauges", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const task = "metrics-history"
      // fails after 100 ms, times out at 1 s, fails after 100 ms, succeeds after 200 ms
      const { task: body } = yield* cycling([
        Effect.zipRight(Effect.sleep("100 millis"), Effect.fail("boom")),
        neverEnding,
        Effect.zipRight(Effect.sleep("100 millis"), Effect.fail("boom")),
        Effect.sleep("200 millis")
      ])
      const handle = yield* supervisor.add(
        TaskSpec.make(task, body).pipe(TaskSpec.withBackoff(second), TaskSpec.withTimeout("1 second"))
      )
      yield* settle
      assert.deepStrictEqual(yield* gauges(), [1, 1, 0], "running its first attempt")
      yield* advance("100 millis")
      assert.deepStrictEqual(yield* gauges(), [1, 0, 1], "backing off after its first failure")
      yield* advance("1 second")
      assert.deepStrictEqual(yield* gauges(), [1, 1, 0], "running its second attempt")
      yield* advance("1 second")
      yield* advance("1 second")
      yield* advance("100 millis")
      yield* advance("1 second")
      yield* advance("200 millis")
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      assert.deepStrictEqual(yield* gauges(), [0, 0, 0], "finished")

      const attempts = (result: string) => count(SupervisorMetrics.attempts, { task, result })
      assert.deepStrictEqual(
        yield* Effect.all([attempts("failed"), attempts("timed_out"), attempts("succeeded"), attempts("canceled")]),
        [2, 1, 1, 0]
      )
      assert.strictEqual(yield* count(SupervisorMetrics.restarts, { task }), 3)
      assert.strictEqual(yield* count(SupervisorMetrics.finished, { task, outcome: "completed" }), 1)
      const durations = yield* Metric.value(labelled(SupervisorMetrics.attemptDuration, { task }))
      assert.strictEqual(durations.count, 4)
      assert.closeTo(durations.sum, 0.1 + 1 + 0.1 + 0.2, 1e-9)
      // 0.1 s twice in the bucket up to 0.256 s, with the 0.2 s; 1 s in the one up to 1.024 s
      const bucket = (bound: number) => durations.buckets.find(([b]) => Math.abs(b - bound) < 1e-9)?.[1]
      assert.deepStrictEqual([bucket(0.064), bucket(0.256), bucket(1.024)], [0, 3, 4])
    }))

  it.scoped("a stalled attempt, a stop and a force-abort are counted by their result and outcome", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "1 second" })
      const stalled = "metrics-stalled"
      yield* supervisor.add(
        TaskSpec.restartable(stalled, neverEnding).pipe(
          TaskSpec.withWatchdog("2 seconds"),
          TaskSpec.withBackoff(second)
        )
      )
      const stopped = yield* supervisor.add(TaskSpec.make("metrics-stopped", neverEnding))
      const stuck = yield* supervisor.add(TaskSpec.make("metrics-stuck", stubborn))
      yield* advance("2 seconds")
      assert.strictEqual(yield* count(SupervisorMetrics.attempts, { task: stalled, result: "stalled" }), 1)
      assert.strictEqual(yield* gauge(SupervisorMetrics.backingOff), 1)

      yield* supervisor.cancel(stopped.id)
      const aborting = yield* Effect.fork(supervisor.cancel(stuck.id))
      yield* advance("1 second")
      yield* Fiber.join(aborting)
      const canceled = { task: "metrics-stopped", result: "canceled" }
      assert.strictEqual(yield* count(SupervisorMetrics.attempts, canceled), 1)
      assert.strictEqual(
        yield* count(SupervisorMetrics.finished, { task: "metrics-stopped", outcome: "canceled" }),
        1
      )
      assert.strictEqual(
        yield* count(SupervisorMetrics.finished, { task: "metrics-stuck", outcome: "force_aborted" }),
        1
      )
      // left: the stalled task, running again; the force-aborted one counts nowhere, though its attempt never ended
      assert.deepStrictEqual(yield* gauges(), [1, 1, 0])
    }))

  it.scoped("without the task label every task counts under the same unlabelled metrics", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ metrics: { taskLabel: false } })
      const failedBefore = yield* count(SupervisorMetrics.attempts, { result: "failed" })
      const registeredBefore = yield* gauge(SupervisorMetrics.registered)
      const { task: body } = yield* cycling([Effect.fail("boom"), neverEnding])
      yield* supervisor.add(TaskSpec.make("unlabelled-a", body).pipe(TaskSpec.withBackoff(second)))
      yield* supervisor.add(TaskSpec.make("unlabelled-b", neverEnding))
      yield* settle
      assert.strictEqual((yield* count(SupervisorMetrics.attempts, { result: "failed" })) - failedBefore, 1)
      assert.strictEqual((yield* gauge(SupervisorMetrics.registered)) - registeredBefore, 2)
      assert.isFalse(yield* seen({ task: "unlabelled-b" }))
      yield* supervisor.shutdown
      assert.strictEqual((yield* gauge(SupervisorMetrics.registered)) - registeredBefore, 0)
    }))

  it.scoped("a task name has no labelled metric until its first attempt ends", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.make("metrics-parked-name", neverEnding))
      yield* settle
      assert.deepStrictEqual(yield* gauges(), [1, 1, 0])
      assert.isFalse(yield* seen({ task: "metrics-parked-name" }))
      yield* supervisor.remove("metrics-parked-name")
      yield* settle
      assert.isTrue(yield* seen({ task: "metrics-parked-name" }))
    }))

  it.scoped("past maxTaskLabels names in the process, tasks count under task=\"(other)\" and the fold is counted", () =>
    Effect.gen(function*() {
      // a name that has its label already keeps it; with a cap of 0, every other name is folded
      const { supervisor: roomy } = yield* supervisorWith()
      yield* runOnce(roomy, "metrics-labelled-first")
      const { supervisor } = yield* supervisorWith({ metrics: { maxTaskLabels: 0 } })
      const other = { task: "(other)", result: "succeeded" }
      const [otherBefore, foldsBefore] = [
        yield* count(SupervisorMetrics.attempts, other),
        yield* count(SupervisorMetrics.labelsFolded)
      ]
      for (const name of ["metrics-folded-a", "metrics-folded-b", "metrics-labelled-first"]) {
        yield* runOnce(supervisor, name)
      }
      assert.strictEqual((yield* count(SupervisorMetrics.attempts, other)) - otherBefore, 2)
      assert.strictEqual((yield* count(SupervisorMetrics.labelsFolded)) - foldsBefore, 2, "once per task folded")
      assert.strictEqual(
        yield* count(SupervisorMetrics.attempts, { task: "metrics-labelled-first", result: "succeeded" }),
        2
      )
      assert.isFalse(yield* seen({ task: "metrics-folded-a" }))
      assert.strictEqual(
        (yield* Effect.flip(SupervisorConfig.make({ metrics: { maxTaskLabels: 1.5 } }))).field,
        "metrics.maxTaskLabels"
      )
    }))

  it.scoped("metrics off: nothing is counted", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ metrics: { enabled: false, taskLabel: false } })
      const before = yield* Metric.snapshot
      yield* supervisor.add(TaskSpec.make("metrics-off", Effect.fail("boom")).pipe(TaskSpec.withBackoff(second)))
      yield* advance("3 seconds")
      yield* supervisor.shutdown
      assert.isFalse(yield* seen({ task: "metrics-off" }))
      const after = yield* Metric.snapshot
      const ours = (pairs: typeof before) =>
        pairs.filter((p) => p.metricKey.name.startsWith("taskvisor_")).map((p) => JSON.stringify(p.metricState))
      assert.deepStrictEqual(ours(after), ours(before))
    }))

  it.scoped("events a full subscriber queue drops are counted by subscriber", () =>
    Effect.gen(function*() {
      const slow = Subscriber.make({ name: "metrics-slow", capacity: 1, onEvent: () => Effect.never })
      const recorder = recording()
      const supervisor = yield* supervisorWithSubscribers({ subscriberShutdownTimeout: 0 }, [slow, recorder.subscriber])
      for (let i = 0; i < 5; i++) yield* supervisor.add(TaskSpec.make(`metrics-drop-${i}`, neverEnding))
      yield* settle
      const dropped = yield* count(SupervisorMetrics.eventsDropped, { subscriber: "metrics-slow" })
      // at most the one event in hand and one waiting got through, of 3 per task
      assert.isAtLeast(dropped, 13)
      const reported = ofTag(recorder.events, "SubscriberOverflow").filter((e) => e.subscriber === "metrics-slow")
      assert.strictEqual(dropped, reported[reported.length - 1].dropped, "as many as the overflow events report")
      assert.strictEqual(yield* count(SupervisorMetrics.eventsDropped, { subscriber: "recorder" }), 0)
    }))

  it.scoped("controller slots: running owners and queued submissions", () =>
    Effect.gen(function*() {
      const { controller } = yield* supervisorWith({ controller: {} })
      const running = () => gauge(SupervisorMetrics.slotsRunning)
      const queued = () => gauge(SupervisorMetrics.slotsQueued)
      const [running0, queued0] = [yield* running(), yield* queued()]
      const job = (name: string) => TaskSpec.once(name, Effect.sleep("1 second"))
      yield* controller.submit(ControllerSpec.queue(job("metrics-slot")).pipe(ControllerSpec.withSlot("s")))
      yield* controller.submit(ControllerSpec.queue(job("metrics-slot-2")).pipe(ControllerSpec.withSlot("s")))
      yield* controller.submit(ControllerSpec.queue(job("metrics-slot-3")).pipe(ControllerSpec.withSlot("t")))
      yield* settle
      assert.deepStrictEqual([(yield* running()) - running0, (yield* queued()) - queued0], [2, 1])
      yield* advance("1 second")
      assert.deepStrictEqual([(yield* running()) - running0, (yield* queued()) - queued0], [1, 0])
      yield* advance("1 second")
      assert.deepStrictEqual([(yield* running()) - running0, (yield* queued()) - queued0], [0, 0])
    }))

  it.effect("a bad metrics setting is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SupervisorConfig.make({ metrics: { enabled: "yes" as unknown as boolean } }))
      assert.strictEqual(error.field, "metrics.enabled")
    }))
})
