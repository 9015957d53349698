/**
 * The lifecycles of the services around one supervisor, through the public API: a controller and a subscriber
 * end with their layers, a controller works over a decorated supervisor (and over no other: a type error), and shutdown
 * publishes its cause first.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type * as SupervisorError from "../src/SupervisorError.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { outcomeNow, rejectedWith, trackedSupervisor } from "./utils/controller.js"
import { assertIdOrder, assertSeq, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { recording } from "./utils/recorder.js"
import { neverEnding, slowToStop, stubborn } from "./utils/tasks.js"

/** The supervisor's own events (the controller's also carry task ids). */
const own = (events: ReadonlyArray<SupervisorEvent>) => events.filter((e) => !e._tag.startsWith("Controller"))

const slotted = (name: string, body: Effect.Effect<void> = neverEnding) =>
  ControllerSpec.queue(TaskSpec.make(name, body)).pipe(ControllerSpec.withSlot("s"))

class Connection extends Context.Tag("test/Connection")<Connection, { readonly isOpen: () => boolean }>() {}

/** A scoped resource: open while its layer's scope is open. */
const ConnectionLive = Layer.scoped(
  Connection,
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => ({ open: true })),
      (state) => Effect.sync(() => void (state.open = false))
    ),
    (state) => ({ isOpen: () => state.open })
  )
)

/** A subscriber that records each event's tag and whether its connection was still open. */
const usingConnection = () => {
  const seen: Array<string> = []
  const subscriber = Subscriber.make({
    name: "uses-connection",
    onEvent: (event) => Effect.map(Connection, (c) => void seen.push(`${event._tag}:${c.isOpen() ? "open" : "CLOSED"}`))
  })
  return { seen, subscriber }
}

/** A supervisor in the test's scope, and a controller over it in a scope of its own. */
const controllerInItsOwnScope = Effect.gen(function*() {
  const supervisorContext = yield* Layer.build(
    TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))
  )
  const scope = yield* Scope.make()
  const controller = Context.get(
    yield* Layer.buildWithScope(Controller.layer().pipe(Layer.provide(Layer.succeedContext(supervisorContext))), scope),
    Controller.Controller
  )
  return { controller, scope, supervisor: Context.get(supervisorContext, TaskSupervisor.TaskSupervisor) }
})

describe("a controller whose layer closed", () => {
  it.scoped("submit after the controller's layer closed fails ShuttingDown (it is accepted and never resolves)", () =>
    Effect.gen(function*() {
      const { controller, scope, supervisor } = yield* controllerInItsOwnScope
      const owner = yield* controller.submitAndWatch(slotted("owner"))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      // the controller is closed; its supervisor is not
      const late = yield* Effect.exit(controller.submitAndWatch(slotted("late")))
      if (Exit.isSuccess(late)) {
        yield* supervisor.cancel(owner.id)
        const afterOwner = yield* outcomeNow(late.value)
        yield* supervisor.shutdown
        const afterShutdown = yield* outcomeNow(late.value)
        assert.fail(
          `accepted after close; owner gone: ${afterOwner?._tag ?? "pending"}; after shutdown: ${
            afterShutdown?._tag ?? "pending for ever"
          }`
        )
      }
      const error = Exit.isFailure(late) && late.cause._tag === "Fail" ? late.cause.error._tag : ""
      assert.strictEqual(error, "ShuttingDown")
    }))
})

describe("a subscriber whose layer closed", () => {
  it.scoped("a subscriber whose layer closed is no longer fed events (its requirements are released)", () =>
    Effect.gen(function*() {
      const config = yield* Layer.build(SupervisorConfig.layerDefaults)
      const supervisor = Context.get(
        yield* Layer.build(TaskSupervisor.layer.pipe(Layer.provide(Layer.succeedContext(config)))),
        TaskSupervisor.TaskSupervisor
      )
      const { seen, subscriber } = usingConnection()
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        Subscriber.layer(subscriber).pipe(Layer.provide(ConnectionLive), Layer.provide(Layer.succeedContext(config))),
        scope
      )
      yield* (yield* supervisor.add(TaskSpec.once("before", Effect.void))).await
      yield* settle
      yield* Scope.close(scope, Exit.void)
      yield* (yield* supervisor.add(TaskSpec.once("after", Effect.void))).await
      yield* settle
      assert.isNotEmpty(seen)
      assert.deepStrictEqual(seen.filter((s) => s.endsWith("CLOSED")), [], "events delivered after its layer closed")
    }))

  it.scoped("merged beside the supervisor (as the README allows), it never runs with its requirements released (it may miss the shutdown events)", () =>
    Effect.gen(function*() {
      const { seen, subscriber } = usingConnection()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Layer.merge(TaskSupervisor.layer, Subscriber.layer(subscriber).pipe(Layer.provide(ConnectionLive))).pipe(
          Layer.provide(SupervisorConfig.layerDefaults)
        ),
        scope
      )
      yield* Context.get(context, TaskSupervisor.TaskSupervisor).add(TaskSpec.make("forever", neverEnding))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      yield* settle
      assert.deepStrictEqual(
        seen.filter((s) => s.endsWith("CLOSED")),
        [],
        "shutdown events seen with released requirements"
      )
      // as the README says, the layers close together: it stops before the shutdown's events reach it
      assert.deepStrictEqual(seen, ["TaskAddRequested:open", "TaskAdded:open", "AttemptStarting:open"])
    }))
})

describe("Controller.layer over any TaskSupervisor", () => {
  it.scoped("Controller.layer over a decorated TaskSupervisor (same service, wrapped) builds", () =>
    Effect.gen(function*() {
      const Decorated = Layer.effect(
        TaskSupervisor.TaskSupervisor,
        Effect.map(TaskSupervisor.TaskSupervisor, (inner) => ({
          ...inner,
          add: (spec) => Effect.zipRight(Effect.logDebug(`adding ${spec.name}`), inner.add(spec))
        }))
      )
      const exit = yield* Effect.exit(Layer.build(
        Controller.layer().pipe(
          Layer.provide(Decorated),
          Layer.provide(TaskSupervisor.layer),
          Layer.provide(SupervisorConfig.layerDefaults)
        )
      ))
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? String(exit.cause) : "")
      const controller = Context.get(
        yield* Layer.build(
          Controller.layer().pipe(
            Layer.provide(Decorated),
            Layer.provide(TaskSupervisor.layer),
            Layer.provide(SupervisorConfig.layerDefaults)
          )
        ),
        Controller.Controller
      )
      const handle = yield* controller.submitAndWatch(slotted("through-the-decorator", Effect.void))
      assert.strictEqual((yield* handle.await)._tag, "Completed")
    }))

  it("over a supervisor that is not built by TaskSupervisor.layer, the registry it needs is missing: a type error", () => {
    // a TaskSupervisor of its own make: `make` alone gives the service, not the registry beside it
    const Foreign = Layer.scoped(TaskSupervisor.TaskSupervisor, TaskSupervisor.make).pipe(
      Layer.provide(SupervisorConfig.layerDefaults)
    )
    const over = Controller.layer().pipe(Layer.provide(Foreign))
    // @ts-expect-error SupervisorRegistry is still required: only TaskSupervisor.layer provides it
    const _wrong: Layer.Layer<Controller.Controller, SupervisorError.ConfigError, never> = over
    const _right: Layer.Layer<Controller.Controller, SupervisorError.ConfigError, never> = Controller.layer().pipe(
      Layer.provide(TaskSupervisor.layer),
      Layer.provide(SupervisorConfig.layerDefaults)
    )
    assert.isTrue(Layer.isLayer(_right))
  })
})

describe("shutdown order", () => {
  it.scoped("shutdown rejects queued work after ShutdownRequested is published (cause before effect)", () =>
    Effect.gen(function*() {
      const { controller, events, supervisor } = yield* trackedSupervisor({ controller: {} })
      yield* controller.submit(slotted("owner"))
      const queued = yield* controller.submitAndWatch(slotted("queued"))
      yield* settle
      yield* supervisor.shutdown
      rejectedWith(yield* queued.await, "ControllerShuttingDown")
      const requested = ofTag(events, "ShutdownRequested")[0]
      const rejected = ofTag(events, "ControllerRejected")[0]
      assert.isBelow(requested.seq, rejected.seq, "ControllerRejected(ControllerShuttingDown) before ShutdownRequested")
    }))
})

describe("controller lifecycle", () => {
  it.scoped("two controllers on one supervisor keep their own slots; remove by id reaches the right one; no fiber left", () =>
    Effect.gen(function*() {
      const { context, controller: first, events, live, supervisor } = yield* trackedSupervisor({ controller: {} })
      const second = Context.get(
        yield* Layer.build(Controller.layer().pipe(Layer.provide(Layer.succeedContext(context)))),
        Controller.Controller
      )
      const a = yield* first.submitAndWatch(slotted("a", slowToStop("1 second")))
      const b = yield* second.submitAndWatch(slotted("b", slowToStop("1 second")))
      const a2 = yield* first.submitAndWatch(slotted("a2", Effect.void))
      const b2 = yield* second.submitAndWatch(slotted("b2", Effect.void))
      yield* settle
      assert.isTrue(yield* supervisor.isAlive("a"))
      assert.isTrue(yield* supervisor.isAlive("b"))
      assert.isTrue(yield* supervisor.remove(b2.id))
      rejectedWith(yield* b2.await, "RemovedFromQueue")
      assert.strictEqual((yield* second.snapshot).totalQueued, 0)
      assert.strictEqual((yield* first.snapshot).totalQueued, 1)
      assert.isTrue(yield* supervisor.remove(a.id))
      yield* advance("1 second")
      assert.strictEqual((yield* a.await)._tag, "Canceled")
      assert.strictEqual((yield* a2.await)._tag, "Completed")
      const shutdown = yield* Effect.fork(supervisor.shutdown)
      yield* advance("1 second")
      yield* Fiber.join(shutdown)
      yield* settle
      assert.strictEqual((yield* b.await)._tag, "Canceled")
      assert.strictEqual(yield* live, 0)
      assertSeq(events)
      for (const h of [a, a2, b]) assertIdOrder(own(events), h.id)
    }))

  it.scoped("a controller built on a supervisor already shutting down refuses work; nothing starts", () =>
    Effect.gen(function*() {
      const { context, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      yield* supervisor.add(TaskSpec.make("slow", slowToStop("1 second")))
      yield* settle
      const shutdown = yield* Effect.fork(supervisor.shutdown)
      yield* settle
      const late = Context.get(
        yield* Layer.build(Controller.layer().pipe(Layer.provide(Layer.succeedContext(context)))),
        Controller.Controller
      )
      assert.strictEqual((yield* Effect.flip(late.submit(slotted("x"))))._tag, "ShuttingDown")
      yield* advance("1 second")
      yield* Fiber.join(shutdown)
      yield* settle
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("remove/cancel of a queued id after its controller closed: false, and the work was rejected", () =>
    Effect.gen(function*() {
      const { controller, scope, supervisor } = yield* controllerInItsOwnScope
      const owner = yield* controller.submitAndWatch(slotted("owner"))
      const queued = yield* controller.submitAndWatch(slotted("queued"))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      rejectedWith(yield* queued.await, "ControllerShuttingDown")
      assert.isFalse(yield* supervisor.remove(queued.id))
      assert.isFalse(yield* supervisor.cancel(queued.id))
      assert.isTrue(yield* supervisor.cancel(owner.id))
      assert.strictEqual((yield* owner.await)._tag, "Canceled")
    }))

  it.scoped("event order of controller-admitted tasks across queue, replace (force-abort) and shutdown", () =>
    Effect.gen(function*() {
      const { controller, events, live, supervisor } = yield* trackedSupervisor({ grace: "2 seconds", controller: {} })
      const q = (name: string, body: Effect.Effect<void>) =>
        controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once(name, body)).pipe(ControllerSpec.withSlot("s")))
      const r = (name: string, body: Effect.Effect<void>) =>
        controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once(name, body)).pipe(ControllerSpec.withSlot("s")))
      const o = yield* q("o", Effect.sleep("1 second"))
      const q1 = yield* q("q1", Effect.sleep("1 second"))
      yield* advance("1 second")
      const r1 = yield* r("r1", stubborn)
      const r2 = yield* r("r2", Effect.void)
      yield* settle
      assert.strictEqual((yield* q1.await)._tag, "Canceled")
      const q2 = yield* q("q2", Effect.void)
      yield* settle
      assert.strictEqual((yield* r2.await)._tag, "Completed")
      assert.strictEqual((yield* q2.await)._tag, "Completed")
      const stuck = yield* r("r3", stubborn)
      yield* settle
      const r4 = yield* r("r4", Effect.void)
      yield* settle
      const shutdown = yield* Effect.fork(Effect.exit(supervisor.shutdown))
      yield* advance("2 seconds")
      yield* Fiber.join(shutdown)
      yield* settle
      assert.strictEqual((yield* o.await)._tag, "Completed")
      rejectedWith(yield* r1.await, "SupersededByReplace")
      assert.strictEqual((yield* stuck.await)._tag, "ForceAborted")
      rejectedWith(yield* r4.await, "ControllerShuttingDown")
      assertSeq(events)
      for (const h of [o, q1, r2, q2]) assertIdOrder(own(events), h.id)
      assertIdOrder(own(events), stuck.id, { lastAttemptOpen: true })
      assert.strictEqual(yield* live, 0)
    }))
})

describe("subscriber set", () => {
  it.scoped("provided to the supervisor layer, a subscriber's requirements stay open through shutdown", () =>
    Effect.gen(function*() {
      const { seen, subscriber } = usingConnection()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        TaskSupervisor.layer.pipe(
          Layer.provide(Subscriber.layer(subscriber).pipe(Layer.provide(ConnectionLive))),
          Layer.provide(SupervisorConfig.layerDefaults)
        ),
        scope
      )
      yield* Context.get(context, TaskSupervisor.TaskSupervisor).add(TaskSpec.make("forever", neverEnding))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      assert.include(seen, "AllStoppedWithinGrace:open")
      assert.deepStrictEqual(seen.filter((s) => s.endsWith("CLOSED")), [])
    }))

  it.scoped("a subscriber layer built after the supervisor gets what follows, in seq order", () =>
    Effect.gen(function*() {
      const first = recording("first")
      const config = yield* Layer.build(SupervisorConfig.layerDefaults)
      yield* Layer.build(Subscriber.layer(first.subscriber).pipe(Layer.provide(Layer.succeedContext(config))))
      const supervisor = Context.get(
        yield* Layer.build(TaskSupervisor.layer.pipe(Layer.provide(Layer.succeedContext(config)))),
        TaskSupervisor.TaskSupervisor
      )
      yield* (yield* supervisor.add(TaskSpec.once("a", Effect.void))).await
      const late = recording("late")
      yield* Layer.build(Subscriber.layer(late.subscriber).pipe(Layer.provide(Layer.succeedContext(config))))
      yield* (yield* supervisor.add(TaskSpec.once("b", Effect.void))).await
      yield* supervisor.shutdown
      assertSeq(first.events)
      assert.deepStrictEqual(late.events, first.events.filter((e) => e.seq > 6))
    }))
})

describe("registry lifecycle", () => {
  it.scoped("run after shutdown: ShuttingDown; run twice: AlreadyRunning; shutdown during run: Canceled outcomes", () =>
    Effect.gen(function*() {
      const { supervisor: closed } = yield* trackedSupervisor({})
      yield* closed.shutdown
      assert.strictEqual((yield* Effect.flip(closed.run([TaskSpec.once("x", Effect.void)])))._tag, "ShuttingDown")

      const { live, supervisor } = yield* trackedSupervisor({})
      const running = yield* Effect.fork(supervisor.run([TaskSpec.make("forever", neverEnding)]))
      yield* settle
      assert.strictEqual((yield* Effect.flip(supervisor.run([TaskSpec.once("y", Effect.void)])))._tag, "AlreadyRunning")
      yield* supervisor.shutdown
      assert.deepStrictEqual((yield* Fiber.join(running)).map((o) => o._tag), ["Canceled"])
      assert.strictEqual((yield* Effect.flip(supervisor.run([])))._tag, "AlreadyRunning")
      assert.strictEqual((yield* Effect.flip(supervisor.add(TaskSpec.once("z", Effect.void))))._tag, "ShuttingDown")
      yield* settle
      assert.strictEqual(yield* live, 0)
    }))
})
