/**
 * Waits on the live clock (primitives/wakeups.ts): the waiters of every time
 * share one timer, and a wait that is given up leaves its time (no waiter
 * stays behind, and no timer stays armed, for a task that no longer waits),
 * read from the module's process-wide state.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import { leave, sleep, type Sleeper, wakeAt } from "../src/internal/primitives/wakeups.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { supervisorWith } from "./utils/recorder.js"

/** The waiters of each time, and the time the shared timer is armed for (`Infinity`: none). */
const wakeups = globalValue(Symbol.for("effect-taskvisor/internal/wakeups"), () => {
  throw new Error("wakeups.ts keeps its state under another key")
}) as { readonly waiters: Map<number, Set<unknown>>; readonly armedFor: number }

/** How many fibers wait, over all times. */
const waiting = (): number => [...wakeups.waiters.values()].reduce((n, sleepers) => n + sleepers.size, 0)

const inAnHour = () => Date.now() + 3_600_000

/** Poll `done` every few milliseconds, for at most a second. */
const eventually = (done: () => Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      if (yield* done()) return
      yield* Effect.sleep("5 millis")
    }
    assert.fail("not within a second")
  })

describe("wakeups on the live clock", () => {
  it.live("the waiters of two times share one timer; one left, the other still wakes, then none is armed", () =>
    Effect.gen(function*() {
      const later: Sleeper = { resume: undefined }
      const soon: Sleeper = { resume: undefined }
      const at = inAnHour()
      const waitingLater = Effect.runFork(sleep(at, later))
      const soonAt = Date.now() + 20
      const waitingSoon = Effect.runFork(sleep(soonAt, soon))
      assert.strictEqual(waiting(), 2)
      assert.strictEqual(wakeups.armedFor, soonAt)
      // the later one leaves (as an actor interrupted in its wait does)
      leave(at, later)
      yield* Fiber.interrupt(waitingLater)
      assert.isUndefined(later.resume)
      assert.strictEqual(waiting(), 1)
      yield* Fiber.join(waitingSoon)
      assert.isUndefined(soon.resume)
      assert.strictEqual(waiting(), 0)
      assert.strictEqual(wakeups.armedFor, Infinity)
    }))

  it.live("wakeAt leaves its time when interrupted", () =>
    Effect.gen(function*() {
      const at = inAnHour()
      const fiber = Effect.runFork(wakeAt(at))
      assert.strictEqual(waiting(), 1)
      assert.strictEqual(wakeups.armedFor, at)
      const exit = yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.strictEqual(waiting(), 0)
      assert.strictEqual(wakeups.armedFor, Infinity)
    }))

  it.scopedLive("a cron task waiting for its next time leaves it when paused or removed, and waits again resumed", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const nextRunAt = Effect.map(
        Effect.orDie(supervisor.inspect("nightly")),
        (details) => Option.isSome(details) ? details.value.nextRunAt?.getTime() : undefined
      )
      const scheduled = Effect.map(nextRunAt, (at) => at !== undefined)
      yield* supervisor.add(TaskSpec.cron("nightly", Effect.void, "0 3 * * *"))
      yield* eventually(() => scheduled)
      const at = (yield* nextRunAt)!
      assert.strictEqual(wakeups.waiters.get(at)?.size, 1)
      assert.strictEqual(wakeups.armedFor, at)
      yield* supervisor.pause("nightly")
      yield* eventually(() => Effect.map(scheduled, (waits) => !waits))
      assert.strictEqual(waiting(), 0)
      assert.strictEqual(wakeups.armedFor, Infinity)
      yield* supervisor.resume("nightly")
      yield* eventually(() => scheduled)
      assert.strictEqual(wakeups.waiters.get(at)?.size, 1)
      yield* supervisor.remove("nightly")
      yield* eventually(() => Effect.sync(() => waiting() === 0))
      assert.strictEqual(wakeups.armedFor, Infinity)
    }))
})
