/**
 * How the layers compose: the supervisor layer states the config it reads, so
 * a config merged beside it is a type error; subscriber layers add to the
 * set the config layer gives and take effect provided or merged beside; the
 * controller is a service on top of the supervisor, a missing one a type error.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type * as SupervisorError from "../src/SupervisorError.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { rejectedWith } from "./utils/controller.js"
import { ofTag } from "./utils/events.js"
import { settle } from "./utils/fibers.js"
import { recording } from "./utils/recorder.js"
import { neverEnding } from "./utils/tasks.js"

describe("layers", () => {
  it("a config merged beside the supervisor layer leaves its requirement open: a type error", () => {
    const beside = Layer.merge(TaskSupervisor.layer, SupervisorConfig.layer({ grace: "1 second" }))
    // @ts-expect-error SupervisorConfig is still required: the config beside does not reach the supervisor
    const _wrong: Layer.Layer<TaskSupervisor.TaskSupervisor, SupervisorError.ConfigError, never> = beside
    const provided = TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "1 second" })))
    const _right: Layer.Layer<TaskSupervisor.TaskSupervisor, SupervisorError.ConfigError, never> = provided
    assert.isTrue(Layer.isLayer(_right))
  })

  it("a controller call without Controller.layer is a missing requirement: a type error", () => {
    const submit = Controller.submit(ControllerSpec.queue(TaskSpec.once("job", Effect.void)))
    // @ts-expect-error Controller is required
    const _wrong: Effect.Effect<number, unknown, TaskSupervisor.TaskSupervisor> = submit
    // @ts-expect-error Controller.layer requires the supervisor
    const _alone: Layer.Layer<Controller.Controller, unknown, never> = Controller.layer()
    assert.isTrue(Effect.isEffect(submit))
  })

  it.scoped("a config given by hand (not by a config layer) serves the supervisor and its controller, with no subscribers", () =>
    Effect.gen(function*() {
      const byHand = Layer.effect(SupervisorConfig.SupervisorConfig, SupervisorConfig.make({ grace: "2 seconds" }))
      const context = yield* Layer.build(
        Controller.layer().pipe(Layer.provideMerge(TaskSupervisor.layer), Layer.provide(byHand))
      )
      const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
      const handle = yield* supervisor.add(TaskSpec.once("job", Effect.void))
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      const id = yield* Context.get(context, Controller.Controller).submit(
        ControllerSpec.queue(TaskSpec.once("slotted", Effect.void))
      )
      assert.isNumber(id)
      // the supervisor of TaskSupervisor.make reads the same config alone
      const made = yield* TaskSupervisor.make.pipe(
        Effect.provideService(SupervisorConfig.SupervisorConfig, yield* SupervisorConfig.make({}))
      )
      assert.strictEqual((yield* (yield* made.add(TaskSpec.once("made", Effect.void))).await)._tag, "Completed")
    }))

  it.scoped("a subscriber layer merged beside the supervisor, over the same config, receives what follows its build", () =>
    Effect.gen(function*() {
      const beside = recording("beside")
      const provided = recording("provided")
      const context = yield* Layer.build(
        Layer.merge(
          TaskSupervisor.layer.pipe(Layer.provide(Subscriber.layer(provided.subscriber))),
          Subscriber.layer(beside.subscriber)
        ).pipe(Layer.provide(SupervisorConfig.layerDefaults))
      )
      const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
      const handle = yield* supervisor.add(TaskSpec.once("job", Effect.void))
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      yield* supervisor.shutdown
      assert.isNotEmpty(provided.events)
      assert.deepStrictEqual(beside.events, provided.events, "both got every event")
    }))

  it.scoped("each config build has subscribers of its own: two supervisors do not share them", () =>
    Effect.gen(function*() {
      const first = recording("first")
      const second = recording("second")
      const build = (subscriber: Subscriber.Subscriber) =>
        Effect.map(
          Layer.build(
            TaskSupervisor.layer.pipe(
              Layer.provide(Subscriber.layer(subscriber)),
              Layer.provide(SupervisorConfig.layerDefaults)
            )
          ),
          Context.get(TaskSupervisor.TaskSupervisor)
        )
      const a = yield* build(first.subscriber)
      const b = yield* build(second.subscriber)
      yield* (yield* a.add(TaskSpec.once("a", Effect.void))).await
      yield* (yield* b.add(TaskSpec.once("b", Effect.void))).await
      yield* settle
      assert.deepStrictEqual([...new Set(ofTag(first.events, "TaskAdded").map((e) => e.task))], ["a"])
      assert.deepStrictEqual([...new Set(ofTag(second.events, "TaskAdded").map((e) => e.task))], ["b"])
    }))

  it.scoped("a controller layer closing before its supervisor rejects its queued work and leaves the owners running", () =>
    Effect.gen(function*() {
      const supervisorContext = yield* Layer.build(
        TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))
      )
      const supervisor = Context.get(supervisorContext, TaskSupervisor.TaskSupervisor)
      const { queued, owner } = yield* Effect.scoped(Effect.gen(function*() {
        const controller = Context.get(
          yield* Layer.build(Controller.layer().pipe(Layer.provide(Layer.succeedContext(supervisorContext)))),
          Controller.Controller
        )
        const spec = (name: string) =>
          ControllerSpec.queue(TaskSpec.make(name, neverEnding)).pipe(ControllerSpec.withSlot("s"))
        const owner = yield* controller.submitAndWatch(spec("owner"))
        const queued = yield* controller.submitAndWatch(spec("queued"))
        yield* settle
        return { owner, queued }
      }))
      rejectedWith(yield* queued.await, "ControllerShuttingDown")
      assert.isTrue(yield* supervisor.isAlive("owner"), "the owner is a supervisor task, stopped by the supervisor")
      assert.isTrue(yield* supervisor.cancel(owner.id))
    }))
})
