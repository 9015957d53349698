import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as internalSpec from "../src/internal/config/taskSpec.js"
import * as attemptControl from "../src/internal/task/attemptControl.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { ms, ofTag } from "./utils/events.js"
import { settleUntil } from "./utils/fibers.js"
import { kinds, supervisorWith } from "./utils/recorder.js"

/** A spec whose attempts are `Starting` until their body runs `ready` (what a child process's `readyWhen` builds). */
const awaiting = <E, R>(spec: TaskSpec.TaskSpec<E, R>) => internalSpec.update<E, R>(spec, { awaitsReady: true })

const stateOf =
  (supervisor: { readonly list: Effect.Effect<ReadonlyArray<{ name: string; state: string }>> }) => (name: string) =>
    Effect.map(supervisor.list, (rows) => rows.find((row) => row.name === name)?.state)

describe("attempt readiness", () => {
  it.scoped("a task that awaits readiness is Starting until its body says ready, then Running, with AttemptReady", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const go = yield* Deferred.make<void>()
      const body = Effect.zipRight(Deferred.await(go), Effect.zipRight(attemptControl.ready, Effect.never))
      yield* supervisor.add(awaiting(TaskSpec.restartable("server", body)))
      const state = stateOf(supervisor)
      yield* settleUntil("server started", Effect.map(state("server"), (s) => s === "Starting"))
      assert.deepStrictEqual(ofTag(events, "AttemptReady", "server"), [])
      yield* TestClock.adjust("3 seconds")
      yield* Deferred.succeed(go, undefined)
      yield* settleUntil("server ready", Effect.map(state("server"), (s) => s === "Running"))
      yield* settleUntil("AttemptReady seen", Effect.sync(() => ofTag(events, "AttemptReady", "server").length === 1))
      const [readyEvent] = ofTag(events, "AttemptReady", "server")
      assert.strictEqual(readyEvent.attempt, 1)
      assert.strictEqual(ms(readyEvent.duration), 3000)
      assert.deepStrictEqual(kinds(events, "server"), [
        "TaskAddRequested",
        "TaskAdded",
        "AttemptStarting",
        "AttemptReady"
      ])
    }))

  it.scoped("ready is published once per attempt, and each new attempt is Starting again", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const body = Effect.gen(function*() {
        yield* attemptControl.ready
        yield* attemptControl.ready
        yield* Effect.sleep("1 second")
        return yield* Effect.fail("crashed")
      })
      yield* supervisor.add(awaiting(TaskSpec.restartable("flaky", body, { maxRetries: 1 })))
      yield* settleUntil("first attempt ready", Effect.sync(() => ofTag(events, "AttemptReady", "flaky").length === 1))
      yield* TestClock.adjust("1 second")
      yield* settleUntil(
        "first attempt failed",
        Effect.sync(() => ofTag(events, "AttemptFailed", "flaky").length === 1)
      )
      yield* TestClock.adjust("10 seconds")
      yield* settleUntil(
        "both attempts failed",
        Effect.sync(() => ofTag(events, "AttemptFailed", "flaky").length === 2)
      )
      assert.deepStrictEqual(ofTag(events, "AttemptReady", "flaky").map((e) => e.attempt), [1, 2])
    }))

  it.scoped("a task that does not await readiness is Running at once and ready does nothing", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.restartable("plain", Effect.zipRight(attemptControl.ready, Effect.never)))
      yield* settleUntil("plain started", Effect.map(stateOf(supervisor)("plain"), (s) => s === "Running"))
      yield* settleUntil(
        "AttemptStarting seen",
        Effect.sync(() => ofTag(events, "AttemptStarting", "plain").length === 1)
      )
      assert.deepStrictEqual(ofTag(events, "AttemptReady", "plain"), [])
    }))

  it.scoped("a Starting task can be restarted and stopped", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(awaiting(TaskSpec.restartable("slow", Effect.never)))
      const state = stateOf(supervisor)
      yield* settleUntil("slow started", Effect.map(state("slow"), (s) => s === "Starting"))
      assert.isTrue(yield* supervisor.restart("slow"))
      yield* settleUntil("slow restarted", Effect.sync(() => ofTag(events, "AttemptStarting", "slow").length === 2))
      assert.strictEqual(yield* state("slow"), "Starting")
      assert.isTrue(yield* supervisor.remove(handle.id))
      const outcome = yield* handle.await
      assert.strictEqual(outcome._tag, "Canceled")
    }))

  it.effect("the attempt sees its supervisor's grace; outside a supervisor there is none", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: "7 seconds" })
      const seen = yield* Deferred.make<Duration.Duration | undefined>()
      yield* supervisor.add(TaskSpec.once("g", Effect.flatMap(attemptControl.grace, (g) => Deferred.succeed(seen, g))))
      const grace = yield* Deferred.await(seen)
      assert.isDefined(grace)
      assert.strictEqual(Duration.toMillis(grace!), 7000)
      assert.isUndefined(yield* attemptControl.grace)
      const watched = yield* Deferred.make<Duration.Duration | undefined>()
      yield* supervisor.add(
        TaskSpec.once("w", Effect.flatMap(attemptControl.grace, (g) => Deferred.succeed(watched, g)), {
          watchdog: "1 minute"
        })
      )
      assert.strictEqual(Duration.toMillis((yield* Deferred.await(watched))!), 7000)
      const fiber = yield* Effect.fork(supervisor.shutdown)
      yield* Fiber.join(fiber)
    }).pipe(Effect.scoped))
})
