/**
 * `maxConcurrent`: attempts wait for a permit first come, first served, each
 * release wakes exactly one waiter, and a waiter that is stopped gives up its
 * place without losing or duplicating a permit.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Supervisor from "effect/Supervisor"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { stamps } from "./utils/controller.js"
import { ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { gauge, neverEnding, perRun } from "./utils/tasks.js"

/** Counts how often the fibers forked under it resume after suspending. */
class ResumeCounter extends Supervisor.AbstractSupervisor<void> {
  resumes = 0
  value = Effect.void
  override onResume<A, E>(_fiber: Fiber.RuntimeFiber<A, E>): void {
    this.resumes++
  }
}

describe("maxConcurrent", () => {
  it.scoped("attempts start in the order they asked for a permit, retries queue behind waiting tasks", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
      const { stamped, log } = yield* stamps
      const { task } = yield* perRun((run) =>
        stamped(`r${run}`, run === 1 ? Effect.fail("once") : Effect.sleep("1 second"))
      )
      yield* supervisor.add(TaskSpec.restartable("r", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant(0))))
      for (const name of ["a", "b", "c"]) {
        yield* supervisor.add(TaskSpec.once(name, stamped(name, Effect.sleep("1 second"))))
      }
      yield* settle
      for (let i = 0; i < 4; i++) yield* advance("1 second")
      assert.deepStrictEqual(yield* Ref.get(log), ["r1@0", "a@0", "b@1000", "c@2000", "r2@3000"])
      assert.deepStrictEqual(ofTag(events, "AttemptStarting").map((e) => `${e.task}${e.attempt}`), [
        "r1",
        "a1",
        "b1",
        "c1",
        "r2"
      ])
    }))

  it.scoped("a stopped waiter leaves the queue: the permit goes to the next one, and the limit holds", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ maxConcurrent: 2 })
      const { peak, wrap } = yield* gauge
      const { stamped, log } = yield* stamps
      const run = (name: string) => supervisor.add(TaskSpec.once(name, wrap(stamped(name, Effect.sleep("1 second")))))
      yield* run("a")
      yield* run("b")
      const c = yield* run("c")
      yield* run("d")
      yield* run("e")
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [
        ["a", "Running"],
        ["b", "Running"],
        ["c", "Waiting"],
        ["d", "Waiting"],
        ["e", "Waiting"]
      ])
      assert.isTrue(yield* supervisor.cancel(c.id))
      assert.strictEqual((yield* c.await)._tag, "Canceled")
      for (let i = 0; i < 3; i++) yield* advance("1 second")
      assert.deepStrictEqual(yield* Ref.get(log), ["a@0", "b@0", "d@1000", "e@1000"])
      assert.strictEqual(yield* Ref.get(peak), 2)
      yield* supervisor.awaitEmpty
      const after = yield* supervisor.add(TaskSpec.make("after-1", neverEnding))
      yield* supervisor.add(TaskSpec.make("after-2", neverEnding))
      yield* supervisor.add(TaskSpec.make("after-3", neverEnding))
      yield* settle
      assert.deepStrictEqual(
        (yield* supervisor.list).map((t) => t.state),
        ["Running", "Running", "Waiting"],
        "both permits came back, no more"
      )
      assert.strictEqual(after.name, "after-1")
    }))

  it.scoped("while an effectful retry schedule decides, the task is backing off and its permit is another's", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
      const slow = Schedule.spaced("1 second").pipe(Schedule.tapInput(() => Effect.sleep("5 seconds")))
      yield* supervisor.add(TaskSpec.restartable("a", Effect.fail("boom")).pipe(TaskSpec.withSchedule(slow)))
      yield* supervisor.add(TaskSpec.make("b", neverEnding))
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => `${t.name}:${t.state}`), ["a:BackingOff", "b:Running"])
      assert.isFalse(yield* supervisor.isAlive("a"))
      assert.isTrue(yield* supervisor.isAlive("b"))
    }))

  it.scoped("a force-aborted attempt's permit goes to the next waiter", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ maxConcurrent: 1, grace: "1 second" })
      const stuck = yield* supervisor.add(TaskSpec.once("stuck", Effect.uninterruptible(Effect.never)))
      const next = yield* supervisor.add(TaskSpec.once("next", Effect.void))
      yield* settle
      assert.isTrue(yield* supervisor.remove(stuck.id))
      yield* advance("1 second")
      assert.strictEqual((yield* stuck.await)._tag, "ForceAborted")
      assert.strictEqual((yield* next.await)._tag, "Completed")
    }))

  it.effect("each release wakes one waiter: 300 queued tasks resume about once each, not once per release", () =>
    Effect.gen(function*() {
      const counter = new ResumeCounter()
      const n = 300
      const resumes = yield* Effect.scoped(Effect.gen(function*() {
        const { supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
        const handles = yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => supervisor.add(TaskSpec.once(`t${i}`, Effect.yieldNow())),
          { discard: false }
        )
        for (const handle of handles) assert.strictEqual((yield* handle.await)._tag, "Completed")
        return counter.resumes
      })).pipe(Effect.supervised(counter))
      // a wake-up of every waiter per release would be about n² / 2 = 45,000 resumptions
      assert.isAtMost(resumes, 10 * n, `${resumes} resumptions for ${n} tasks`)
    }))
})
