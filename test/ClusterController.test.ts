/**
 * Sharded slots on the real engine: one embedded runner (`ClusterRunner.layerEmbedded`), submissions routed to
 * the slot's entity, admitted by the runner's controller. The engine runs on real timers, so these tests are live
 * and wait on conditions with bounds. What only several processes can show (a slot moving to another runner, a
 * runner killed) is in the fleet tests.
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as ClusterController from "../src/ClusterController.js"
import * as ClusterRunner from "../src/ClusterRunner.js"
import * as Controller from "../src/Controller.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import { ConfigError } from "../src/SupervisorError.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { recording } from "./utils/recorder.js"

/**
 * The engine's settings for these tests: handlers interrupted half a second after their entity begins to stop
 * (instead of 15 s), and storage read every 100 ms, so a runner that registers its entity after acquiring its
 * shards reads the messages waiting for it at once.
 */
const shardingConfig = {
  entityTerminationTimeout: Duration.millis(500),
  entityMessagePollInterval: Duration.millis(100)
}

const Job = Schema.Struct({
  tenant: Schema.String,
  label: Schema.String,
  /** `done`: takes 30 ms. `fail`: fails. `held`: runs until released or stopped. `slowStop`: held, and stops once `<label>/stop` is released. */
  work: Schema.Literal("done", "fail", "held", "slowStop", "unbuildable")
})
type Job = typeof Job.Type

/** The runner a task ran on: a requirement of the tasks, given by each runner's layer. */
class Runner extends Context.Tag("test/ClusterController/Runner")<Runner, { readonly name: string }>() {}

/** What the tasks did, in order, and every start that found its slot's previous task still running. */
class Probe {
  readonly log: Array<string> = []
  readonly overlaps: Array<string> = []
  private readonly active = new Map<string, Set<string>>()
  private readonly releases = new Map<string, Deferred.Deferred<void>>()

  release(label: string): Deferred.Deferred<void> {
    let release = this.releases.get(label)
    if (release === undefined) {
      release = Deferred.unsafeMake<void>(FiberId.none)
      this.releases.set(label, release)
    }
    return release
  }

  has(entry: string): boolean {
    return this.log.includes(entry)
  }

  task(job: Job, runner: string): Effect.Effect<void, string> {
    const id = `${job.label}@${runner}`
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        const running = this.active.get(job.tenant) ?? new Set()
        if (running.size > 0) this.overlaps.push(`${id} started while ${[...running].join(", ")} ran`)
        running.add(id)
        this.active.set(job.tenant, running)
        this.log.push(`start ${id}`)
      }),
      () => this.work(job),
      (_, exit) =>
        Effect.sync(() => {
          this.active.get(job.tenant)?.delete(id)
          this.log.push(`${Exit.isInterrupted(exit) ? "stopped" : "end"} ${id}`)
        })
    )
  }

  private work(job: Job): Effect.Effect<void, string> {
    switch (job.work) {
      case "done":
        return Effect.sleep("30 millis")
      case "fail":
        return Effect.fail(`job ${job.label} failed`)
      case "held":
        return Deferred.await(this.release(job.label))
      default:
        return Effect.onInterrupt(
          Deferred.await(this.release(job.label)),
          () => Deferred.await(this.release(`${job.label}/stop`))
        )
    }
  }
}

/** The jobs' sharded slots: one per tenant; a tenant `throw` has a slot getter that throws, `-` an empty key. */
const jobs = (probe: Probe) =>
  ClusterController.make("jobs", {
    payload: Job,
    slot: (job) => {
      if (job.tenant === "throw") throw new Error("no slot for this tenant")
      return job.tenant === "-" ? "" : job.tenant
    },
    task: (job) => {
      if (job.work === "unbuildable") throw new Error(`no task for ${job.label}`)
      return TaskSpec.once(`job-${job.label}`, Effect.flatMap(Runner, (runner) => probe.task(job, runner.name)))
    }
  })

type Jobs = ReturnType<typeof jobs>

/**
 * A runner with `jobs`' slots over a supervisor and controller (the slots' layer closes first), its tasks
 * given the `Runner` named `name`; `cluster` is the engine (`layerEmbedded` unless given).
 */
const runnerLayer = (
  slots: Jobs,
  options: {
    readonly name?: string | undefined
    readonly cluster?: Layer.Layer<ClusterRunner.Services | MessageStorage.MemoryDriver> | undefined
    readonly maxSlotQueue?: number | undefined
  } = {}
) => {
  const recorder = recording()
  const layer = slots.layer.pipe(
    Layer.provideMerge(Controller.layer({ maxSlotQueue: options.maxSlotQueue })),
    Layer.provideMerge(TaskSupervisor.layer),
    Layer.provide(Subscriber.layer(recorder.subscriber)),
    Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" })),
    Layer.provide(Layer.succeed(Runner, { name: options.name ?? "r1" })),
    Layer.provideMerge(
      options.cluster === undefined ? ClusterRunner.layerEmbedded({ shardingConfig }) : options.cluster
    )
  )
  return { layer, events: recorder.events }
}

/** Build a runner in the test's scope; its context for the calls that need it. */
const startRunner = (slots: Jobs, options?: Parameters<typeof runnerLayer>[1]) => {
  const runner = runnerLayer(slots, options)
  return Effect.map(Layer.build(runner.layer), (context) => ({ context, events: runner.events }))
}

/**
 * An embedded runner's engine (as `ClusterRunner.layerEmbedded`) over message storage built once in the test's
 * scope: the storage outlives the runners built over it, as a database outlives a fleet's processes.
 */
const sharedStorageEngine = Effect.map(
  Layer.build(MessageStorage.MemoryDriver.Default.pipe(Layer.provide(ShardingConfig.layer()))),
  (driver) =>
    ClusterRunner.layerReadiness().pipe(
      Layer.provideMerge(Sharding.layer),
      Layer.provideMerge(Runners.layerNoop),
      Layer.provideMerge(
        Layer.effect(MessageStorage.MessageStorage, Effect.map(MessageStorage.MemoryDriver, (_) => _.storage))
      ),
      Layer.provideMerge(Layer.succeedContext(driver)),
      Layer.provideMerge(RunnerStorage.layerMemory),
      Layer.provide(RunnerHealth.layerNoop),
      Layer.provideMerge(ShardingConfig.layer(shardingConfig))
    )
)

/** Poll `condition` every 20 ms until it holds; fail naming `what` after `within`. */
const waitFor = (what: string, condition: () => boolean, within: Duration.DurationInput = "5 seconds") =>
  Effect.gen(function*() {
    while (!condition()) yield* Effect.sleep("20 millis")
  }).pipe(
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

const job = (tenant: string, label: string, work: Job["work"] = "done"): Job => ({ tenant, label, work })

const assertConfigError = (exit: Exit.Exit<unknown, unknown>, field: string, reason: RegExp) => {
  assert.isTrue(Exit.isFailure(exit), `fails for ${field}`)
  if (Exit.isSuccess(exit)) return
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.instanceOf(error, ConfigError, `a ConfigError for ${field}`)
  assert.strictEqual((error as ConfigError).field, field)
  assert.match((error as ConfigError).message, reason)
}

describe("ClusterController", () => {
  it.scopedLive("queue: a slot's submissions run one at a time, in order, while another slot runs beside them", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots)
      const submit = (payload: Job) => Effect.provide(slots.submit(payload), context)

      yield* submit(job("p", "p1", "held"))
      for (const label of ["q1", "q2", "q3"]) yield* submit(job("q", label))
      yield* waitFor("p1 and q1 to run at once", () => probe.has("start p1@r1") && probe.has("start q1@r1"))
      assert.isFalse(probe.has("end p1@r1"), "p1 still runs while q's slot works")

      const last = yield* Effect.provide(slots.run(job("q", "q4")), context)
      assert.deepStrictEqual(last, { _tag: "Completed" })
      assert.deepStrictEqual(
        probe.log.filter((entry) => entry.includes(" q")),
        ["q1", "q2", "q3", "q4"].flatMap((label) => [`start ${label}@r1`, `end ${label}@r1`])
      )
      assert.deepStrictEqual(probe.overlaps, [])

      yield* Deferred.succeed(probe.release("p1"), void 0)
      yield* waitFor("p1 to end", () => probe.has("end p1@r1"))
    }))

  it.scopedLive("replace: the owner is stopped before the newest replacement starts; a displaced one is rejected", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots)
      const run = (payload: Job, admission?: "Replace") => Effect.provide(slots.run(payload, { admission }), context)

      const owner = yield* Effect.fork(run(job("r", "r1", "slowStop")))
      yield* waitFor("r1 to start", () => probe.has("start r1@r1"))
      const displaced = yield* Effect.fork(run(job("r", "r2"), "Replace"))
      yield* waitFor(
        "r1 to be stopping with r2 waiting",
        () => {
          const snapshot = Effect.runSync(Effect.provide(Controller.snapshot, context))
          const view = Controller.slot(snapshot, "jobs/r")
          return view.status === "Terminating" && view.queueDepth === 1
        }
      )
      const newest = yield* Effect.fork(run(job("r", "r3"), "Replace"))
      // r2 is answered when r3 displaces it, while r1 is still stopping
      const rejected = yield* Fiber.join(displaced)
      assert.strictEqual(rejected._tag, "Rejected")
      assert.strictEqual(rejected._tag === "Rejected" ? rejected.kind : undefined, "SupersededByReplace")
      assert.deepStrictEqual(probe.log, ["start r1@r1"])

      yield* Deferred.succeed(probe.release("r1/stop"), void 0)
      assert.deepStrictEqual(yield* Fiber.join(newest), { _tag: "Completed" })
      assert.deepStrictEqual(yield* Fiber.join(owner), { _tag: "Canceled", replaced: true })
      assert.deepStrictEqual(probe.log, ["start r1@r1", "stopped r1@r1", "start r3@r1", "end r3@r1"])
      assert.deepStrictEqual(probe.overlaps, [])
    }))

  it.scopedLive("dropIfRunning: a submission to a busy slot is rejected SlotBusy and the owner runs on", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots)
      const run = (payload: Job, admission?: "DropIfRunning") =>
        Effect.provide(slots.run(payload, { admission }), context)

      const owner = yield* Effect.fork(run(job("d", "d1", "held")))
      yield* waitFor("d1 to start", () => probe.has("start d1@r1"))
      const dropped = yield* run(job("d", "d2"), "DropIfRunning")
      assert.strictEqual(dropped._tag, "Rejected")
      assert.strictEqual(dropped._tag === "Rejected" ? dropped.kind : undefined, "SlotBusy")
      assert.deepStrictEqual(probe.log, ["start d1@r1"], "d1 runs on, d2 never started")

      yield* Deferred.succeed(probe.release("d1"), void 0)
      assert.deepStrictEqual(yield* Fiber.join(owner), { _tag: "Completed" })
      assert.deepStrictEqual(yield* run(job("d", "d3"), "DropIfRunning"), { _tag: "Completed" }, "a free slot admits")
      assert.deepStrictEqual(probe.overlaps, [])
    }))

  it.scopedLive("interrupting run stops the wait, not the work: the task runs on and its outcome is stored", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots)
      const driver = Context.get(context, MessageStorage.MemoryDriver)
      const waiting = yield* Effect.fork(Effect.provide(slots.run(job("w", "w1", "held")), context))
      yield* waitFor("w1 to start", () => probe.has("start w1@r1"))
      yield* Fiber.interrupt(waiting)

      // an interrupt that reached the runner would stop w1 (`stopped w1@r1`); released, it ends by itself instead
      yield* Deferred.succeed(probe.release("w1"), void 0)
      yield* waitFor("w1 to end", () => probe.log.length === 2)
      assert.deepStrictEqual(probe.log, ["start w1@r1", "end w1@r1"])
      yield* waitFor("w1's outcome to be stored", () => driver.unprocessed.size === 0)
      const [entry] = driver.requests.values()
      assert.deepStrictEqual(entry.replies.map((reply) => reply._tag), ["WithExit"])
    }))

  it.scopedLive("run returns the task's outcome: completed, failed with its reason, rejected with its kind", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots, { maxSlotQueue: 0 })
      const run = (payload: Job) => Effect.provide(slots.run(payload), context)

      assert.deepStrictEqual(yield* run(job("o", "o1")), { _tag: "Completed" })
      const failed = yield* run(job("o", "o2", "fail"))
      assert.strictEqual(failed._tag, "Failed")
      assert.match(failed._tag === "Failed" ? failed.reason : "", /job o2 failed/)

      const owner = yield* Effect.fork(run(job("o", "o3", "held")))
      yield* waitFor("o3 to start", () => probe.has("start o3@r1"))
      const full = yield* run(job("o", "o4"))
      assert.strictEqual(full._tag, "Rejected")
      assert.strictEqual(full._tag === "Rejected" ? full.kind : undefined, "QueueFull", "no queue in the slot")
      yield* Deferred.succeed(probe.release("o3"), void 0)
      assert.deepStrictEqual(yield* Fiber.join(owner), { _tag: "Completed" })

      // a task that cannot be built on the owning runner is a ConfigError from there
      assertConfigError(yield* Effect.exit(run(job("o", "o5", "unbuildable"))), "task", /threw: .*no task for o5/)
      assert.deepStrictEqual(probe.log.filter((entry) => entry.includes("o5")), [])
    }))

  it.scopedLive("bad input is a ConfigError naming the problem; nothing is sent and nothing running is disturbed", () =>
    Effect.gen(function*() {
      const probe = new Probe()
      const slots = jobs(probe)
      const { context } = yield* startRunner(slots)
      const driver = Context.get(context, MessageStorage.MemoryDriver)
      const owner = yield* Effect.fork(Effect.provide(slots.run(job("x", "x1", "held")), context))
      yield* waitFor("x1 to start", () => probe.has("start x1@r1"))
      const stored = driver.journal.length

      const attempt = (payload: unknown, admission?: unknown) =>
        Effect.exit(Effect.provide(slots.submit(payload as Job, { admission: admission as "Queue" }), context))
      assertConfigError(yield* attempt({ tenant: 42, label: "b1", work: "done" }), "payload", /tenant/)
      assertConfigError(yield* attempt(job("x", "b2", "done"), "Sometimes"), "admission", /"Sometimes"/)
      assertConfigError(yield* attempt(job("throw", "b3")), "slot", /threw: .*no slot for this tenant/)
      assertConfigError(yield* attempt(job("-", "b4")), "slot", /non-empty string, got ""/)
      const unnamed = ClusterController.make("", {
        payload: Job,
        slot: (job) => job.tenant,
        task: () => TaskSpec.once("t", Effect.void)
      })
      assertConfigError(
        yield* Effect.exit(Effect.provide(unnamed.submit(job("x", "b5")), context)),
        "name",
        /non-empty/
      )
      const oddDefault = ClusterController.make("odd", {
        payload: Job,
        slot: (job) => job.tenant,
        admission: "Later" as "Queue",
        task: () => TaskSpec.once("t", Effect.void)
      })
      assertConfigError(
        yield* Effect.exit(Effect.provide(Layer.build(oddDefault.layer), context)),
        "admission",
        /"Later"/
      )

      assert.strictEqual(driver.journal.length, stored, "no bad submission reached the storage")
      const snapshot = yield* Effect.provide(Controller.snapshot, context)
      assert.deepStrictEqual(snapshot.slots.map((view) => [view.slot, view.status, view.queueDepth]), [
        ["jobs/x", "Running", 0]
      ])
      assert.deepStrictEqual(probe.log, ["start x1@r1"])
      yield* Deferred.succeed(probe.release("x1"), void 0)
      assert.deepStrictEqual(yield* Fiber.join(owner), { _tag: "Completed" })
    }))

  it.scopedLive(
    "queued and running work is kept: a runner that stops hands its slot's submissions to the next, in order",
    () =>
      Effect.gen(function*() {
        const probe = new Probe()
        const slots = jobs(probe)
        const engine = yield* sharedStorageEngine
        const first = runnerLayer(slots, { name: "r1", cluster: engine })
        const firstScope = yield* Scope.make()
        const r1 = yield* Layer.buildWithScope(first.layer, firstScope)
        const submit = (payload: Job) => Effect.provide(slots.submit(payload), r1)
        // k1 blocks on its first runner only: released below before the second runner starts
        yield* submit(job("k", "k1", "held"))
        yield* submit(job("k", "k2"))
        yield* submit(job("k", "k3"))
        yield* waitFor("k1 to start", () => probe.has("start k1@r1"))
        yield* waitFor("k2 and k3 to wait in k's slot", () => {
          const snapshot = Effect.runSync(Effect.provide(Controller.snapshot, r1))
          return Controller.slot(snapshot, "jobs/k").queueDepth === 2
        })

        yield* Scope.close(firstScope, Exit.void)
        assert.deepStrictEqual(probe.log, ["start k1@r1", "stopped k1@r1"], "k1 stopped, k2 and k3 never started")
        // the handler stopped k1 itself (a cancel), before the supervisor's shutdown
        const firstEvents = first.events.map((event) =>
          event._tag === "TaskRemoveRequested" ? `${event._tag} ${event.task} ${event.reason}` : event._tag
        )
        assert.isBelow(
          firstEvents.indexOf("TaskRemoveRequested job-k1 manual_cancel"),
          firstEvents.indexOf("ShutdownRequested")
        )
        assert.isAtLeast(firstEvents.indexOf("TaskRemoveRequested job-k1 manual_cancel"), 0)
        yield* Deferred.succeed(probe.release("k1"), void 0)

        const second = runnerLayer(slots, { name: "r2", cluster: engine })
        const r2 = yield* Layer.build(second.layer)
        const last = yield* Effect.provide(slots.run(job("k", "k4")), r2)
        assert.deepStrictEqual(last, { _tag: "Completed" })
        assert.deepStrictEqual(probe.log.slice(2), [
          "start k1@r2",
          "end k1@r2",
          "start k2@r2",
          "end k2@r2",
          "start k3@r2",
          "end k3@r2",
          "start k4@r2",
          "end k4@r2"
        ])
        assert.deepStrictEqual(probe.overlaps, [])
      }),
    30_000
  )

  it.scopedLive(
    "a runner whose supervisor shuts down before its slots holds their submissions for the next runner",
    () =>
      Effect.gen(function*() {
        const probe = new Probe()
        const slots = jobs(probe)
        const engine = yield* sharedStorageEngine
        const firstScope = yield* Scope.make()
        const r1 = yield* Layer.buildWithScope(runnerLayer(slots, { name: "r1", cluster: engine }).layer, firstScope)
        yield* Effect.provide(slots.submit(job("h", "h1", "held")), r1)
        yield* waitFor("h1 to start", () => probe.has("start h1@r1"))

        // h1 is canceled by the shutdown, not by its submitter: its submission is not answered `Canceled`
        yield* Effect.provide(TaskSupervisor.shutdown, r1)
        assert.deepStrictEqual(probe.log, ["start h1@r1", "stopped h1@r1"])
        // the slot's entity still runs: a submission reaches it, and is held too (its controller refuses it)
        yield* Effect.provide(slots.submit(job("h", "h2")), r1)
        yield* Scope.close(firstScope, Exit.void)
        yield* Deferred.succeed(probe.release("h1"), void 0)

        const r2 = yield* Layer.build(runnerLayer(slots, { name: "r2", cluster: engine }).layer)
        assert.deepStrictEqual(yield* Effect.provide(slots.run(job("h", "h3")), r2), { _tag: "Completed" })
        assert.deepStrictEqual(probe.log.slice(2), [
          "start h1@r2",
          "end h1@r2",
          "start h2@r2",
          "end h2@r2",
          "start h3@r2",
          "end h3@r2"
        ])
        assert.deepStrictEqual(probe.overlaps, [])
      }),
    30_000
  )
})
