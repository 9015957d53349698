import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as Subscriber from "../src/Subscriber.js"
import type * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import type { TaskHandle } from "../src/TaskHandle.js"
import type * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import type * as TaskSupervisor from "../src/TaskSupervisor.js"
import {
  controllerWithSubscribers,
  outcomeNow,
  recordingSupervisor,
  rejectedWith,
  stamps,
  trackedSupervisor
} from "./utils/controller.js"
import { assertDuration } from "./utils/duration.js"
import { assertSeq, assertTaskOrder, expectTaskEvents, ofId, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { kinds } from "./utils/recorder.js"
import { counting, gauge, neverEnding, slowToStop, stubborn } from "./utils/tasks.js"

const withController = (controller: Controller.Options = {}, rest: SupervisorConfig.Input = {}) =>
  recordingSupervisor({ ...rest, controller })

/** Errors capture the whole stack for the scope (Node keeps 10 frames by default, too few to see a depth grow). */
const wholeStacks = Effect.acquireRelease(
  Effect.sync(() => {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = Infinity
    return limit
  }),
  (limit) => Effect.sync(() => void (Error.stackTraceLimit = limit))
)

const tagsOfId = (events: ReadonlyArray<SupervisorEvent>, id: number) => ofId(events, id).map((e) => e._tag)

/** The single event of `tag` about task `id`. */
const oneOf = <K extends SupervisorEvent["_tag"]>(events: ReadonlyArray<SupervisorEvent>, tag: K, id: number) => {
  const found = events.filter((e): e is Extract<SupervisorEvent, { readonly _tag: K }> =>
    e._tag === tag && "id" in e && e.id === id
  )
  assert.strictEqual(found.length, 1, `one ${tag} for task ${id}`)
  return found[0]
}

const submittedReasons = (events: ReadonlyArray<SupervisorEvent>, slot: string) =>
  ofTag(events, "ControllerSubmitted").filter((e) => e.slot === slot).map((e) => [e.id, e.reason])

const transitions = (events: ReadonlyArray<SupervisorEvent>, slot: string) =>
  ofTag(events, "ControllerSlotTransition").filter((e) => e.slot === slot).map((e) => `${e.from}>${e.to} ${e.reason}`)

const idleView = (key: string): Controller.SlotView => ({
  slot: key,
  status: "Idle",
  ownerId: undefined,
  queueDepth: 0,
  statusFor: Duration.zero
})

const assertView = (
  view: Controller.SlotView,
  expected: Omit<Controller.SlotView, "statusFor"> & { readonly statusFor: Duration.DurationInput }
) => {
  assert.strictEqual(view.slot, expected.slot)
  assert.strictEqual(view.status, expected.status, `${expected.slot}: status`)
  assert.strictEqual(view.ownerId, expected.ownerId, `${expected.slot}: owner`)
  assert.strictEqual(view.queueDepth, expected.queueDepth, `${expected.slot}: depth`)
  assertDuration(view.statusFor, expected.statusFor, `${expected.slot}: statusFor`)
}

const policies = [
  ["Queue", ControllerSpec.queue],
  ["Replace", ControllerSpec.replace],
  ["DropIfRunning", ControllerSpec.dropIfRunning]
] as const

describe("ControllerSpec", () => {
  const task = TaskSpec.once("sync", Effect.void)

  it("queue, replace and dropIfRunning wrap the task with their admission and no slot override", () => {
    for (const [admission, make] of policies) {
      const spec = make(task)
      assert.strictEqual(spec.admission, admission)
      assert.strictEqual(spec.task, task)
      assert.isUndefined(spec.slotOverride)
      assert.strictEqual(ControllerSpec.slot(spec), "sync")
    }
  })

  it("make takes any admission", () => {
    for (const [admission] of policies) {
      const spec = ControllerSpec.make(admission, task)
      assert.strictEqual(spec.admission, admission)
      assert.strictEqual(spec.task, task)
      assert.isUndefined(spec.slotOverride)
    }
  })

  it("withSlot is dual and returns a new spec, leaving the original alone", () => {
    const base = ControllerSpec.replace(task)
    const piped = base.pipe(ControllerSpec.withSlot("tenant-42"))
    const direct = ControllerSpec.withSlot(base, "tenant-42")
    for (const spec of [piped, direct]) {
      assert.notStrictEqual(spec, base)
      assert.strictEqual(spec.slotOverride, "tenant-42")
      assert.strictEqual(spec.admission, "Replace")
      assert.strictEqual(spec.task, task)
      assert.isTrue(ControllerSpec.isControllerSpec(spec))
    }
    assert.isUndefined(base.slotOverride)
    assert.strictEqual(ControllerSpec.slot(piped.pipe(ControllerSpec.withSlot("other"))), "other")
  })

  it("slot is the explicit key, else the task's name", () => {
    assert.strictEqual(ControllerSpec.slot(ControllerSpec.queue(task)), "sync")
    assert.strictEqual(ControllerSpec.slot(ControllerSpec.queue(task).pipe(ControllerSpec.withSlot("k"))), "k")
    assert.strictEqual(ControllerSpec.slot(ControllerSpec.dropIfRunning(TaskSpec.once("other", Effect.void))), "other")
  })

  it("isControllerSpec accepts controller specs only", () => {
    assert.isTrue(ControllerSpec.isControllerSpec(ControllerSpec.queue(task)))
    assert.isTrue(ControllerSpec.isControllerSpec(ControllerSpec.make("Replace", task)))
    for (const other of [task, {}, null, undefined, "sync", 1, { admission: "Queue", task }]) {
      assert.isFalse(ControllerSpec.isControllerSpec(other), String(other))
    }
  })

  it("toJSON names the admission, the task and the effective slot", () => {
    assert.deepStrictEqual(ControllerSpec.queue(task).toJSON(), {
      _id: "ControllerSpec",
      admission: "Queue",
      task: "sync",
      slot: "sync"
    })
    assert.deepStrictEqual(ControllerSpec.dropIfRunning(task).pipe(ControllerSpec.withSlot("s")).toJSON(), {
      _id: "ControllerSpec",
      admission: "DropIfRunning",
      task: "sync",
      slot: "s"
    })
  })
})

describe("Controller.layer settings", () => {
  const build = (options: Controller.Options) =>
    Effect.scoped(Effect.map(withController(options), ({ controller }) => controller))

  it("defaults to queueCapacity 1024 and maxSlotQueue 100", () => {
    assert.deepStrictEqual(Controller.defaults, { queueCapacity: 1024, maxSlotQueue: 100 })
  })

  it.effect("queueCapacity must be a whole number of at least 1", () =>
    Effect.gen(function*() {
      for (const queueCapacity of [0, -1, 1.5]) {
        const error = yield* Effect.flip(build({ queueCapacity }))
        assert.strictEqual(error._tag, "ConfigError", String(queueCapacity))
        assert.strictEqual((error as { field?: string }).field, "controller.queueCapacity", String(queueCapacity))
        assert.include(error.message, "controller.queueCapacity")
      }
      yield* build({ queueCapacity: 1 })
    }))

  it.effect("maxSlotQueue may be 0 but not negative", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(build({ maxSlotQueue: -1 }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual((error as { field?: string }).field, "controller.maxSlotQueue")
      yield* build({ maxSlotQueue: 0 })
    }))

  it.scoped("an invalid controller setting fails the controller's layer", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(withController({ queueCapacity: 0 }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual((error as { field?: string }).field, "controller.queueCapacity")
    }))
})

describe("Controller", () => {
  describe("an idle slot", () => {
    for (const [admission, make] of policies) {
      it.scoped(`${admission}: admitted at once; TaskAddRequested < TaskAdded < ControllerSubmitted < transition`, () =>
        Effect.gen(function*() {
          const { controller, events, supervisor } = yield* withController()
          const handle = yield* controller.submitAndWatch(make(TaskSpec.once("job", Effect.sleep("1 second"))))
          assert.strictEqual(handle.id, 1)
          assert.strictEqual(handle.name, "job")
          // admission is synchronous: the slot has its owner before the task ran
          const snapshot = yield* controller.snapshot
          assert.strictEqual(snapshot.slots.length, 1)
          assertView(snapshot.slots[0], {
            slot: "job",
            status: "Running",
            ownerId: handle.id,
            queueDepth: 0,
            statusFor: 0
          })
          assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.id, t.name]), [[1, "job"]])

          const waiter = yield* Effect.fork(handle.await)
          yield* advance("1 second")
          assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
          assert.deepStrictEqual(Controller.slot(yield* controller.snapshot, "job"), idleView("job"))
          yield* supervisor.shutdown

          assert.deepStrictEqual(kinds(events), [
            "TaskAddRequested",
            "TaskAdded",
            "ControllerSubmitted",
            "ControllerSlotTransition",
            "AttemptStarting",
            "AttemptSucceeded",
            "TaskFinished",
            "TaskRemoved",
            "ShutdownRequested",
            "AllStoppedWithinGrace"
          ])
          assertSeq(events)
          assertTaskOrder(events, "job")
          assert.deepStrictEqual(submittedReasons(events, "job"), [[1, `admission=${admission} status=idle`]])
          const transition = ofTag(events, "ControllerSlotTransition")[0]
          assert.strictEqual(transition.slot, "job")
          assert.strictEqual(transition.from, "Idle")
          assert.strictEqual(transition.to, "Running")
          assert.strictEqual(transition.reason, "idle→running")
          assert.strictEqual(oneOf(events, "AttemptStarting", 1).at, 0)
          assert.isEmpty(ofTag(events, "ControllerRejected"))
        }))
    }

    it.scoped("submit returns the admitted task's id; an unlisted slot reads Idle", () =>
      Effect.gen(function*() {
        const { controller, supervisor } = yield* withController()
        const first = yield* controller.submit(ControllerSpec.queue(TaskSpec.once("a", neverEnding)))
        const second = yield* controller.submit(ControllerSpec.queue(TaskSpec.once("b", neverEnding)))
        assert.deepStrictEqual([first, second], [1, 2])
        const snapshot = yield* controller.snapshot
        assert.deepStrictEqual(snapshot.slots.map((v) => [v.slot, v.ownerId]), [["a", 1], ["b", 2]])
        assert.deepStrictEqual(Controller.slot(snapshot, "c"), idleView("c"))
        assert.strictEqual(Controller.slot(snapshot, "b").ownerId, 2)
        yield* supervisor.shutdown
      }))
  })

  describe("Queue", () => {
    it.scoped("FIFO: three 1 s jobs run one after another, starting at 0, 1 s and 2 s", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { log, stamped } = yield* stamps
        const submit = (name: string) =>
          controller.submitAndWatch(
            ControllerSpec.queue(TaskSpec.once(name, stamped(name, Effect.sleep("1 second")))).pipe(
              ControllerSpec.withSlot("fifo")
            )
          )
        const a = yield* submit("a")
        const b = yield* submit("b")
        const c = yield* submit("c")
        const snapshot = yield* controller.snapshot
        assertView(Controller.slot(snapshot, "fifo"), {
          slot: "fifo",
          status: "Running",
          ownerId: a.id,
          queueDepth: 2,
          statusFor: 0
        })
        assert.strictEqual(snapshot.totalQueued, 2)
        assert.strictEqual(snapshot.runningCount, 1)

        const waiter = yield* Effect.fork(Effect.all([a.await, b.await, c.await]))
        yield* advance("1 second")
        assert.deepStrictEqual(yield* Ref.get(log), ["a@0", "b@1000"])
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "fifo").ownerId, b.id)
        yield* advance("1 second")
        yield* advance("1 second")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Completed", "Completed", "Completed"])
        assert.deepStrictEqual(yield* Ref.get(log), ["a@0", "b@1000", "c@2000"])
        assert.deepStrictEqual(
          ["a", "b", "c"].map((name) => ofTag(events, "AttemptStarting", name).map((e) => e.at)),
          [[0], [1000], [2000]]
        )
        assert.deepStrictEqual(submittedReasons(events, "fifo"), [
          [a.id, "admission=Queue status=idle"],
          [b.id, "admission=Queue depth=1"],
          [c.id, "admission=Queue depth=2"],
          [b.id, "started_from_queue depth=1"],
          [c.id, "started_from_queue depth=0"]
        ])
        assert.deepStrictEqual(transitions(events, "fifo"), [
          "Idle>Running idle→running",
          "Idle>Running idle→running",
          "Idle>Running idle→running"
        ])
        // each next owner is admitted after the previous one's terminal commit
        assert.isAbove(oneOf(events, "TaskAddRequested", b.id).seq, oneOf(events, "TaskRemoved", a.id).seq)
        assert.isAbove(oneOf(events, "TaskAddRequested", c.id).seq, oneOf(events, "TaskRemoved", b.id).seq)
        for (const name of ["a", "b", "c"]) assertTaskOrder(events, name)
        assertSeq(events)
      }))

    it.scoped("list stays sorted by id when queued work registers after tasks with later ids", () =>
      Effect.gen(function*() {
        const { controller, supervisor } = yield* withController()
        const first = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.make("first", neverEnding)))
        const queued = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.make("queued", neverEnding)).pipe(ControllerSpec.withSlot("first"))
        )
        const later = yield* supervisor.add(TaskSpec.make("later", neverEnding))
        yield* settle
        assert.deepStrictEqual((yield* supervisor.list).map((t) => t.id), [first.id, later.id])
        // the queued work, with an id below `later`'s, registers only now
        yield* supervisor.cancel(first.id)
        yield* settle
        assert.isBelow(queued.id, later.id)
        assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.id, t.name]), [
          [queued.id, "queued"],
          [later.id, "later"]
        ])
        yield* supervisor.cancel(queued.id)
        yield* supervisor.cancel(later.id)
        // once the registry is empty, new work is in id order again
        const next = yield* supervisor.add(TaskSpec.make("next", neverEnding))
        assert.deepStrictEqual((yield* supervisor.list).map((t) => t.id), [next.id])
      }))

    it.scoped("the next owner starts only after the previous one's cleanup, and may reuse its name", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const first = yield* controller.submitAndWatch(
          ControllerSpec.queue(
            TaskSpec.once("sync", Effect.sleep("1 second").pipe(Effect.ensuring(Effect.sleep("500 millis"))))
          )
        )
        const { runs, task } = yield* counting(Effect.void)
        const second = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("sync", task)))
        const waiter = yield* Effect.fork(Effect.all([first.await, second.await]))

        yield* advance("1 second")
        // the body is done, its cleanup is not: the slot still belongs to the first run
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.deepStrictEqual((yield* supervisor.list).map((t) => t.id), [first.id])
        assertView(Controller.slot(yield* controller.snapshot, "sync"), {
          slot: "sync",
          status: "Running",
          ownerId: first.id,
          queueDepth: 1,
          statusFor: "1 second"
        })
        yield* advance("499 millis")
        assert.strictEqual(yield* Ref.get(runs), 0)
        yield* advance("1 millis")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Completed", "Completed"])
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.strictEqual(oneOf(events, "AttemptSucceeded", first.id).at, 1500)
        const started = oneOf(events, "AttemptStarting", second.id)
        assert.strictEqual(started.at, 1500)
        assert.isAbove(started.seq, oneOf(events, "TaskRemoved", first.id).seq)
        assert.deepStrictEqual(tagsOfId(events, second.id).slice(0, 5), [
          "ControllerSubmitted",
          "TaskAddRequested",
          "TaskAdded",
          "ControllerSubmitted",
          "AttemptStarting"
        ])
        assert.isEmpty(ofTag(events, "TaskAddFailed"))
      }))

    it.scoped("maxSlotQueue: a Queue submission beyond the slot's limit is rejected QueueFull; the rest is kept", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController({ maxSlotQueue: 2 })
        const submit = (name: string) =>
          controller.submitAndWatch(
            ControllerSpec.queue(TaskSpec.once(name, Effect.sleep("1 second"))).pipe(ControllerSpec.withSlot("s"))
          )
        const owner = yield* submit("owner")
        const q1 = yield* submit("q1")
        const q2 = yield* submit("q2")
        const q3 = yield* submit("q3")
        const reason = rejectedWith(yield* outcomeNow(q3), "QueueFull")
        assert.strictEqual(reason, "slot queue is full: 2/2")
        const snapshot = yield* controller.snapshot
        assert.strictEqual(Controller.slot(snapshot, "s").queueDepth, 2)
        assert.strictEqual(Controller.slot(snapshot, "s").ownerId, owner.id)

        const waiter = yield* Effect.fork(Effect.all([owner.await, q1.await, q2.await]))
        yield* advance("1 second")
        yield* advance("1 second")
        yield* advance("1 second")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Completed", "Completed", "Completed"])
        const rejected = oneOf(events, "ControllerRejected", q3.id)
        assert.strictEqual(rejected.slot, "s")
        assert.strictEqual(rejected.rejection, "QueueFull")
        assert.strictEqual(rejected.reason, reason)
        assert.deepStrictEqual(tagsOfId(events, q3.id), ["ControllerRejected"])
        assert.isEmpty(ofTag(events, "AttemptStarting", "q3"))
      }))

    it.scoped("maxSlotQueue 0: nothing may wait; the owner keeps running", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController({ maxSlotQueue: 0 })
        const owner = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.once("s", Effect.sleep("1 second")))
        )
        const { runs, task } = yield* counting(Effect.void)
        const late = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("s", task)))
        assert.strictEqual(rejectedWith(yield* outcomeNow(late), "QueueFull"), "slot queue is full: 0/0")
        const snapshot = yield* controller.snapshot
        assertView(Controller.slot(snapshot, "s"), {
          slot: "s",
          status: "Running",
          ownerId: owner.id,
          queueDepth: 0,
          statusFor: 0
        })
        assert.strictEqual(snapshot.totalQueued, 0)
        const waiter = yield* Effect.fork(owner.await)
        yield* advance("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.deepStrictEqual(tagsOfId(events, late.id), ["ControllerRejected"])
        assert.isEmpty(ofTag(events, "TaskRemoveRequested"))
      }))

    it.scoped("queueCapacity bounds the submissions waiting across all slots, and frees up as they start", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController({ queueCapacity: 2 })
        const submit = (name: string, slot: string, body: Effect.Effect<void> = Effect.sleep("1 second")) =>
          controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once(name, body)).pipe(ControllerSpec.withSlot(slot)))
        const a = yield* submit("a", "A")
        const b = yield* submit("b", "B", neverEnding)
        const a2 = yield* submit("a2", "A")
        const b2 = yield* submit("b2", "B")
        const a3 = yield* submit("a3", "A")
        assert.strictEqual(rejectedWith(yield* outcomeNow(a3), "QueueFull"), "controller queue is full: 2/2")
        let snapshot = yield* controller.snapshot
        assert.strictEqual(snapshot.totalQueued, 2)
        assert.deepStrictEqual(snapshot.slots.map((v) => [v.slot, v.queueDepth]), [["A", 1], ["B", 1]])

        // a's end starts a2 from the queue, which frees one place
        yield* advance("1 second")
        assert.strictEqual((yield* outcomeNow(a))?._tag, "Completed")
        snapshot = yield* controller.snapshot
        assert.strictEqual(snapshot.totalQueued, 1)
        assert.strictEqual(Controller.slot(snapshot, "A").ownerId, a2.id)
        const b3 = yield* submit("b3", "B")
        const a4 = yield* submit("a4", "A")
        assert.isUndefined(yield* outcomeNow(b3))
        assert.strictEqual(rejectedWith(yield* outcomeNow(a4), "QueueFull"), "controller queue is full: 2/2")
        snapshot = yield* controller.snapshot
        assert.deepStrictEqual(snapshot.slots.map((v) => [v.slot, v.queueDepth]), [["A", 0], ["B", 2]])
        assert.strictEqual(snapshot.totalQueued, 2)

        yield* supervisor.shutdown
        assert.deepStrictEqual(
          ofTag(events, "ControllerRejected").map((e) => [e.id, e.slot, e.rejection]),
          [[a3.id, "A", "QueueFull"], [a4.id, "A", "QueueFull"], [b2.id, "B", "ControllerShuttingDown"], [
            b3.id,
            "B",
            "ControllerShuttingDown"
          ]]
        )
        assert.strictEqual((yield* b.await)._tag, "Canceled")
        assert.strictEqual((yield* a2.await)._tag, "Canceled")
      }))

    // queueCapacity bounds every submission that waits, whatever its admission
    it.scoped("queueCapacity also bounds a replacement that would wait (the total never exceeds it)", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController({ queueCapacity: 1 })
        const a = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("a", neverEnding)))
        const b = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("b", neverEnding)))
        const a2 = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("a", neverEnding)))
        assert.isUndefined(yield* outcomeNow(a2))
        const b2 = yield* controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("b", neverEnding)))
        const snapshot = yield* controller.snapshot
        assert.isAtMost(snapshot.totalQueued, 1, "queued work across slots exceeds queueCapacity")
        // the replacement cannot wait, so it is turned away and the owner is not stopped
        assert.strictEqual(rejectedWith(yield* outcomeNow(b2), "QueueFull"), "controller queue is full: 1/1")
        assert.strictEqual(Controller.slot(snapshot, "b").status, "Running")
        assert.strictEqual(Controller.slot(snapshot, "b").ownerId, b.id)
        yield* supervisor.shutdown
        assert.isEmpty(ofId(events, b.id).filter((e) => e._tag === "TaskRemoveRequested"))
        assert.strictEqual((yield* a.await)._tag, "Canceled")
      }))
  })

  describe("DropIfRunning", () => {
    it.scoped("a busy slot rejects SlotBusy; the owner is untouched and the rejected body never runs", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const owner = yield* controller.submitAndWatch(
          ControllerSpec.dropIfRunning(TaskSpec.once("job", Effect.sleep("1 second")))
        )
        const { runs, task } = yield* counting(Effect.void)
        const dropped = yield* controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once("job", task)))
        const reason = rejectedWith(yield* outcomeNow(dropped), "SlotBusy")
        assert.strictEqual(reason, "slot is busy; DropIfRunning rejected the submission (running)")
        assertView(Controller.slot(yield* controller.snapshot, "job"), {
          slot: "job",
          status: "Running",
          ownerId: owner.id,
          queueDepth: 0,
          statusFor: 0
        })
        const waiter = yield* Effect.fork(owner.await)
        yield* advance("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 0)
        const rejected = oneOf(events, "ControllerRejected", dropped.id)
        assert.deepStrictEqual([rejected.slot, rejected.rejection, rejected.reason], ["job", "SlotBusy", reason])
        assert.deepStrictEqual(tagsOfId(events, dropped.id), ["ControllerRejected"])
        assert.deepStrictEqual(tagsOfId(events, owner.id), [
          "TaskAddRequested",
          "TaskAdded",
          "ControllerSubmitted",
          "AttemptStarting",
          "AttemptSucceeded",
          "TaskFinished",
          "TaskRemoved"
        ])
        assert.strictEqual(oneOf(events, "AttemptSucceeded", owner.id).at, 1000)
      }))

    it.scoped("a terminating slot is busy too", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const owner = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.once("job", slowToStop("1 second")))
        )
        yield* settle
        const next = yield* controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("job", Effect.void)))
        const { runs, task } = yield* counting(Effect.void)
        const dropped = yield* controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once("job", task)))
        assert.strictEqual(
          rejectedWith(yield* outcomeNow(dropped), "SlotBusy"),
          "slot is busy; DropIfRunning rejected the submission (terminating)"
        )
        const waiter = yield* Effect.fork(Effect.all([owner.await, next.await]))
        yield* advance("1 second")
        assert.deepStrictEqual((yield* Fiber.join(waiter)).map((o) => o._tag), ["Canceled", "Completed"])
        yield* supervisor.shutdown
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.deepStrictEqual(tagsOfId(events, dropped.id), ["ControllerRejected"])
      }))
  })

  describe("Replace", () => {
    it.scoped("stops the owner (Canceled); the replacement starts only after the owner's terminal cleanup", () =>
      Effect.gen(function*() {
        const { controller, events, live, supervisor } = yield* trackedSupervisor({ controller: {} })
        const { log, stamped } = yield* stamps
        const owner = yield* controller.submitAndWatch(
          ControllerSpec.replace(TaskSpec.once("old", stamped("old", slowToStop("2 seconds")))).pipe(
            ControllerSpec.withSlot("r")
          )
        )
        yield* advance("1 second")
        const replacement = yield* controller.submitAndWatch(
          ControllerSpec.replace(TaskSpec.once("new", stamped("new", Effect.sleep("1 second")))).pipe(
            ControllerSpec.withSlot("r")
          )
        )
        assertView(Controller.slot(yield* controller.snapshot, "r"), {
          slot: "r",
          status: "Terminating",
          ownerId: owner.id,
          queueDepth: 1,
          statusFor: 0
        })
        yield* advance("1999 millis")
        assert.deepStrictEqual(yield* Ref.get(log), ["old@0"])
        assert.isUndefined(yield* outcomeNow(owner))
        assertView(Controller.slot(yield* controller.snapshot, "r"), {
          slot: "r",
          status: "Terminating",
          ownerId: owner.id,
          queueDepth: 1,
          statusFor: "1999 millis"
        })
        yield* advance("1 millis")
        assert.strictEqual((yield* outcomeNow(owner))?._tag, "Canceled")
        assert.deepStrictEqual(yield* Ref.get(log), ["old@0", "new@3000"])
        assertView(Controller.slot(yield* controller.snapshot, "r"), {
          slot: "r",
          status: "Running",
          ownerId: replacement.id,
          queueDepth: 0,
          statusFor: 0
        })
        const waiter = yield* Effect.fork(replacement.await)
        yield* advance("1 second")
        assert.strictEqual((yield* Fiber.join(waiter))._tag, "Completed")
        yield* supervisor.shutdown
        yield* settle
        assert.strictEqual(yield* live, 0, "fibers of the supervisor left after shutdown")

        expectTaskEvents(events, "old", ["AttemptStarting", "TaskRemoveRequested", "AttemptCanceled"])
        assert.deepStrictEqual(submittedReasons(events, "r"), [
          [owner.id, "admission=Replace status=idle"],
          [replacement.id, "admission=Replace depth=1"],
          [replacement.id, "started_from_queue depth=0"]
        ])
        assert.deepStrictEqual(transitions(events, "r"), [
          "Idle>Running idle→running",
          "Running>Terminating running→terminating (replace)",
          "Idle>Running idle→running"
        ])
        const toTerminating = ofTag(events, "ControllerSlotTransition")[1]
        assert.strictEqual(toTerminating.at, 1000)
        const removeRequested = oneOf(events, "TaskRemoveRequested", owner.id)
        assert.strictEqual(removeRequested.at, 1000)
        assert.isUndefined(removeRequested.reason)
        const started = oneOf(events, "AttemptStarting", replacement.id)
        assert.strictEqual(started.at, 3000)
        assert.isAbove(started.seq, oneOf(events, "TaskRemoved", owner.id).seq)
        assertTaskOrder(events, "old")
        assertTaskOrder(events, "new")
        assertSeq(events)
      }))

    it.scoped("a stubborn owner is force-aborted after the grace, and only then does the replacement start", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController({}, { grace: "3 seconds" })
        const owner = yield* controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("job", stubborn)))
        yield* settle
        const { runs, task } = yield* counting(Effect.void)
        const replacement = yield* controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("job", task)))
        yield* advance("2999 millis")
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.isUndefined(yield* outcomeNow(owner))
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "job").status, "Terminating")
        yield* advance("1 millis")
        assert.strictEqual((yield* outcomeNow(owner))?._tag, "ForceAborted")
        assert.strictEqual((yield* outcomeNow(replacement))?._tag, "Completed")
        assert.strictEqual(yield* Ref.get(runs), 1)
        yield* supervisor.shutdown

        const finished = oneOf(events, "TaskFinished", owner.id)
        assert.strictEqual(finished.outcome._tag, "ForceAborted")
        assert.strictEqual(finished.at, 3000)
        const started = oneOf(events, "AttemptStarting", replacement.id)
        assert.strictEqual(started.at, 3000)
        assert.isAbove(started.seq, oneOf(events, "TaskRemoved", owner.id).seq)
        assert.isEmpty(ofTag(events, "GraceExceeded"))
      }))

    it.scoped("latest replace wins: a waiting replacement is rejected SupersededByReplace and never runs", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { log, stamped } = yield* stamps
        const submit = (name: string, body: Effect.Effect<void> = Effect.void) =>
          controller.submitAndWatch(
            ControllerSpec.replace(TaskSpec.once(name, stamped(name, body))).pipe(ControllerSpec.withSlot("s"))
          )
        const owner = yield* submit("owner", slowToStop("1 second"))
        yield* settle
        const r1 = yield* submit("r1")
        const r2 = yield* submit("r2")
        assert.strictEqual(
          rejectedWith(yield* outcomeNow(r1), "SupersededByReplace"),
          "superseded by a newer replacement"
        )
        const r3 = yield* submit("r3")
        assert.strictEqual(
          rejectedWith(yield* outcomeNow(r2), "SupersededByReplace"),
          "superseded by a newer replacement"
        )
        const snapshot = yield* controller.snapshot
        assert.strictEqual(snapshot.totalQueued, 1)
        assertView(Controller.slot(snapshot, "s"), {
          slot: "s",
          status: "Terminating",
          ownerId: owner.id,
          queueDepth: 1,
          statusFor: 0
        })
        const waiter = yield* Effect.fork(Effect.all([owner.await, r3.await]))
        yield* advance("1 second")
        assert.deepStrictEqual((yield* Fiber.join(waiter)).map((o) => o._tag), ["Canceled", "Completed"])
        yield* supervisor.shutdown

        assert.deepStrictEqual(yield* Ref.get(log), ["owner@0", "r3@1000"])
        assert.deepStrictEqual(submittedReasons(events, "s"), [
          [owner.id, "admission=Replace status=idle"],
          [r1.id, "admission=Replace depth=1"],
          [r2.id, "admission=Replace status=terminating depth=1"],
          [r3.id, "admission=Replace status=terminating depth=1"],
          [r3.id, "started_from_queue depth=0"]
        ])
        assert.deepStrictEqual(
          ofTag(events, "ControllerRejected").map((e) => [e.id, e.slot, e.rejection, e.reason]),
          [
            [r1.id, "s", "SupersededByReplace", "superseded by a newer replacement"],
            [r2.id, "s", "SupersededByReplace", "superseded by a newer replacement"]
          ]
        )
        for (const displaced of [r1, r2]) {
          assert.deepStrictEqual(tagsOfId(events, displaced.id), ["ControllerSubmitted", "ControllerRejected"])
        }
        // one stop of the owner, however many replacements came
        assert.strictEqual(ofTag(events, "TaskRemoveRequested").length, 1)
        assert.strictEqual(ofTag(events, "ControllerSlotTransition").filter((e) => e.to === "Terminating").length, 1)
      }))

    it.scoped("queued Queue work is not displaced: it stays behind the replacement head", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { log, stamped } = yield* stamps
        const submit = (
          make: typeof ControllerSpec.queue,
          name: string,
          body: Effect.Effect<void> = Effect.sleep("1 second")
        ) =>
          controller.submitAndWatch(make(TaskSpec.once(name, stamped(name, body))).pipe(ControllerSpec.withSlot("s")))
        const owner = yield* submit(ControllerSpec.queue, "owner", slowToStop("1 second"))
        yield* settle
        const q1 = yield* submit(ControllerSpec.queue, "q1")
        const q2 = yield* submit(ControllerSpec.queue, "q2")
        const r1 = yield* submit(ControllerSpec.replace, "r1")
        const r2 = yield* submit(ControllerSpec.replace, "r2")
        rejectedWith(yield* outcomeNow(r1), "SupersededByReplace")
        assert.isUndefined(yield* outcomeNow(q1))
        assert.isUndefined(yield* outcomeNow(q2))
        const snapshot = yield* controller.snapshot
        assert.strictEqual(Controller.slot(snapshot, "s").queueDepth, 3)
        assert.strictEqual(snapshot.totalQueued, 3)

        const waiter = yield* Effect.fork(Effect.all([owner.await, r2.await, q1.await, q2.await]))
        yield* advance("1 second")
        yield* advance("1 second")
        yield* advance("1 second")
        yield* advance("1 second")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Canceled", "Completed", "Completed", "Completed"])
        assert.deepStrictEqual(yield* Ref.get(log), ["owner@0", "r2@1000", "q1@2000", "q2@3000"])
        assert.deepStrictEqual(submittedReasons(events, "s").slice(3, 5), [
          [r1.id, "admission=Replace depth=3"],
          [r2.id, "admission=Replace status=terminating depth=3"]
        ])
      }))

    it.scoped("a replace of an owner already being removed leaves no force-abort timer behind", () =>
      Effect.gen(function*() {
        const { controller, events, live, supervisor } = yield* trackedSupervisor({
          controller: {},
          grace: "10 seconds"
        })
        const owner = yield* controller.submitAndWatch(
          ControllerSpec.replace(TaskSpec.once("job", slowToStop("1 second")))
        )
        yield* settle
        // the remove claims the owner's stop and starts its force-abort timer; the replace below must not claim it
        // again (a second timer would replace the first, which then outlives the task and the shutdown)
        assert.isTrue(yield* supervisor.remove(owner.id))
        // a stop by id does not make the slot Terminating
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "job").status, "Running")
        const replacement = yield* controller.submitAndWatch(
          ControllerSpec.replace(TaskSpec.once("job", Effect.sleep("1 second")))
        )
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "job").status, "Terminating")
        yield* advance("1 second")
        assert.strictEqual((yield* outcomeNow(owner))?._tag, "Canceled")
        yield* advance("1 second")
        assert.strictEqual((yield* outcomeNow(replacement))?._tag, "Completed")
        yield* supervisor.shutdown
        yield* settle
        assert.strictEqual(oneOf(events, "AttemptStarting", replacement.id).at, 1000)
        assert.strictEqual(
          yield* live,
          0,
          "a force-abort timer of the owner is still sleeping after shutdown (the owner was claimed twice)"
        )
      }))
  })

  describe("slot keys", () => {
    it.scoped("withSlot puts differently named tasks into one slot; by default each task name is its own slot", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { log, stamped } = yield* stamps
        const task = (name: string) => TaskSpec.once(name, stamped(name, Effect.sleep("1 second")))
        const shared1 = yield* controller.submitAndWatch(
          ControllerSpec.queue(task("x")).pipe(ControllerSpec.withSlot("k"))
        )
        const shared2 = yield* controller.submitAndWatch(
          ControllerSpec.queue(task("y")).pipe(ControllerSpec.withSlot("k"))
        )
        const own1 = yield* controller.submitAndWatch(ControllerSpec.queue(task("u")))
        const own2 = yield* controller.submitAndWatch(ControllerSpec.queue(task("v")))
        const snapshot = yield* controller.snapshot
        assert.deepStrictEqual(
          snapshot.slots.map((v) => [v.slot, v.ownerId, v.queueDepth]),
          [["k", shared1.id, 1], ["u", own1.id, 0], ["v", own2.id, 0]]
        )
        const waiter = yield* Effect.fork(Effect.all([shared1.await, shared2.await, own1.await, own2.await]))
        yield* advance("1 second")
        yield* advance("1 second")
        assert.deepStrictEqual((yield* Fiber.join(waiter)).map((o) => o._tag), [
          "Completed",
          "Completed",
          "Completed",
          "Completed"
        ])
        yield* supervisor.shutdown
        assert.deepStrictEqual([...(yield* Ref.get(log))].sort(), ["u@0", "v@0", "x@0", "y@1000"])
        assert.deepStrictEqual(
          ofTag(events, "ControllerSubmitted").map((e) => [e.id, e.slot]),
          [[shared1.id, "k"], [shared2.id, "k"], [own1.id, "u"], [own2.id, "v"], [shared2.id, "k"]]
        )
      }))

    it.scoped("an empty slot key fails with ConfigError and nothing is published", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const error = yield* Effect.flip(
          controller.submit(ControllerSpec.queue(TaskSpec.once("job", Effect.void)).pipe(ControllerSpec.withSlot("")))
        )
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual((error as { field?: string }).field, "slot")
        yield* supervisor.shutdown
        assert.deepStrictEqual(kinds(events), ["ShutdownRequested", "AllStoppedWithinGrace"])
      }))
  })

  describe("remove and cancel of queued work", () => {
    const setup = Effect.gen(function*() {
      const { controller, events, supervisor } = yield* withController()
      const { runs, task } = yield* counting(Effect.sleep("1 second"))
      const submit = (name: string) =>
        controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once(name, task)).pipe(ControllerSpec.withSlot("s")))
      const owner = yield* submit("owner")
      const q1 = yield* submit("q1")
      const q2 = yield* submit("q2")
      const q3 = yield* submit("q3")
      return { controller, events, owner, q1, q2, q3, runs, supervisor }
    })

    it.scoped("remove by id takes it off the queue: TaskRemoveRequested, then ControllerRejected(RemovedFromQueue)", () =>
      Effect.gen(function*() {
        const { controller, events, owner, q1, q2, q3, runs, supervisor } = yield* setup
        assert.isTrue(yield* supervisor.remove(q2.id))
        assert.strictEqual(
          rejectedWith(yield* outcomeNow(q2), "RemovedFromQueue"),
          "removed from controller queue before start"
        )
        assert.isFalse(yield* supervisor.remove(q2.id), "a second remove finds it gone")
        const snapshot = yield* controller.snapshot
        assert.strictEqual(Controller.slot(snapshot, "s").queueDepth, 2)
        assert.strictEqual(snapshot.totalQueued, 2)
        assert.strictEqual(Controller.slot(snapshot, "s").ownerId, owner.id)

        const waiter = yield* Effect.fork(Effect.all([owner.await, q1.await, q3.await]))
        yield* advance("1 second")
        yield* advance("1 second")
        yield* advance("1 second")
        assert.deepStrictEqual((yield* Fiber.join(waiter)).map((o) => o._tag), ["Completed", "Completed", "Completed"])
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 3)
        assert.deepStrictEqual(tagsOfId(events, q2.id), [
          "ControllerSubmitted",
          "TaskRemoveRequested",
          "ControllerRejected"
        ])
        const requested = oneOf(events, "TaskRemoveRequested", q2.id)
        assert.strictEqual(requested.task, "q2")
        assert.isUndefined(requested.reason)
        const rejected = oneOf(events, "ControllerRejected", q2.id)
        assert.deepStrictEqual([rejected.slot, rejected.rejection, rejected.reason], [
          "s",
          "RemovedFromQueue",
          "removed from controller queue before start"
        ])
        assert.strictEqual(rejected.seq, requested.seq + 1)
        // the rest of the queue keeps its order
        assert.deepStrictEqual(
          ["owner", "q1", "q3"].map((name) => ofTag(events, "AttemptStarting", name).map((e) => e.at)),
          [[0], [1000], [2000]]
        )
      }))

    it.scoped("cancel by id does the same with reason manual_cancel; a second cancel returns false", () =>
      Effect.gen(function*() {
        const { controller, events, owner, q1, q2, q3, runs, supervisor } = yield* setup
        assert.isTrue(yield* supervisor.cancel(q1.id))
        rejectedWith(yield* outcomeNow(q1), "RemovedFromQueue")
        assert.isFalse(yield* supervisor.cancel(q1.id))
        assert.isTrue(yield* supervisor.cancel(q3.id))
        rejectedWith(yield* outcomeNow(q3), "RemovedFromQueue")
        // the owner is not affected
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "s").status, "Running")
        assert.isUndefined(yield* outcomeNow(owner))
        const waiter = yield* Effect.fork(Effect.all([owner.await, q2.await]))
        yield* advance("1 second")
        yield* advance("1 second")
        assert.deepStrictEqual((yield* Fiber.join(waiter)).map((o) => o._tag), ["Completed", "Completed"])
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 2)
        for (const removed of [q1, q3]) {
          assert.deepStrictEqual(tagsOfId(events, removed.id), [
            "ControllerSubmitted",
            "TaskRemoveRequested",
            "ControllerRejected"
          ])
          assert.strictEqual(oneOf(events, "TaskRemoveRequested", removed.id).reason, "manual_cancel")
          assert.strictEqual(oneOf(events, "ControllerRejected", removed.id).rejection, "RemovedFromQueue")
        }
      }))

    it.scoped("ids of rejected work are gone (false), an id never issued is not found; remove of the owner lets the queue advance", () =>
      Effect.gen(function*() {
        const { controller, events, owner, q1, runs, supervisor } = yield* setup
        const dropped = yield* controller.submitAndWatch(
          ControllerSpec.dropIfRunning(TaskSpec.once("d", Effect.void)).pipe(ControllerSpec.withSlot("s"))
        )
        rejectedWith(yield* outcomeNow(dropped), "SlotBusy")
        assert.isFalse(yield* supervisor.remove(dropped.id))
        assert.isFalse(yield* supervisor.cancel(dropped.id))
        assert.strictEqual((yield* Effect.flip(supervisor.remove(999)))._tag, "TaskNotFound")

        assert.isTrue(yield* supervisor.cancel(owner.id))
        assert.strictEqual((yield* owner.await)._tag, "Canceled")
        yield* settle
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "s").ownerId, q1.id)
        assert.strictEqual(yield* Ref.get(runs), 2)
        yield* supervisor.shutdown
        assert.strictEqual(oneOf(events, "AttemptStarting", q1.id).at, 0)
        assert.isEmpty(ofTag(events, "ControllerSlotTransition").filter((e) => e.to === "Terminating"))
      }))
  })

  describe("registry rejection", () => {
    it.scoped("a name registered elsewhere is rejected AlreadyExists by the registry and the slot moves on", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const direct = yield* supervisor.add(TaskSpec.once("dup", neverEnding))
        const { runs, task } = yield* counting(Effect.sleep("1 second"))
        const submit = (name: string) =>
          controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once(name, task)).pipe(ControllerSpec.withSlot("s")))
        const owner = yield* submit("owner")
        const dup = yield* submit("dup")
        const after = yield* submit("after")
        const waiter = yield* Effect.fork(Effect.all([owner.await, dup.await, after.await]))
        yield* advance("1 second")
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "s").ownerId, after.id)
        yield* advance("1 second")
        const [ownerOutcome, dupOutcome, afterOutcome] = yield* Fiber.join(waiter)
        assert.strictEqual(ownerOutcome._tag, "Completed")
        assert.strictEqual(rejectedWith(dupOutcome, "AlreadyExists"), "a registered task already uses this name")
        assert.strictEqual(afterOutcome._tag, "Completed")
        assert.strictEqual(yield* Ref.get(runs), 2)
        assert.isUndefined(yield* outcomeNow(direct))
        yield* supervisor.shutdown

        assert.deepStrictEqual(tagsOfId(events, dup.id), ["ControllerSubmitted", "TaskAddRequested", "TaskAddFailed"])
        const failed = oneOf(events, "TaskAddFailed", dup.id)
        assert.strictEqual(failed.rejection, "AlreadyExists")
        assert.isEmpty(ofTag(events, "ControllerRejected"))
        assert.strictEqual(oneOf(events, "AttemptStarting", after.id).at, 1000)
        assert.deepStrictEqual(submittedReasons(events, "s").slice(3), [[after.id, "started_from_queue depth=0"]])
      }))

    it.scoped("at an idle slot the rejected submission leaves the slot idle", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        yield* supervisor.add(TaskSpec.once("dup", neverEnding))
        const handle = yield* controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once("dup", Effect.void)))
        rejectedWith(yield* outcomeNow(handle), "AlreadyExists")
        const snapshot = yield* controller.snapshot
        assert.deepStrictEqual(snapshot.slots, [])
        assert.deepStrictEqual(Controller.slot(snapshot, "dup"), idleView("dup"))
        // the slot is free for the next submission
        const next = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.once("fresh", Effect.void)).pipe(
            ControllerSpec.withSlot("dup")
          )
        )
        assert.strictEqual((yield* next.await)._tag, "Completed")
        yield* supervisor.shutdown
        assert.deepStrictEqual(tagsOfId(events, handle.id), ["TaskAddRequested", "TaskAddFailed"])
        assert.isEmpty(ofTag(events, "ControllerRejected"))
      }))
  })

  describe("shutdown", () => {
    it.scoped("rejects all queued work ControllerShuttingDown, starts none, and drains the owners", () =>
      Effect.gen(function*() {
        const { controller, events, live, supervisor } = yield* trackedSupervisor({ controller: {} })
        const { runs, task } = yield* counting(Effect.void)
        const queued = (name: string, slot: string, make: typeof ControllerSpec.queue = ControllerSpec.queue) =>
          controller.submitAndWatch(make(TaskSpec.once(name, task)).pipe(ControllerSpec.withSlot(slot)))
        const a = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.once("a", slowToStop("2 seconds"))).pipe(ControllerSpec.withSlot("A"))
        )
        const b = yield* controller.submitAndWatch(
          ControllerSpec.queue(TaskSpec.once("b", slowToStop("1 second"))).pipe(ControllerSpec.withSlot("B"))
        )
        yield* settle
        const a1 = yield* queued("a1", "A")
        const a2 = yield* queued("a2", "A")
        const b1 = yield* queued("b1", "B", ControllerSpec.replace)
        yield* settle
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.strictEqual(Controller.slot(yield* controller.snapshot, "B").status, "Terminating")

        const shutdown = yield* Effect.fork(supervisor.shutdown)
        yield* settle
        for (const handle of [a1, a2, b1]) {
          assert.strictEqual(
            rejectedWith(yield* outcomeNow(handle), "ControllerShuttingDown"),
            "controller is shutting down"
          )
        }
        assert.deepStrictEqual((yield* controller.snapshot).totalQueued, 0)
        const late = yield* Effect.flip(controller.submit(ControllerSpec.queue(TaskSpec.once("late", task))))
        assert.strictEqual(late._tag, "ShuttingDown")
        const lateWatched = yield* Effect.flip(
          controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("a", task)))
        )
        assert.strictEqual(lateWatched._tag, "ShuttingDown")
        // the owners take their cleanup time, like any task
        assert.isUndefined(yield* outcomeNow(a))
        yield* advance("1 second")
        assert.strictEqual((yield* outcomeNow(b))?._tag, "Canceled")
        assert.isUndefined(yield* outcomeNow(a))
        yield* advance("1 second")
        yield* Fiber.join(shutdown)
        yield* settle
        assert.strictEqual(yield* live, 0)

        assert.strictEqual((yield* a.await)._tag, "Canceled")
        assert.strictEqual((yield* b.await)._tag, "Canceled")
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.deepStrictEqual(
          ofTag(events, "ControllerRejected").map((e) => [e.id, e.slot, e.rejection, e.reason]),
          [
            [a1.id, "A", "ControllerShuttingDown", "controller is shutting down"],
            [a2.id, "A", "ControllerShuttingDown", "controller is shutting down"],
            [b1.id, "B", "ControllerShuttingDown", "controller is shutting down"]
          ]
        )
        for (const handle of [a1, a2, b1]) {
          assert.deepStrictEqual(tagsOfId(events, handle.id), ["ControllerSubmitted", "ControllerRejected"])
        }
        // the queue never advanced: the owners' ends admitted nothing
        assert.strictEqual(ofTag(events, "TaskAddRequested").length, 2)
        assert.strictEqual(ofTag(events, "ControllerSubmitted").filter((e) => e.reason.startsWith("started")).length, 0)
        assert.strictEqual(oneOf(events, "TaskFinished", a.id).at, 2000)
        assert.strictEqual(oneOf(events, "TaskFinished", b.id).at, 1000)
        assert.deepStrictEqual(kinds(events).slice(-1), ["AllStoppedWithinGrace"])
        // shutdown's own stops publish no TaskRemoveRequested; b's comes from the replace
        assert.deepStrictEqual(ofTag(events, "TaskRemoveRequested").map((e) => e.id), [b.id])
      }))
  })

  it.scoped("controllerSnapshot: slots sorted by key, status, owner, depth, statusFor, runningCount, totalQueued", () =>
    Effect.gen(function*() {
      const { controller, supervisor } = yield* withController()
      const submit = (make: typeof ControllerSpec.queue, name: string, slot: string, body: Effect.Effect<void>) =>
        controller.submitAndWatch(make(TaskSpec.once(name, body)).pipe(ControllerSpec.withSlot(slot)))
      const c = yield* submit(ControllerSpec.queue, "c", "c", slowToStop("2 seconds"))
      const a = yield* submit(ControllerSpec.queue, "a", "a", neverEnding)
      const aNext = yield* submit(ControllerSpec.queue, "a-next", "a", neverEnding)
      let snapshot = yield* controller.snapshot
      assert.deepStrictEqual(snapshot.slots.map((v) => v.slot), ["a", "c"])
      assert.strictEqual(snapshot.runningCount, 2)
      assert.strictEqual(snapshot.totalQueued, 1)

      yield* advance("1 second")
      const b = yield* submit(ControllerSpec.queue, "b", "b", neverEnding)
      const c2 = yield* submit(ControllerSpec.replace, "c2", "c", neverEnding)
      const bNext = yield* submit(ControllerSpec.queue, "b-next", "b", neverEnding)
      yield* advance("500 millis")
      snapshot = yield* controller.snapshot
      assert.deepStrictEqual(snapshot.slots.map((v) => v.slot), ["a", "b", "c"])
      assertView(snapshot.slots[0], { slot: "a", status: "Running", ownerId: a.id, queueDepth: 1, statusFor: 1500 })
      assertView(snapshot.slots[1], { slot: "b", status: "Running", ownerId: b.id, queueDepth: 1, statusFor: 500 })
      assertView(snapshot.slots[2], { slot: "c", status: "Terminating", ownerId: c.id, queueDepth: 1, statusFor: 500 })
      assert.strictEqual(snapshot.runningCount, 2)
      assert.strictEqual(snapshot.totalQueued, 3)

      yield* advance("1500 millis")
      snapshot = yield* controller.snapshot
      assertView(snapshot.slots[2], { slot: "c", status: "Running", ownerId: c2.id, queueDepth: 0, statusFor: 0 })
      assertView(snapshot.slots[0], { slot: "a", status: "Running", ownerId: a.id, queueDepth: 1, statusFor: 3000 })
      assert.strictEqual(snapshot.runningCount, 3)
      assert.strictEqual(snapshot.totalQueued, 2)
      assert.strictEqual((yield* outcomeNow(c))?._tag, "Canceled")

      assert.isTrue(yield* supervisor.remove(bNext.id))
      yield* supervisor.cancel(b.id)
      snapshot = yield* controller.snapshot
      assert.deepStrictEqual(snapshot.slots.map((v) => v.slot), ["a", "c"])
      assert.deepStrictEqual(Controller.slot(snapshot, "b"), idleView("b"))
      assert.strictEqual(snapshot.totalQueued, 1)
      yield* supervisor.shutdown
      rejectedWith(yield* aNext.await, "ControllerShuttingDown")
      const after = yield* controller.snapshot
      assert.deepStrictEqual([after.slots, after.runningCount, after.totalQueued], [[], 0, 0])
    }))

  describe("events never drive slot state", () => {
    /** One run of every policy; everything it reports comes from handles and the task bodies. */
    const scenario = (
      { controller, supervisor }: {
        readonly controller: Controller.Controller["Type"]
        readonly supervisor: TaskSupervisor.TaskSupervisor["Type"]
      }
    ) =>
      Effect.gen(function*() {
        const { log, stamped } = yield* stamps
        const submit = (make: typeof ControllerSpec.queue, name: string, slot: string, body: Effect.Effect<void>) =>
          controller.submitAndWatch(make(TaskSpec.once(name, stamped(name, body))).pipe(ControllerSpec.withSlot(slot)))
        const handles: Array<TaskHandle<never>> = [
          yield* submit(ControllerSpec.queue, "q1", "q", Effect.sleep("1 second")),
          yield* submit(ControllerSpec.queue, "q2", "q", Effect.sleep("1 second")),
          yield* submit(ControllerSpec.replace, "r1", "r", slowToStop("500 millis")),
          yield* submit(ControllerSpec.dropIfRunning, "d1", "d", Effect.sleep("1 second")),
          yield* submit(ControllerSpec.dropIfRunning, "d2", "d", Effect.void)
        ]
        yield* settle
        handles.push(yield* submit(ControllerSpec.replace, "r2", "r", Effect.sleep("1 second")))
        const waiter = yield* Effect.fork(Effect.forEach(handles, (h) => h.await))
        yield* advance("500 millis")
        yield* advance("500 millis")
        yield* advance("500 millis")
        yield* advance("500 millis")
        const outcomes = yield* Fiber.join(waiter)
        const label = (o: TaskOutcome.TaskOutcome<never>) => o._tag === "Rejected" ? `Rejected:${o.kind}` : o._tag
        const starts = [...(yield* Ref.get(log))].sort()
        yield* supervisor.shutdown
        return { outcomes: outcomes.map(label), starts }
      })

    const expected = {
      outcomes: ["Completed", "Completed", "Canceled", "Completed", "Rejected:SlotBusy", "Completed"],
      starts: ["d1@0", "q1@0", "q2@1000", "r1@0", "r2@500"]
    }

    it.scoped("with a recording subscriber", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        assert.deepStrictEqual(yield* scenario({ controller, supervisor }), expected)
        assert.isNotEmpty(ofTag(events, "ControllerSlotTransition"))
      }))

    it.scoped("with no subscriber at all (nothing is published)", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* scenario(yield* controllerWithSubscribers({}, [])), expected)
      }))

    it.scoped("with a blocked capacity-1 subscriber that drops everything after the first event", () =>
      Effect.gen(function*() {
        const received = yield* Ref.make(0)
        const release = yield* Deferred.make<void>()
        const blocked = Subscriber.make({
          name: "blocked",
          capacity: 1,
          onEvent: () => Effect.zipRight(Ref.update(received, (n) => n + 1), Deferred.await(release))
        })
        const built = yield* controllerWithSubscribers({ subscriberShutdownTimeout: 0 }, [blocked])
        assert.deepStrictEqual(yield* scenario(built), expected)
        assert.strictEqual(yield* Ref.get(received), 1)
      }))
  })

  describe("concurrency", () => {
    // Read over the whole stack, an owner started inside the previous one's terminal commit runs some 16 frames
    // deeper than one started on its own, and owners nested in turn pile up: past the bound from the second on. A
    // thousand is far past that, and past the depth at which nested starts overflow the stack (a few hundred, see
    // Generations.test.ts); 10,000 on one slot is a bench row (controller/one_slot). It takes 0.6 s on an idle 2-core
    // machine, 1.4 to 3.4 s with the suite run twice at once and more beside it.
    it.scoped(
      "a long queue of instant tasks on one slot runs one owner after another, none nested in the last",
      () =>
        Effect.gen(function*() {
          const n = 1_000
          const { controller } = yield* withController({ queueCapacity: n, maxSlotQueue: n })
          yield* wholeStacks
          const depths: Array<number> = []
          // an owner started from inside the previous one's terminal commit would run on its stack
          const body = Effect.sync(() => void depths.push(new Error().stack?.split("\n").length ?? 0))
          const handles = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            (i) =>
              controller.submitAndWatch(
                ControllerSpec.queue(TaskSpec.once(`q-${i}`, body)).pipe(ControllerSpec.withSlot("one"))
              )
          )
          const outcomes = yield* Effect.forEach(handles, (handle) => handle.await)
          assert.isTrue(outcomes.every((outcome) => outcome._tag === "Completed"))
          assert.strictEqual(depths.length, n)
          assert.isBelow(Math.max(...depths) - Math.min(...depths), 20, "stack depth grew from one owner to the next")
        }),
      60_000
    )

    it.scoped("40 concurrent dropIfRunning submissions into one slot start exactly one task", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { runs, task } = yield* counting(Effect.sleep("1 second"))
        const handles = yield* Effect.all(
          Array.from(
            { length: 40 },
            () => controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once("hot", task)))
          ),
          { concurrency: "unbounded" }
        )
        const waiter = yield* Effect.fork(Effect.forEach(handles, (h) => h.await))
        yield* advance("1 second")
        const outcomes = yield* Fiber.join(waiter)
        yield* supervisor.shutdown

        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.strictEqual(outcomes.filter((o) => o._tag === "Completed").length, 1)
        assert.strictEqual(outcomes.filter((o) => o._tag === "Rejected" && o.kind === "SlotBusy").length, 39)
        assert.strictEqual(ofTag(events, "AttemptStarting").length, 1)
        assert.strictEqual(ofTag(events, "TaskAddRequested").length, 1)
        assert.strictEqual(ofTag(events, "ControllerRejected").filter((e) => e.rejection === "SlotBusy").length, 39)
        assert.deepStrictEqual(new Set(handles.map((h) => h.id)).size, 40)
      }))

    it.scoped("50 concurrent replace submissions settle with one running owner and an empty queue", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const ran = new Set<number>()
        const { peak, wrap } = yield* gauge
        const body = Effect.flatMap(TaskSpec.CurrentTask, ({ id }) => {
          ran.add(id)
          return wrap(slowToStop("10 millis"))
        })
        const handles = yield* Effect.all(
          Array.from(
            { length: 50 },
            () => controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("hot", body)))
          ),
          { concurrency: "unbounded" }
        )
        yield* advance("10 millis")
        yield* advance("10 millis")
        const snapshot = yield* controller.snapshot
        assert.strictEqual(snapshot.slots.length, 1)
        const view = Controller.slot(snapshot, "hot")
        assert.strictEqual(view.status, "Running")
        assert.strictEqual(view.queueDepth, 0)
        assert.strictEqual(snapshot.totalQueued, 0)
        assert.strictEqual(snapshot.runningCount, 1)

        const outcomes = yield* Effect.forEach(handles, outcomeNow)
        const pending = handles.filter((_, i) => outcomes[i] === undefined)
        assert.deepStrictEqual(pending.map((h) => h.id), [view.ownerId])
        let canceled = 0
        outcomes.forEach((outcome, i) => {
          if (outcome === undefined) return
          if (outcome._tag === "Canceled") {
            canceled++
          } else {
            assert.strictEqual(rejectedWith(outcome, "SupersededByReplace"), "superseded by a newer replacement")
            assert.isFalse(ran.has(handles[i].id), `superseded ${handles[i].id} never ran`)
          }
        })
        assert.isAtLeast(canceled, 1)
        assert.strictEqual(canceled + outcomes.filter((o) => o?._tag === "Rejected").length, 49)
        // only admitted owners ran (a stopped owner may have been stopped before its first attempt)
        assert.isTrue(ran.has(view.ownerId!))
        assert.isAtMost(ran.size, canceled + 1)
        assert.strictEqual(yield* Ref.get(peak), 1, "two owners of one slot ran at once")

        const shutdown = yield* Effect.fork(supervisor.shutdown)
        yield* advance("10 millis")
        yield* Fiber.join(shutdown)
        assert.strictEqual(ofTag(events, "AttemptStarting").length, ran.size)
        assert.strictEqual(ofTag(events, "TaskAdded").length, canceled + 1)
      }))

    it.scoped("128 distinct slots run at once", () =>
      Effect.gen(function*() {
        const { controller, events, supervisor } = yield* withController()
        const { current, peak, wrap } = yield* gauge
        const names = Array.from({ length: 128 }, (_, i) => `slot-${String(i).padStart(3, "0")}`)
        const handles = yield* Effect.all(
          names.map((name) =>
            controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once(name, wrap(neverEnding))))
          ),
          { concurrency: "unbounded" }
        )
        yield* settle
        const snapshot = yield* controller.snapshot
        assert.strictEqual(snapshot.slots.length, 128)
        assert.strictEqual(snapshot.runningCount, 128)
        assert.strictEqual(snapshot.totalQueued, 0)
        assert.deepStrictEqual(snapshot.slots.map((v) => v.slot), names)
        assert.isTrue(snapshot.slots.every((v) => v.status === "Running" && v.queueDepth === 0))
        assert.deepStrictEqual(
          snapshot.slots.map((v) => v.ownerId),
          names.map((name) => handles.find((h) => h.name === name)!.id)
        )
        assert.strictEqual(yield* Ref.get(current), 128)
        yield* supervisor.shutdown
        const outcomes = yield* Effect.forEach(handles, (h) => h.await)
        assert.isTrue(outcomes.every((o) => o._tag === "Canceled"))
        assert.strictEqual(yield* Ref.get(peak), 128)
        assert.strictEqual(ofTag(events, "AttemptStarting").length, 128)
        assert.isEmpty(ofTag(events, "ControllerRejected"))
      }))
  })
})
