/**
 * Tasks that add tasks, and stops with a zero grace: a chain of tasks each
 * adding the next never overflows the stack, however deep (each starting
 * inside the previous one's first step up to a depth, then scheduled), nor do
 * the services it reads through; a stop with no grace still interrupts the task
 * first.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { outcomeNow, recordingSupervisor, supervisorWithSubscribers } from "./utils/controller.js"
import { ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { neverEnding } from "./utils/tasks.js"

class Db extends Context.Tag("test/Db")<Db, { readonly name: string }>() {}
class Extra extends Context.Tag("test/Extra")<Extra, number>() {}

const rows = (list: ReadonlyArray<{ id: number; name: string; state: string; attempt: number }>) =>
  list.map((t) => [t.id, t.name, t.state, t.attempt])

const exactlyOneFinished = (events: ReadonlyArray<SupervisorEvent>, id: number) =>
  assert.strictEqual(ofTag(events, "TaskFinished").filter((e) => e.id === id).length, 1, `#${id}: one TaskFinished`)

describe("tasks adding tasks, stops with no grace", () => {
  it.scoped("grace 0: a task that removes itself in its first synchronous run does not run on after its outcome", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ grace: 0 })
      const log: Array<string> = []
      const handle = yield* supervisor.add(TaskSpec.make(
        "self-stop",
        Effect.flatMap(TaskSpec.CurrentTask, (me) => supervisor.remove(me.id)).pipe(
          Effect.zipRight(neverEnding),
          Effect.ensuring(Effect.sync(() => void log.push("attempt ended")))
        )
      ))
      yield* advance("1 second")
      assert.isDefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(log, ["attempt ended"], "the attempt of a finished task must not run on for ever")
      exactlyOneFinished(events, handle.id)
    }))

  it.scoped("grace 0: B, started inside A's first run, removes A; A's attempt does not run on", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: 0 })
      const log: Array<string> = []
      const a = yield* supervisor.add(TaskSpec.make(
        "A",
        supervisor.add(TaskSpec.once("B", supervisor.remove("A"))).pipe(
          Effect.zipRight(neverEnding),
          Effect.ensuring(Effect.sync(() => void log.push("A ended")))
        )
      ))
      yield* advance("1 second")
      assert.isDefined(yield* outcomeNow(a))
      assert.deepStrictEqual(log, ["A ended"])
    }))

  it.scopedLive("grace 0 (live clock): an interruptible task that is removed ends Canceled, not ForceAborted", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: 0 })
      const handle = yield* supervisor.add(TaskSpec.make("plain", neverEnding))
      yield* Effect.sleep("5 millis")
      yield* supervisor.remove(handle.id)
      assert.strictEqual((yield* handle.await)._tag, "Canceled")
    }))

  it.scoped("a chain of 1000 tasks each adding the next in its first run: every task ends", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "1 second" })
      let added = 0
      const chain = (n: number): Effect.Effect<void, unknown> =>
        n === 0 ? Effect.void : Effect.flatMap(
          supervisor.add(TaskSpec.once(`link-${n}`, Effect.suspend(() => chain(n - 1)))),
          () => Effect.sync(() => void added++)
        )
      yield* Effect.exit(chain(1000))
      for (let i = 0; i < 100; i++) yield* settle
      // with nested immediate starts the stack overflows after a few hundred levels: the tasks left are zombies
      assert.deepStrictEqual(rows(yield* supervisor.list), [])
      assert.strictEqual(added, 1000)
    }))

  it.scoped(
    "a chain of tasks each adding its successor (after a yield): the last one reads its services",
    () =>
      Effect.gen(function*() {
        const supervisor = yield* supervisorWithSubscribers({}, [])
        const N = 16_000
        const result: Array<unknown> = []
        const gen = (k: number): Effect.Effect<void, unknown, Db> =>
          Effect.zipRight(
            Effect.yieldNow(),
            k < N
              ? Effect.asVoid(supervisor.add(TaskSpec.once(`gen-${k + 1}`, Effect.suspend(() => gen(k + 1)))))
              : Effect.gen(function*() {
                const db = yield* Effect.exit(Db)
                result.push(Exit.isSuccess(db) ? db.value.name : String(db.cause))
                const extended = yield* Effect.exit(Effect.provideService(Effect.context<Db | Extra>(), Extra, 1))
                result.push(Exit.isSuccess(extended) ? Context.get(extended.value, Db).name : "provideService died")
              })
          )
        yield* supervisor.add(TaskSpec.once("gen-1", gen(1))).pipe(Effect.provideService(Db, { name: "primary" }))
        for (let i = 0; i < 4000 && (yield* supervisor.list).length > 0; i++) yield* settle
        assert.deepStrictEqual(result, ["primary", "primary"])
        assert.deepStrictEqual(rows(yield* supervisor.list), [], "no generation is left registered and stuck")
      }),
    120_000
  )

  it.scoped("a task of a large batch stopped before its wave started ends Canceled at once, whatever the grace", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: 0 })
      const specs = Array.from(
        { length: 2500 },
        (_, i) =>
          i === 0
            ? TaskSpec.once("w-0", Effect.ignore(supervisor.remove("w-2400")))
            : TaskSpec.once(`w-${i}`, Effect.void)
      )
      const outcomes = yield* supervisor.run(specs)
      assert.strictEqual(outcomes[2400]._tag, "Canceled", "a task that never ran cannot have ignored its stop")
      assert.strictEqual(outcomes.filter((o) => o._tag === "Completed").length, 2499)
    }))
})
