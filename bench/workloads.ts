/**
 * The supervisor workloads of taskvisor's benches (see
 * `reference/taskvisor-bench.md` §2.2), with the same parameters, task bodies
 * and timed regions, plus the slow-subscriber check.
 *
 * Every sample builds a fresh supervisor with `TaskSupervisor.make` inside
 * `Effect.scoped`; building specs and subscribers, and closing the scope,
 * stay outside the timed region.
 */
import {
  BackoffPolicy,
  Controller,
  ControllerSpec,
  Subscriber,
  SupervisorConfig,
  TaskSpec,
  TaskSupervisor
} from "effect-taskvisor"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Sample, Workload } from "./harness.js"
import { timed } from "./harness.js"

export type Supervisor = TaskSupervisor.TaskSupervisor["Type"]

/** A supervisor's settings, and the controller's when the workload needs one. */
export interface Settings extends SupervisorConfig.Input {
  readonly controller?: Controller.Options | undefined
}

/** taskvisor's `bench_config()`: busCapacity 16384, grace 5 s, everything else default. */
export const benchInput: SupervisorConfig.Input = { busCapacity: 16384, grace: "5 seconds" }

export const settingsOf = (input: Settings): Settings => ({ ...benchInput, ...input })

const benchSettings = settingsOf({})
const controllerSettings = settingsOf({ controller: {} })

// ---------------------------------------------------------------------------
// task bodies

/** Written by the work task so its loop cannot be optimised away (`black_box`). */
export let sink = 0

/** `async { Ok(()) }` */
export const instant: Effect.Effect<void> = Effect.void

/** A synchronous loop `x = (x + i) | 0` that never yields. */
export const work = (iters: number): Effect.Effect<void> =>
  Effect.sync(() => {
    let x = 0
    for (let i = 0; i < iters; i++) x = (x + i) | 0
    sink ^= x
  })

/** Parks until interrupted. */
export const worker: Effect.Effect<never> = Effect.never

/** Sleeps 5 ms (interruption ends it early). */
export const short: Effect.Effect<void> = Effect.sleep("5 millis")

// ---------------------------------------------------------------------------
// subscribers (taskvisor: CountingSubscriber, NoopSubscriber, capacity 16384)

export const counting = () => {
  const state = { count: 0 }
  const subscriber = Subscriber.make({
    name: "counting",
    capacity: 16384,
    onEvent: () =>
      Effect.sync(() => {
        state.count++
      })
  })
  return { state, subscriber }
}

export const noop = (index: number): Subscriber.Subscriber =>
  Subscriber.make({ name: `s${index}`, capacity: 16384, onEvent: () => Effect.void })

/** A subscriber whose every `onEvent` takes a second (it suspends; it does not hog the thread). */
export const slow: Subscriber.Subscriber = Subscriber.make({
  name: "slow",
  capacity: 16384,
  onEvent: () => Effect.sleep("1 second")
})

// ---------------------------------------------------------------------------
// helpers

/** A supervisor with `settings` and `subscribers`, as its layer builds it. */
const supervisorLayer = (settings: SupervisorConfig.Input, subscribers: ReadonlyArray<Subscriber.Subscriber>) =>
  TaskSupervisor.layer.pipe(
    Layer.provide(Subscriber.layer(...subscribers)),
    Layer.provide(SupervisorConfig.layer(settings))
  )

/** A supervisor with `settings` and `subscribers`, built into `scope`: closing the scope shuts it down. */
export const supervisorIn = (
  settings: SupervisorConfig.Input,
  scope: Scope.Scope,
  subscribers: ReadonlyArray<Subscriber.Subscriber> = []
): Effect.Effect<Supervisor> =>
  Effect.map(
    Effect.orDie(Layer.buildWithScope(supervisorLayer(settings, subscribers), scope)),
    (context) => Context.get(context, TaskSupervisor.TaskSupervisor)
  )

/** Build a fresh supervisor with `settings` and `subscribers`, use it, then close its scope. */
export const withSupervisor = <A, E>(
  settings: SupervisorConfig.Input,
  subscribers: ReadonlyArray<Subscriber.Subscriber>,
  use: (supervisor: Supervisor) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E> =>
  Effect.scoped(
    Effect.flatMap(Effect.flatMap(Effect.scope, (scope) => supervisorIn(settings, scope, subscribers)), use)
  )

/** `withSupervisor` with a controller over the supervisor. */
const withController = <A, E>(
  { controller, ...settings }: Settings,
  use: (supervisor: Supervisor, controller: Controller.Controller["Type"]) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E> =>
  Effect.scoped(
    Effect.flatMap(
      Effect.orDie(Layer.build(Controller.layer(controller).pipe(Layer.provideMerge(supervisorLayer(settings, []))))),
      (context) => use(Context.get(context, TaskSupervisor.TaskSupervisor), Context.get(context, Controller.Controller))
    )
  )

const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

const onceAll = (prefix: string, n: number, body: Effect.Effect<unknown>) =>
  range(n).map((i) => TaskSpec.once(`${prefix}-${i}`, body))

/** Run `op` once per element, timing each call, and return the summed milliseconds. */
const timeEach = <A, X, E>(items: ReadonlyArray<A>, op: (a: A) => Effect.Effect<X, E>): Effect.Effect<number, E> =>
  Effect.gen(function*() {
    let total = 0
    for (const item of items) {
      const start = performance.now()
      yield* op(item)
      total += performance.now() - start
    }
    return total
  })

/** Wait until the task named `name` runs an attempt (tasks start in order, so the last one tells). */
export const awaitAlive = (supervisor: Supervisor, name: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (!(yield* supervisor.isAlive(name))) yield* Effect.sleep("1 millis")
  })

// ---------------------------------------------------------------------------
// workloads

const lifecycle = (param: string, body: Effect.Effect<void>): Workload => ({
  id: param === "instant" ? "lifecycle/instant" : "lifecycle/with_work",
  param,
  kind: "perOp",
  unit: "µs/run",
  samples: 50,
  sample: Effect.suspend(() => {
    const task = TaskSpec.once("lc-0", body)
    return withSupervisor(
      benchSettings,
      [],
      (sup) => Effect.map(timed(sup.run([task])), ([ms]): Sample => ({ ms, units: 1 }))
    )
  })
})

const batch = (n: number): Workload => ({
  id: "throughput/batch",
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  sample: Effect.suspend(() => {
    const tasks = onceAll("t", n, instant)
    const { state, subscriber } = counting()
    return withSupervisor(benchSettings, [subscriber], (sup) =>
      Effect.map(timed(sup.run(tasks)), ([ms]): Sample => ({
        ms,
        units: n,
        // run() drains the subscriber queues before it returns
        extra: { events: state.count, expectedEvents: 6 * n + 1 }
      })))
  })
})

/** The same batch without a subscriber: the core-vs-core figure behind the "≤ 3× bare fibers" target. */
export const batchNoSub = (n: number, settings: Settings = benchSettings): Workload => ({
  id: "throughput/batch_nosub",
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  samples: n >= 10_000 ? 10 : undefined,
  sample: Effect.suspend(() => {
    const tasks = onceAll("t", n, instant)
    return withSupervisor(
      settings,
      [],
      (sup) => Effect.map(timed(sup.run(tasks)), ([ms]): Sample => ({ ms, units: n }))
    )
  })
})

const batchWork = (n: number): Workload => ({
  id: "throughput/batch_work",
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  sample: Effect.suspend(() => {
    const tasks = onceAll("w", n, work(1000))
    return withSupervisor(
      benchSettings,
      [],
      (sup) => Effect.map(timed(sup.run(tasks)), ([ms]): Sample => ({ ms, units: n }))
    )
  })
})

const fanout = (subs: number): Workload => ({
  id: "fanout/subs",
  param: `100t_${subs}s`,
  kind: "rate",
  unit: "tasks/s",
  sample: Effect.suspend(() => {
    const tasks = onceAll("fo", 100, instant)
    return withSupervisor(
      benchSettings,
      range(subs).map(noop),
      (sup) => Effect.map(timed(sup.run(tasks)), ([ms]): Sample => ({ ms, units: 100 }))
    )
  })
})

const dynamicAdd = (settings: Settings = benchSettings): Workload => ({
  id: "dynamic/add",
  param: "1000 adds",
  kind: "perOp",
  unit: "µs/add",
  sample: Effect.suspend(() => {
    const tasks = onceAll("a", 1000, instant)
    return withSupervisor(settings, [], (sup) =>
      Effect.gen(function*() {
        const ms = yield* timeEach(tasks, sup.add)
        yield* sup.awaitEmpty
        return { ms, units: tasks.length }
      }))
  })
})

const dynamicAddCancel: Workload = {
  id: "dynamic/add_cancel",
  param: "1000 ops",
  kind: "perOp",
  unit: "µs/op",
  sample: Effect.suspend(() => {
    const tasks = onceAll("ac", 1000, worker)
    return withSupervisor(benchSettings, [], (sup) =>
      Effect.map(
        timeEach(tasks, (task) => Effect.flatMap(sup.add(task), (handle) => sup.cancel(handle.id))),
        (ms): Sample => ({ ms, units: tasks.length })
      ))
  })
}

const dynamicList = (n: number): Workload => ({
  id: "dynamic/list",
  param: `${n}_tasks`,
  kind: "perOp",
  unit: "µs/list",
  sample: Effect.suspend(() => {
    const tasks = onceAll("w", n, worker)
    return withSupervisor(benchSettings, [], (sup) =>
      Effect.gen(function*() {
        for (const task of tasks) yield* sup.add(task)
        yield* awaitAlive(sup, `w-${n - 1}`)
        let listed = 0
        const ms = yield* timeEach(range(1000), () =>
          Effect.map(sup.list, (infos) => {
            listed = infos.length
          }))
        return { ms, units: 1000, extra: { listed } }
      }))
  })
})

const dynamicChurn = (n: number): Workload => ({
  id: "dynamic/churn",
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  sample: Effect.suspend(() => {
    const tasks = onceAll("ch", n, worker)
    return withSupervisor(benchSettings, [], (sup) =>
      Effect.map(
        timed(Effect.zipRight(Effect.forEach(tasks, sup.add, { discard: true }), sup.shutdown)),
        ([ms]): Sample => ({ ms, units: n })
      ))
  })
})

/** Submit every spec with `submitAndWatch`, then wait for every outcome; tasks/s. */
const controllerAll = (id: string, param: number, specs: () => ReadonlyArray<ControllerSpec.ControllerSpec>) => ({
  id,
  param: String(param),
  kind: "rate" as const,
  unit: "tasks/s",
  sample: Effect.suspend(() => {
    const submissions = specs()
    return withController(controllerSettings, (_, controller) =>
      Effect.map(
        timed(
          Effect.flatMap(
            Effect.forEach(submissions, controller.submitAndWatch),
            (handles) => Effect.forEach(handles, (handle) => handle.await)
          )
        ),
        ([ms, outcomes]): Sample => ({
          ms,
          units: submissions.length,
          extra: { completed: outcomes.filter((o) => o._tag === "Completed").length }
        })
      ))
  })
})

const controllerQueue = (n: number): Workload =>
  controllerAll(
    "controller/queue",
    n,
    () =>
      range(n).map((i) =>
        ControllerSpec.queue(TaskSpec.once(`q-${i}`, instant)).pipe(ControllerSpec.withSlot("slot-q"))
      )
  )

const controllerMultiSlot = (n: number): Workload =>
  controllerAll(
    "controller/multi_slot",
    n,
    () =>
      range(n).map((i) =>
        ControllerSpec.queue(TaskSpec.once(`ms-${i}`, instant)).pipe(ControllerSpec.withSlot(`slot-${i % 8}`))
      )
  )

/** N submits timed as one loop, then (untimed) the scope closes; µs per submit. */
const controllerSubmits = (
  id: string,
  param: number,
  settings: Settings,
  specs: () => ReadonlyArray<ControllerSpec.ControllerSpec>
): Workload => ({
  id,
  param: String(param),
  kind: "perOp",
  unit: "µs/submit",
  sample: Effect.suspend(() => {
    const submissions = specs()
    return withController(settings, (_, controller) =>
      Effect.map(
        timed(Effect.forEach(submissions, controller.submit, { discard: true })),
        ([ms]): Sample => ({ ms, units: submissions.length })
      ))
  })
})

const controllerReplace = (n: number): Workload =>
  controllerSubmits(
    "controller/replace",
    n,
    controllerSettings,
    () =>
      range(n).map((i) =>
        ControllerSpec.replace(TaskSpec.once(`r-${i}`, short)).pipe(ControllerSpec.withSlot("slot-r"))
      )
  )

const controllerDropIfRunning = (n: number): Workload =>
  controllerSubmits(
    "controller/drop_if_running",
    n,
    controllerSettings,
    () =>
      range(n).map((i) =>
        ControllerSpec.dropIfRunning(TaskSpec.once(`d-${i}`, short)).pipe(ControllerSpec.withSlot("slot-d"))
      )
  )

const controllerHotpath = (n: number): Workload => {
  const template = TaskSpec.once("slot-h", instant)
  return controllerSubmits(
    "controller/submit_hotpath",
    n,
    settingsOf({ controller: { queueCapacity: Math.max(n, 1024) } }),
    () => range(n).map(() => ControllerSpec.dropIfRunning(template))
  )
}

// ---------------------------------------------------------------------------
// restart throughput (the hand-written loop is in baselines.ts)

/** Attempts of a task that fails at once, restarted with zero backoff `k` times: attempts/s. */
export const restartSupervised = (k: number, settings: Settings = benchSettings): Workload => ({
  id: "restart/supervised",
  param: `${k}_retries`,
  kind: "rate",
  unit: "attempts/s",
  samples: 10,
  warmup: 2,
  budgetSeconds: 20,
  sample: Effect.suspend(() => {
    const state = { attempts: 0 }
    const failing = Effect.suspend(() => {
      state.attempts++
      return Effect.fail("boom")
    })
    const task = TaskSpec.restartable("rs", failing, { backoff: BackoffPolicy.constant(0) }).pipe(
      TaskSpec.withMaxRetries(k)
    )
    return withSupervisor(settings, [], (sup) =>
      Effect.map(timed(sup.run([task])), ([ms]): Sample => ({
        ms,
        units: state.attempts,
        extra: { attempts: state.attempts }
      })))
  })
})

/**
 * The cost of the supervisor's metrics: `row` (the restart row, or a batch) with them on, as by default, or off.
 * The pair of the two is measured in one run.
 */
export const metricsCost = (row: "restart" | "batch" | "add", enabled: boolean, size: number): Workload => {
  // every task name its own label (none folded into "(other)"), the most metric work an attempt can cost
  const settings = settingsOf({ metrics: { enabled, maxTaskLabels: 1_000_000 } })
  const workload = row === "restart"
    ? restartSupervised(size, settings)
    : row === "batch"
    ? batchNoSub(size, settings)
    : dynamicAdd(settings)
  return { ...workload, id: `metrics/${row}`, param: enabled ? "on" : "off" }
}

// ---------------------------------------------------------------------------
// groups: a group of N children started and stopped, against N plain tasks started and stopped

/**
 * A group of `n` parked children added, timed until every child runs, then cancelled (its children stop in
 * reverse order, one after another): µs per child.
 */
export const groupStartStop = (n: number): Workload => ({
  id: "group/start_stop",
  param: `${n}_children`,
  kind: "perOp",
  unit: "µs/child",
  sample: Effect.suspend(() => {
    const group = TaskSpec.group("g", onceAll("c", n, worker))
    return withSupervisor(benchSettings, [], (sup) =>
      Effect.map(
        timed(Effect.gen(function*() {
          const handle = yield* sup.add(group)
          yield* awaitAlive(sup, `g/c-${n - 1}`)
          yield* sup.cancel(handle.id)
        })),
        ([ms]): Sample => ({ ms, units: n })
      ))
  })
})

/** The same `n` parked tasks added one after another, timed until all run, then cancelled in reverse order. */
export const plainStartStop = (n: number): Workload => ({
  id: "baseline/plain_start_stop",
  param: `${n}_tasks`,
  kind: "perOp",
  unit: "µs/task",
  sample: Effect.suspend(() => {
    const tasks = onceAll("c", n, worker)
    return withSupervisor(benchSettings, [], (sup) =>
      Effect.map(
        timed(Effect.gen(function*() {
          const handles = yield* Effect.forEach(tasks, sup.add)
          yield* awaitAlive(sup, `c-${n - 1}`)
          for (const handle of handles.reverse()) yield* sup.cancel(handle.id)
        })),
        ([ms]): Sample => ({ ms, units: n })
      ))
  })
})

// ---------------------------------------------------------------------------
// permits: N tasks queued for `maxConcurrent` permits, against the same N on one controller slot

/** Each task suspends once, so the next ones queue for a permit (an instant body would never wait). */
const oneHop: Effect.Effect<void> = Effect.yieldNow()

/** `n` one-hop tasks added under `maxConcurrent: permits`, timed until the registry is empty: µs per task. */
export const permitsQueued = (n: number, permits: number): Workload => {
  const settings = settingsOf({ maxConcurrent: permits })
  return {
    id: "permits/queued",
    param: `${n}_on_${permits}`,
    kind: "perOp",
    unit: "µs/task",
    samples: n >= 10_000 ? 10 : 20,
    sample: Effect.suspend(() => {
      const tasks = onceAll("p", n, oneHop)
      return withSupervisor(settings, [], (sup) =>
        Effect.map(
          timed(Effect.zipRight(Effect.forEach(tasks, sup.add, { discard: true }), sup.awaitEmpty)),
          ([ms]): Sample => ({ ms, units: n })
        ))
    })
  }
}

/** The same `n` one-hop tasks queued on one controller slot: µs per task. */
export const slotQueued = (n: number): Workload => {
  const settings = settingsOf({ controller: { queueCapacity: n, maxSlotQueue: n } })
  return {
    id: "controller/one_slot",
    param: String(n),
    kind: "perOp",
    unit: "µs/task",
    samples: n >= 10_000 ? 10 : 20,
    sample: Effect.suspend(() => {
      const specs = range(n).map((i) =>
        ControllerSpec.queue(TaskSpec.once(`s-${i}`, oneHop)).pipe(ControllerSpec.withSlot("one"))
      )
      return withController(settings, (sup, controller) =>
        Effect.map(
          timed(Effect.zipRight(Effect.forEach(specs, controller.submit, { discard: true }), sup.awaitEmpty)),
          ([ms]): Sample => ({ ms, units: n })
        ))
    })
  }
}

// ---------------------------------------------------------------------------
// hot loop: how late another fiber's timer fires beside a retry loop with zero delays

/** How many 10 ms timers one sample waits for, one after another. */
const LATENESS_TIMERS = 10

/**
 * Beside `hot` (started first, stopped after), `LATENESS_TIMERS` sleeps of 10 ms one after another, and a
 * 1 ms periodic task counting its ticks: the sample's figure is the median lateness of a timer in µs.
 */
const lateness = (
  id: string,
  param: string,
  hot: (sup: Supervisor) => Effect.Effect<unknown, unknown, Scope.Scope>
): Workload => ({
  id,
  param,
  kind: "perOp",
  unit: "µs late",
  samples: 15,
  warmup: 2,
  sample: withSupervisor(benchSettings, [], (sup) =>
    Effect.gen(function*() {
      const ticks = { count: 0 }
      yield* sup.add(TaskSpec.periodic("tick", Effect.sync(() => void ticks.count++), "1 millis"))
      yield* hot(sup)
      const late: Array<number> = []
      const began = performance.now()
      for (let i = 0; i < LATENESS_TIMERS; i++) {
        const start = performance.now()
        yield* Effect.sleep("10 millis")
        late.push(performance.now() - start - 10)
      }
      const window = performance.now() - began
      late.sort((a, b) => a - b)
      return {
        ms: Math.max(0, late[late.length >> 1]),
        units: 1,
        extra: { maxLateMs: late[late.length - 1], ticksPer100ms: (ticks.count * 100) / window }
      }
    }))
})

/** A task failing at once, retried with zero backoff for as long as the sample runs. */
export const hotLoopLateness = lateness("hot_loop/timer_lateness", "zero_backoff_retries", (sup) =>
  sup.add(
    TaskSpec.restartable("hot", Effect.fail("boom"), { backoff: BackoffPolicy.constant(0) })
  ))

/** The same timers beside a bare `Effect.sleep(0)` loop: what a timer-based zero delay costs nobody. */
export const sleepLoopLateness = lateness(
  "baseline/sleep0_loop",
  "timer_lateness",
  () => Effect.forkScoped(Effect.forever(Effect.sleep(0)))
)

// ---------------------------------------------------------------------------
// slow subscriber: the same workload with and without one extra subscriber whose every event takes a second

/**
 * `n` tasks added one by one with `subscribers` plus one extra subscriber,
 * slow (`with_slow`) or fast (`with_fast`, the baseline), timed until every handle's outcome is in (not
 * the full `run`, which would wait for the slow subscriber at shutdown);
 * `subscriberShutdownTimeout` is 0 so that teardown does not wait either.
 */
export const slowCheck = (
  id: string,
  n: number,
  subscribers: () => ReadonlyArray<Subscriber.Subscriber>,
  withSlow: boolean
): Workload => {
  const settings = settingsOf({ subscriberShutdownTimeout: 0 })
  return {
    id,
    param: withSlow ? "with_slow" : "with_fast",
    kind: "rate",
    unit: "tasks/s",
    sample: Effect.suspend(() => {
      const tasks = onceAll("t", n, instant)
      // the baseline has the same number of subscribers, the extra one fast: only its slowness differs
      const subs = [...subscribers(), withSlow ? slow : noop(subscribers().length)]
      return withSupervisor(settings, subs, (sup) =>
        Effect.map(
          timed(
            Effect.flatMap(
              Effect.forEach(tasks, sup.add),
              (handles) => Effect.forEach(handles, (handle) => handle.await, { discard: true })
            )
          ),
          ([ms]): Sample => ({ ms, units: n })
        ))
    })
  }
}

export const slowSubscriberWorkloads: ReadonlyArray<Workload> = [
  slowCheck("slow_subscriber/batch_500_1sub", 500, () => [counting().subscriber], false),
  slowCheck("slow_subscriber/batch_500_1sub", 500, () => [counting().subscriber], true),
  slowCheck("slow_subscriber/fanout_100_8subs", 100, () => range(8).map(noop), false),
  slowCheck("slow_subscriber/fanout_100_8subs", 100, () => range(8).map(noop), true)
]

export const supervisorWorkloads: ReadonlyArray<Workload> = [
  lifecycle("instant", instant),
  lifecycle("100_iters", work(100)),
  lifecycle("1000_iters", work(1000)),
  lifecycle("10000_iters", work(10000)),
  batch(50),
  batch(200),
  batch(500),
  batchNoSub(50),
  batchNoSub(200),
  batchNoSub(500),
  batchWork(10),
  batchWork(100),
  batchWork(500),
  fanout(0),
  fanout(1),
  fanout(4),
  fanout(8),
  dynamicAdd(),
  dynamicAddCancel,
  dynamicList(10),
  dynamicList(100),
  dynamicList(500),
  dynamicChurn(10),
  dynamicChurn(100),
  dynamicChurn(500),
  controllerQueue(5),
  controllerQueue(20),
  controllerQueue(50),
  controllerReplace(5),
  controllerReplace(20),
  controllerReplace(50),
  controllerDropIfRunning(5),
  controllerDropIfRunning(20),
  controllerDropIfRunning(50),
  controllerHotpath(100),
  controllerHotpath(500),
  controllerHotpath(1000),
  controllerMultiSlot(8),
  controllerMultiSlot(32),
  controllerMultiSlot(64)
]
