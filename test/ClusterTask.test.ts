import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as ClusterRunner from "../src/ClusterRunner.js"
import * as ClusterTask from "../src/ClusterTask.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as SupervisorMetrics from "../src/SupervisorMetrics.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { eventually, hangingRunner } from "./utils/cluster.js"
import { advance, settleUntil } from "./utils/fibers.js"
import { recording, supervisorWith } from "./utils/recorder.js"
import { crashingChild } from "./utils/tasks.js"

const ofTag = <K extends SupervisorEvent["_tag"]>(events: ReadonlyArray<SupervisorEvent>, tag: K) =>
  events.filter((e): e is Extract<SupervisorEvent, { _tag: K }> => e._tag === tag)

/** A supervisor with a recording subscriber, beside the given cluster runner layer. */
const node = <ROut, E>(runner: Layer.Layer<ROut, E>) => {
  const recorder = recording()
  const supervisor = TaskSupervisor.layer.pipe(
    Layer.provide(Subscriber.layer(recorder.subscriber)),
    Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" }))
  )
  return { recorder, layer: Layer.merge(supervisor, runner) }
}

/** Build `layer` in a fresh scope; returns its context and the scope that releases it. */
const build = <ROut, E>(layer: Layer.Layer<ROut, E>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { context, scope }
  })

/** Build the base (supervisor and runner), then the singletons over it; returns both scopes and the base context. */
const start = <ROut, E, ROut2, E2>(
  base: Layer.Layer<ROut, E>,
  singletons: Layer.Layer<ROut2, E2, NoInfer<ROut>>
) =>
  Effect.gen(function*() {
    const built = yield* build(base)
    const top = yield* build(singletons.pipe(Layer.provide(Layer.succeedContext(built.context)))).pipe(
      Effect.provide(built.context)
    )
    return { context: built.context, baseScope: built.scope, scope: top.scope, top: top.context }
  })

describe("ClusterTask.singleton on the embedded runner", () => {
  it.live("runs its task under the local supervisor, says so on the bus, and stops it gracefully on release", () =>
    Effect.gen(function*() {
      const { layer, recorder } = node(ClusterRunner.layerEmbedded())
      const log: Array<string> = []
      const spec = TaskSpec.make(
        "nightly-import",
        Effect.acquireRelease(Effect.sync(() => log.push("start")), () => Effect.sync(() => log.push("stop"))).pipe(
          Effect.zipRight(Effect.never)
        )
      )
      const base = yield* build(layer)
      const { scope } = yield* build(
        ClusterTask.singleton(spec, { unownedAfter: "200 millis" }).pipe(
          Layer.provide(Layer.succeedContext(base.context))
        )
      ).pipe(Effect.provide(base.context))
      yield* eventually("the task started", () => log.includes("start"))
      const supervisor = Context.get(base.context, TaskSupervisor.TaskSupervisor)
      assert.isTrue(yield* supervisor.isAlive("nightly-import"))
      const acquired = ofTag(recorder.events, "SingletonAcquired")
      assert.strictEqual(acquired.length, 1)
      assert.strictEqual(acquired[0].singleton, "nightly-import")
      const config = Context.get(base.context, ShardingConfig.ShardingConfig)
      const runner = Option.getOrThrow(config.runnerAddress)
      assert.strictEqual(acquired[0].runner, `${runner.host}:${runner.port}`)
      // it runs: no alarm, however long it is watched
      yield* Effect.sleep("500 millis")
      assert.deepStrictEqual(ofTag(recorder.events, "SingletonUnowned"), [])

      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(log, ["start", "stop"])
      const released = ofTag(recorder.events, "SingletonReleased")
      assert.strictEqual(released.length, 1)
      assert.strictEqual(released[0].release, "Shutdown")
      // the release comes after the task's end
      const finished = recorder.events.findIndex((e) => e._tag === "TaskFinished" && e.task === "nightly-import")
      assert.isTrue(finished >= 0 && finished < recorder.events.indexOf(released[0]))
      assert.isFalse(yield* supervisor.isAlive("nightly-import"))
      yield* Scope.close(base.scope, Exit.void)
    }))

  it.live("a task that gives up is never silent: NotRunning is published and gauged, and the owner re-arms it", () =>
    Effect.gen(function*() {
      const { layer, recorder } = node(ClusterRunner.layerEmbedded())
      let starts = 0
      const spec = TaskSpec.make(
        "leader-poller",
        Effect.suspend(() => (++starts === 1 ? Effect.fail("upstream gone") : Effect.never)),
        { restart: RestartPolicy.never }
      )
      const run = yield* start(
        layer,
        ClusterTask.singleton(spec, { unownedAfter: "200 millis", rearmAfter: "800 millis" })
      )
      const unowned = Metric.tagged(SupervisorMetrics.singletonUnowned, "singleton", "leader-poller")
      yield* eventually("SingletonUnowned was published", () => ofTag(recorder.events, "SingletonUnowned").length > 0)
      const alarm = ofTag(recorder.events, "SingletonUnowned")[0]
      assert.strictEqual(alarm.absence, "NotRunning")
      assert.isDefined(alarm.owner)
      assert.isTrue(Duration.toMillis(alarm.for) >= 200)
      assert.strictEqual((yield* Metric.value(unowned)).value, 1)
      const [status] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
      assert.isTrue(status.local)
      assert.isFalse(status.running)
      assert.isDefined(status.unownedSince)
      // re-armed: the task runs again on its owner, and the alarm clears
      yield* eventually("the task was added again", () => starts === 2)
      yield* eventually("the gauge cleared", () => Effect.runSync(Metric.value(unowned)).value === 0)
      const [again] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
      assert.isTrue(again.running)
      yield* Scope.close(run.scope, Exit.void)
      yield* Scope.close(run.baseScope, Exit.void)
    }))

  it.live("an owner that cannot confirm its lease stops its task (Fenced), and takes it up again once it can", () =>
    Effect.gen(function*() {
      const hung = { on: false }
      const { layer, recorder } = node(hangingRunner(hung))
      const log: Array<string> = []
      const spec = TaskSpec.make(
        "fenced",
        Effect.acquireRelease(Effect.sync(() => log.push("start")), () => Effect.sync(() => log.push("stop"))).pipe(
          Effect.zipRight(Effect.never)
        )
      )
      const run = yield* start(
        layer,
        ClusterTask.singleton(spec, { fence: { interval: "100 millis", deadline: "200 millis" } })
      )
      yield* eventually("the task started", () => log.length === 1)
      hung.on = true
      const t0 = Date.now()
      yield* eventually("the owner fenced its task", () => log.length === 2)
      const stoppedAfter = Date.now() - t0
      // within an interval and a deadline, with room for a loaded machine, and far inside the 60 s lease
      assert.isTrue(stoppedAfter < 5_000, `stopped after ${stoppedAfter} ms`)
      const released = ofTag(recorder.events, "SingletonReleased")
      assert.deepStrictEqual(released.map((e) => e.release), ["Fenced"])
      const [fencedStatus] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
      assert.isTrue(fencedStatus.fenced)
      assert.isFalse(fencedStatus.local)
      hung.on = false
      yield* eventually("it runs again", () => log.length === 3)
      assert.deepStrictEqual(log, ["start", "stop", "start"])
      assert.strictEqual(ofTag(recorder.events, "SingletonAcquired").length, 2)
      const [confirmed] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
      assert.isFalse(confirmed.fenced)
      yield* Scope.close(run.scope, Exit.void)
      yield* Scope.close(run.baseScope, Exit.void)
    }))

  it.live(
    "a singleton no runner owns is reported NoOwner and gauged after unownedAfter, and runs (the gauge cleared) once a runner takes it",
    () =>
      Effect.gen(function*() {
        // the storage hangs from the start: no shard can be acquired, so nobody owns the singleton
        const hung = { on: true }
        // the engine tries again after its lock interval (the refresh interval): a short one
        const { layer, recorder } = node(hangingRunner(hung, { refresh: "500 millis", expiry: "5 seconds" }))
        let started = 0
        const spec = TaskSpec.make("orphan", Effect.zipRight(Effect.sync(() => started++), Effect.never))
        const unowned = Metric.tagged(SupervisorMetrics.singletonUnowned, "singleton", "orphan")
        const gauge = () => Effect.runSync(Metric.value(unowned)).value
        const run = yield* start(layer, ClusterTask.singleton(spec, { unownedAfter: "300 millis" }))
        assert.strictEqual(gauge(), 0, "no alarm before unownedAfter")
        yield* eventually("SingletonUnowned was published", () => ofTag(recorder.events, "SingletonUnowned").length > 0)
        const [alarm] = ofTag(recorder.events, "SingletonUnowned")
        assert.strictEqual(alarm.absence, "NoOwner")
        assert.isUndefined(alarm.owner)
        assert.strictEqual(started, 0)
        assert.strictEqual(gauge(), 1, "the alarm is gauged")
        const [status] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
        assert.isFalse(status.running)
        assert.isUndefined(status.owner)
        hung.on = false
        yield* eventually("the singleton started", () => started === 1)
        yield* eventually("the gauge cleared", () => gauge() === 0)
        yield* Scope.close(run.scope, Exit.void)
        yield* Scope.close(run.baseScope, Exit.void)
      }),
    30_000
  )

  it.live("bad options and bad specs are a ConfigError naming the field, and disturb nothing running", () =>
    Effect.gen(function*() {
      const { layer } = node(ClusterRunner.layerEmbedded())
      const log: Array<string> = []
      const good = TaskSpec.make("good", Effect.zipRight(Effect.sync(() => log.push("start")), Effect.never))
      const run = yield* start(layer, ClusterTask.singleton(good))
      yield* eventually("the good singleton runs", () => log.length === 1)
      const refuse = (spec: TaskSpec.TaskSpec<unknown>, options?: ClusterTask.SingletonOptions) =>
        build(ClusterTask.singleton(spec, options).pipe(Layer.provide(Layer.succeedContext(run.context)))).pipe(
          Effect.provide(run.context),
          Effect.flip
        )
      const idle = TaskSpec.make("other", Effect.never)
      const overlong = yield* refuse(idle, { fence: { interval: "30 seconds", deadline: "10 seconds" } })
      assert.strictEqual(overlong._tag, "ConfigError")
      assert.match(overlong.field, /fence/)
      assert.match(overlong.reason, /shorter than the shard lock expiry/)
      const negative = yield* refuse(idle, { unownedAfter: "-1 seconds" })
      assert.match(negative.field, /unownedAfter/)
      const badTimeout = yield* refuse(TaskSpec.make("other", Effect.never, { timeout: "-5 seconds" }))
      assert.strictEqual(badTimeout._tag, "ConfigError")
      const twice = yield* refuse(TaskSpec.make("good", Effect.never))
      assert.match(twice.reason, /registered on this runner already/)
      // the running singleton was not disturbed
      const supervisor = Context.get(run.context, TaskSupervisor.TaskSupervisor)
      assert.isTrue(yield* supervisor.isAlive("good"))
      assert.deepStrictEqual(log, ["start"])
      yield* Scope.close(run.scope, Exit.void)
      yield* Scope.close(run.baseScope, Exit.void)
    }))
})

/** A task's events as `tag task#attempt@ms` (`GroupRestarting` with the children it restarts), SingletonX left out. */
const trace = (events: ReadonlyArray<SupervisorEvent>) =>
  events.flatMap((e) => {
    if (!("task" in e)) return []
    const attempt = "attempt" in e ? `#${e.attempt}` : ""
    const more = e._tag === "GroupRestarting"
      ? ` ${e.strategy} ${e.children.join(",")}`
      : e._tag === "BackoffScheduled"
      ? ` ${Duration.toMillis(e.delay)}ms`
      : ""
    return [`${e._tag} ${e.task}${attempt}@${e.at}${more}`]
  })

/**
 * The same spec twice under one TestClock from 0: as a singleton on the embedded runner (built by `singleton`), and
 * added to a supervisor of its own in-process; then `duration` passes. Returns both traces, the singleton's supervisor
 * and its recorded events.
 */
const sideBySide = (
  singleton: Effect.Effect<TaskSpec.TaskSpec<unknown>>,
  inProcess: Effect.Effect<TaskSpec.TaskSpec<unknown>>,
  ready: (names: ReadonlyArray<string>) => boolean,
  duration: Duration.DurationInput
) =>
  Effect.gen(function*() {
    const { layer, recorder } = node(ClusterRunner.layerEmbedded())
    const run = yield* start(layer, ClusterTask.singleton(yield* singleton))
    const local = yield* supervisorWith({ grace: "2 seconds" })
    yield* local.supervisor.add(yield* inProcess)
    const supervisor = Context.get(run.context, TaskSupervisor.TaskSupervisor)
    const running = (s: TaskSupervisor.TaskSupervisor["Type"]) =>
      Effect.map(s.list, (list) => ready(list.filter((t) => t.state === "Running").map((t) => t.name)))
    yield* settleUntil("the singleton runs on its owner", running(supervisor))
    yield* settleUntil("the in-process task runs", running(local.supervisor))
    yield* advance(duration)
    return { run, supervisor, events: recorder.events, cluster: trace(recorder.events), local: trace(local.events) }
  })

describe("ClusterTask.singleton: the spec's supervision on its owner, as in-process (TestClock)", () => {
  it.scoped("a group: its children run on the owner and restart per its strategy (oneForAll), with their backoff", () =>
    Effect.gen(function*() {
      // b crashes 5 s in; its backoff is 1 s
      const group = Effect.map(
        Effect.all(["a", "b", "c"].map((name) => crashingChild(name, name === "b" ? "5 seconds" : undefined))),
        (children) => TaskSpec.group("g", children, { strategy: "oneForAll" })
      )
      const { cluster, events, local, run, supervisor } = yield* sideBySide(
        group,
        group,
        (names) => names.includes("g/c"),
        "7 seconds"
      )
      assert.deepStrictEqual(cluster, local)
      assert.includeDeepMembers(cluster, [
        "AttemptFailed g/b#1@5000",
        "GroupRestarting g@5000 OneForAll g/a,g/b,g/c",
        "AttemptCanceled g/c#1@5000",
        "AttemptCanceled g/a#1@5000",
        "AttemptStarting g/a#2@5000",
        "AttemptStarting g/b#2@6000",
        "AttemptStarting g/c#2@6000"
      ])
      // the children run here, on the owner, under the group; the singleton stayed where it was
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state, t.attempt]), [
        ["g", "Running", 1],
        ["g/a", "Running", 2],
        ["g/b", "Running", 2],
        ["g/c", "Running", 2]
      ])
      const [status] = yield* ClusterTask.status.pipe(Effect.provide(run.top))
      assert.deepStrictEqual([status.name, status.local, status.running], ["g", true, true])
      assert.deepStrictEqual(events.filter((e) => e._tag.startsWith("Singleton")).map((e) => e._tag), [
        "SingletonAcquired"
      ])
      yield* Scope.close(run.scope, Exit.void)
      yield* Scope.close(run.baseScope, Exit.void)
    }))

  it.scoped("a timed-out attempt is retried after its backoff, up to maxRetries, then the task fails; owned all along", () =>
    Effect.gen(function*() {
      const slow = Effect.succeed(
        TaskSpec.make("slow", Effect.never, {
          timeout: "1 second",
          backoff: BackoffPolicy.exponential("1 second"),
          maxRetries: 2
        })
      )
      const { cluster, events, local, run } = yield* sideBySide(
        slow,
        slow,
        (names) => names.includes("slow"),
        "7 seconds"
      )
      assert.deepStrictEqual(cluster, local)
      assert.deepStrictEqual(cluster.filter((e) => !e.startsWith("TaskAdd")), [
        "AttemptStarting slow#1@0",
        "AttemptTimedOut slow#1@1000",
        "BackoffScheduled slow#1@1000 1000ms",
        "AttemptStarting slow#2@2000",
        "AttemptTimedOut slow#2@3000",
        "BackoffScheduled slow#2@3000 2000ms",
        "AttemptStarting slow#3@5000",
        "AttemptTimedOut slow#3@6000",
        "TaskFinished slow@6000",
        "TaskRemoved slow@6000"
      ])
      // the retries were the supervisor's: the cluster neither released nor moved it
      assert.deepStrictEqual(events.filter((e) => e._tag.startsWith("Singleton")).map((e) => e._tag), [
        "SingletonAcquired"
      ])
      yield* Scope.close(run.scope, Exit.void)
      yield* Scope.close(run.baseScope, Exit.void)
    }))
})
