/**
 * What src/internal/effectInternals relies on in Effect beyond its public
 * types, pinned: an Effect upgrade that changes it fails here, by name,
 * rather than somewhere in the supervisor.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Command from "@effect/platform/Command"
import type * as PlatformError from "@effect/platform/Error"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { Worker } from "node:worker_threads"
import { AttemptScope } from "../src/internal/effectInternals/attemptScope.js"
import { contextOf, ContextView, servicesOf } from "../src/internal/effectInternals/contextView.js"
import { hookOf } from "../src/internal/effectInternals/metricRegistry.js"
import { signalOf, spawnFailed } from "../src/internal/process/process.js"
import { closeMessage } from "../src/internal/process/workerThread.js"
import { removeWorkerModules, workerModule } from "./utils/workers.js"

describe("attemptScope: Effect's Scope state shape", () => {
  it.effect("Effect's own scope keeps { _tag: Open, finalizers: Map } then { _tag: Closed, exit }, as AttemptScope does", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const open = (scope as unknown as { readonly state: { readonly _tag: string; readonly finalizers: unknown } })
        .state
      assert.strictEqual(open._tag, "Open")
      assert.instanceOf(open.finalizers, Map)
      yield* Scope.close(scope, Exit.void)
      const closed = (scope as unknown as { readonly state: { readonly _tag: string; readonly exit: unknown } }).state
      assert.deepStrictEqual(closed, { _tag: "Closed", exit: Exit.void })

      const attempt = new AttemptScope()
      assert.strictEqual(attempt.state._tag, "Open")
      assert.instanceOf((attempt.state as { readonly finalizers: unknown }).finalizers, Map)
      yield* Scope.close(attempt, Exit.void)
      assert.deepStrictEqual(attempt.state, { _tag: "Closed", exit: Exit.void })
    }))

  it.effect("Effect.forkIn an open AttemptScope: the fiber is interrupted when it closes, and forgotten if it ends first", () =>
    Effect.gen(function*() {
      const scope = new AttemptScope()
      const forever = yield* Effect.forkIn(Effect.never, scope)
      const done = yield* Deferred.make<void>()
      const brief = yield* Effect.forkIn(Deferred.await(done), scope)
      const finalizers = () => (scope.state as { readonly finalizers: Map<unknown, unknown> }).finalizers
      // forkIn registered both through `state`
      assert.strictEqual(finalizers().size, 2)
      yield* Deferred.succeed(done, undefined)
      yield* Fiber.await(brief)
      // the fiber that ended took its finalizer out, through `state` again
      assert.strictEqual(finalizers().size, 1)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(forever)))
    }))

  it.effect("Effect.forkIn a closed AttemptScope interrupts the fiber at once", () =>
    Effect.gen(function*() {
      const scope = new AttemptScope()
      yield* Scope.close(scope, Exit.void)
      const fiber = yield* Effect.forkIn(Effect.never, scope)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
    }))

  it.effect("Effect drives an AttemptScope through addFinalizer, fork and close: Effect.scoped-like order and layers", () =>
    Effect.gen(function*() {
      const scope = new AttemptScope()
      const order: Array<string> = []
      yield* Scope.addFinalizer(scope, Effect.sync(() => order.push("first added")))
      const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      yield* Scope.addFinalizer(child, Effect.sync(() => order.push("child")))
      const Service = Context.GenericTag<string>("EffectInternals/Service")
      const context = yield* Layer.buildWithScope(
        Layer.scoped(
          Service,
          Effect.acquireRelease(Effect.succeed("built"), () => Effect.sync(() => order.push("layer")))
        ),
        scope
      )
      assert.strictEqual(Context.get(context, Service), "built")
      yield* Effect.scopeWith((current) => Effect.sync(() => assert.strictEqual(current, scope))).pipe(
        Effect.provideService(Scope.Scope, scope)
      )
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(order, ["layer", "child", "first added"])
    }))
})

describe("contextView: a Context made over a read-only view of services", () => {
  const A = Context.GenericTag<string>("EffectInternals/A")
  const B = Context.GenericTag<string>("EffectInternals/B")
  const C = Context.GenericTag<string>("EffectInternals/C")
  const ownKeys: ReadonlyArray<string> = [A.key, B.key]

  /** A over the base's A, and B; a view with no write methods, so a write by Effect would throw. */
  class TwoOver extends ContextView {
    constructor(base: ReadonlyMap<string, unknown>, private readonly a: string, private readonly b: string) {
      super(base)
    }
    protected get ownKeys() {
      return ownKeys
    }
    protected ownValue(index: number) {
      return index === 0 ? this.a : this.b
    }
  }

  const base = Context.make(A, "base a").pipe(Context.add(C, "base c"))
  const view = () => new TwoOver(servicesOf(base), "own a", "own b")

  it("Context reads a view through get, has and size, the view's own entries over its base's", () => {
    const context = contextOf(view()) as Context.Context<string>
    assert.strictEqual(Context.get(context, A), "own a")
    assert.strictEqual(Context.get(context, B), "own b")
    assert.strictEqual(Context.get(context, C), "base c")
    assert.isTrue(Option.isNone(Context.getOption(context, Context.GenericTag<string>("EffectInternals/D"))))
    assert.strictEqual(servicesOf(context).size, 3)
    assert.deepStrictEqual(Array.from(servicesOf(context).keys()), [A.key, B.key, C.key])
  })

  it("Context extends, merges, omits and compares a view by copying it, never writing to it", () => {
    const context = contextOf(view()) as Context.Context<string>
    const D = Context.GenericTag<string>("EffectInternals/D")
    const added = Context.add(context, D, "d")
    assert.deepStrictEqual(
      [Context.get(added, A), Context.get(added, C), Context.get(added, D)],
      ["own a", "base c", "d"]
    )
    assert.strictEqual(Context.get(Context.merge(base as Context.Context<string>, context), A), "own a")
    assert.strictEqual(Context.get(Context.merge(context, Context.make(A, "later")), A), "later")
    assert.isTrue(Option.isNone(Context.getOption(Context.omit(B)(context), B)))
    assert.strictEqual(Context.get(Context.pick(A)(context), A), "own a")
    assert.isTrue(Equal.equals(context, contextOf(view())))
    assert.isFalse(Equal.equals(context, contextOf(new TwoOver(servicesOf(base), "own a", "other b"))))
    // still the view's own values afterwards: nothing was written into it
    assert.strictEqual(Context.get(context, B), "own b")
    assert.strictEqual(servicesOf(context).size, 3)
  })

  it.effect("an effect runs with a view as its context: services, provide over it, Effect.scoped inside it", () =>
    Effect.gen(function*() {
      const context = contextOf(view()) as Context.Context<string>
      const read = Effect.all([A, B, C]) as unknown as Effect.Effect<ReadonlyArray<string>>
      assert.deepStrictEqual(yield* Effect.provide(read, context), ["own a", "own b", "base c"])
      const over = Effect.provideService(read, B, "provided b") as unknown as Effect.Effect<ReadonlyArray<string>>
      assert.deepStrictEqual(yield* Effect.provide(over, context), ["own a", "provided b", "base c"])
      const scoped = Effect.scoped(Effect.zipRight(Effect.addFinalizer(() => Effect.void), read))
      assert.deepStrictEqual(yield* Effect.provide(scoped, context), ["own a", "own b", "base c"])
      const forked = Effect.flatMap(Effect.fork(read), Fiber.join)
      assert.deepStrictEqual(yield* Effect.provide(forked, context), ["own a", "own b", "base c"])
    }))
})

describe("metricRegistry: a metric's hook in the global registry", () => {
  const task = MetricLabel.make("task", "effect-internals")
  const result = MetricLabel.make("result", "failed")

  it.effect("a counter's hook is the one its metric, labelled in the same order, updates and reads", () =>
    Effect.gen(function*() {
      const key = MetricKey.counter("effect_internals_counter_total", { incremental: true })
      const metric = Metric.fromMetricKey(key).pipe(
        Metric.tagged("task", "effect-internals"),
        Metric.tagged("result", "failed")
      )
      const hook = hookOf(key, [task, result])
      assert.strictEqual(hookOf(key, [task, result]), hook, "the same hook every time")
      hook.update(2)
      assert.strictEqual((yield* Metric.value(metric)).count, 2, "written synchronously, read by the metric")
      yield* Metric.increment(metric)
      assert.strictEqual(hook.get().count, 3, "the metric's update lands in the hook")
      // without labels: the key's own hook, another series
      assert.strictEqual(hookOf(key, []).get().count, 0)
      assert.strictEqual((yield* Metric.value(Metric.fromMetricKey(key))).count, 0)
    }))

  it.effect("a gauge's hook modifies what its metric reads; a histogram's hook records what its metric reads", () =>
    Effect.gen(function*() {
      const gaugeKey = MetricKey.gauge("effect_internals_gauge")
      const gauge = Metric.fromMetricKey(gaugeKey)
      hookOf(gaugeKey, []).modify(1)
      hookOf(gaugeKey, []).modify(1)
      hookOf(gaugeKey, []).modify(-1)
      assert.strictEqual((yield* Metric.value(gauge)).value, 1)
      yield* Metric.incrementBy(gauge, 2)
      assert.strictEqual(hookOf(gaugeKey, []).get().value, 3)

      const histogramKey = MetricKey.histogram(
        "effect_internals_seconds",
        MetricBoundaries.exponential({ start: 0.001, factor: 4, count: 3 })
      )
      const histogram = Metric.fromMetricKey(histogramKey).pipe(Metric.tagged("task", "effect-internals"))
      hookOf(histogramKey, [task]).update(0.002)
      yield* Metric.update(histogram, 0.5)
      const state = yield* Metric.value(histogram)
      assert.strictEqual(state.count, 2)
      assert.strictEqual(state.sum, 0.502)
    }))

  it.effect("Metric.snapshot lists what was written through a hook", () =>
    Effect.gen(function*() {
      const key = MetricKey.counter("effect_internals_snapshot_total", { incremental: true })
      hookOf(key, [task]).update(1)
      const pairs = yield* Metric.snapshot
      const found = pairs.find((pair) => pair.metricKey.name === "effect_internals_snapshot_total")
      assert.isDefined(found)
      assert.deepStrictEqual(found!.metricKey.tags, [task])
      assert.strictEqual((found!.metricState as unknown as { readonly count: number }).count, 1)
    }))
})

describe("process: what @effect/platform-node's executor tells of a process that a signal ended, or that cannot start", () => {
  /** Why the command could not start. */
  const refusal = (command: Command.Command) =>
    Effect.flip(Effect.scoped(Command.start(command))).pipe(Effect.provide(NodeContext.layer))

  it.live("exitCode fails with a SystemError whose description names the signal, which signalOf reads", () =>
    Effect.gen(function*() {
      const error = yield* Command.start(Command.make("sh", "-c", "kill -KILL $$")).pipe(
        Effect.flatMap((process) => Effect.flip(process.exitCode)),
        Effect.scoped,
        Effect.provide(NodeContext.layer)
      )
      assert.strictEqual(error._tag, "SystemError")
      assert.strictEqual((error as PlatformError.SystemError).method, "exitCode")
      assert.strictEqual(
        (error as PlatformError.SystemError).description,
        "Process interrupted due to receipt of signal: SIGKILL"
      )
      assert.strictEqual(signalOf(error), "SIGKILL")
    }))

  it.live("a refused start is a SystemError of method spawn (access, for a missing cwd) whose cause has the OS's code", () =>
    Effect.gen(function*() {
      const missing = yield* refusal(Command.make("no-such-command-taskvisor"))
      assert.strictEqual((missing as PlatformError.SystemError).method, "spawn")
      assert.strictEqual(spawnFailed("no-such-command-taskvisor", undefined)(missing).reason, "ENOENT")
      const noCwd = yield* refusal(Command.workingDirectory(Command.make("true"), "/no/such/dir"))
      assert.strictEqual((noCwd as PlatformError.SystemError).method, "access")
      const refused = spawnFailed("true", "/no/such/dir")(noCwd)
      assert.strictEqual(refused.reason, "ENOENT")
      assert.include(refused.message, "working directory /no/such/dir")
    }))
})

describe("workerThread: the port protocol of @effect/platform-node's WorkerRunner", () => {
  afterAll(removeWorkerModules)

  // test/fixtures/worker/spin.mjs speaks it by hand; workerThread.ts sends `closeMessage` itself
  it(
    "[0] says it is ready, [0, [id, 0, payload]] is a request, answered [1, [id, 0, values]] then [1, [id, 1]]; [1] closes it",
    async () => {
      const worker = new Worker(workerModule("square"))
      const messages: Array<unknown> = []
      const received = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`not ${count} messages within 10 s: ${JSON.stringify(messages)}`)),
            10_000
          )
          const check = () => {
            if (messages.length < count) return
            clearTimeout(timer)
            worker.off("message", push)
            resolve()
          }
          const push = (message: unknown) => {
            messages.push(message)
            check()
          }
          worker.on("message", push)
          check()
        })
      const exited = new Promise<number>((resolve) => worker.once("exit", resolve))
      await received(1)
      assert.deepStrictEqual(messages, [[0]])
      worker.postMessage([0, [7, 0, { _tag: "Square", n: 3 }, undefined]])
      await received(3)
      assert.deepStrictEqual(messages.slice(1), [[1, [7, 0, [9]]], [1, [7, 1]]])
      worker.postMessage(closeMessage)
      assert.strictEqual(await exited, 0)
    },
    30_000
  )
})
