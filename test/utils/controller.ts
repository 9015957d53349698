import { assert } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import type * as Subscriber from "../../src/Subscriber.js"
import type { TaskHandle } from "../../src/TaskHandle.js"
import type * as TaskOutcome from "../../src/TaskOutcome.js"
import type { TaskSupervisor } from "../../src/TaskSupervisor.js"
import { advance, settleUntilDone, yieldUntil } from "./fibers.js"
import { buildSupervisor, recording, supervisorWith, type TestConfig } from "./recorder.js"

/**
 * Added after a supervisor is built, so it runs before the supervisor's own
 * shutdown finalizer: shuts the supervisor down (nothing to do if the test
 * did) and requires that to end without the clock moving. A test whose
 * shutdown waits on the TestClock (a task slow to stop, a grace to run out)
 * shuts down itself and moves the clock as it means to; when one does not,
 * or fails before it does, this fails it loudly, naming the tasks still
 * registered, after moving the clock far ahead so that it ends instead of
 * waiting for ever.
 */
export const shutdownOnClose = (supervisor: TaskSupervisor["Type"]): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const stopping = yield* Effect.forkDaemon(supervisor.shutdown)
      if (yield* yieldUntil(Effect.map(stopping.poll, Option.isSome))) return
      const left = (yield* supervisor.list).map((task) => `${task.name} (${task.state})`)
      yield* Effect.forkDaemon(TestClock.adjust("1 day"))
      yield* Effect.die(
        new Error(
          `the supervisor's shutdown at scope close did not end without moving the clock (still registered: ${
            left.join(", ")
          }): shut it down in the test, advancing the clock as the test means to`
        )
      )
    })
  )

/**
 * Shut the supervisor down while moving the TestClock `by` (the time its
 * tasks take to stop): the explicit end of a test whose shutdown waits on the
 * clock. Fails the test when the shutdown has not ended by then; its result
 * otherwise.
 */
export const shutdownAdvancing = (supervisor: TaskSupervisor["Type"], by: Duration.DurationInput) =>
  Effect.gen(function*() {
    const stopping = yield* Effect.fork(Effect.either(supervisor.shutdown))
    yield* advance(by)
    yield* settleUntilDone(stopping, `the shutdown to end within ${Duration.format(by)}`)
    return yield* Fiber.join(stopping)
  })

/** `supervisorWith` (a recording supervisor) with `shutdownOnClose`. */
export const recordingSupervisor = (config: TestConfig) =>
  Effect.tap(supervisorWith(config), ({ supervisor }) => shutdownOnClose(supervisor))

/**
 * A supervisor in the current scope with exactly the given subscribers (none:
 * nobody listens, so no event is built).
 */
export const supervisorWithSubscribers = (config: TestConfig, subscribers: ReadonlyArray<Subscriber.Subscriber>) =>
  Effect.map(controllerWithSubscribers(config, subscribers), ({ supervisor }) => supervisor)

/** `supervisorWithSubscribers`, with the controller built over it. */
export const controllerWithSubscribers = (config: TestConfig, subscribers: ReadonlyArray<Subscriber.Subscriber>) =>
  Effect.tap(buildSupervisor(config, subscribers), ({ supervisor }) => shutdownOnClose(supervisor))

/**
 * A recording supervisor built under an Effect `Supervisor` that tracks every
 * fiber the task supervisor forks from its own runtime (force-abort timers,
 * subscriber workers, the shutdown drain) and every task's: `add`, `run` and
 * the controller's `submit` are called under it, and a task's fiber (its
 * group's children's too) runs with its caller's fiber refs. `live` counts
 * the tracked fibers still running.
 */
export const trackedSupervisor = (config: TestConfig) =>
  Effect.gen(function*() {
    const tracker = yield* Supervisor.track
    const recorder = recording()
    const built = yield* Effect.supervised(
      Effect.tap(buildSupervisor(config, [recorder.subscriber]), ({ supervisor }) => shutdownOnClose(supervisor)),
      tracker
    )
    const live = Effect.map(tracker.value, (fibers) => fibers.length)
    const tracked = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.supervised(effect, tracker)
    const supervisor: typeof built.supervisor = {
      ...built.supervisor,
      add: (spec) => tracked(built.supervisor.add(spec)),
      run: (specs) => tracked(built.supervisor.run(specs))
    }
    const controller: typeof built.controller = {
      ...built.controller,
      submit: (spec) => tracked(built.controller.submit(spec))
    }
    return { context: built.context, supervisor, controller, events: recorder.events, live }
  })

/** The handle's outcome if it is already known, without waiting. */
export const outcomeNow = <E>(handle: TaskHandle<E>): Effect.Effect<TaskOutcome.TaskOutcome<E> | undefined> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(handle.await)
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
    const exit = yield* fiber.poll
    yield* Fiber.interrupt(fiber)
    return Option.isSome(exit) && Exit.isSuccess(exit.value) ? exit.value.value : undefined
  })

/**
 * The handle's outcome once it is known, without moving the clock: waits
 * (`settleUntilDone`) for it, and fails the test, naming the task, when it
 * does not come.
 */
export const settledOutcome = <E>(handle: TaskHandle<E>): Effect.Effect<TaskOutcome.TaskOutcome<E>> =>
  Effect.gen(function*() {
    const awaiting = yield* Effect.fork(handle.await)
    yield* settleUntilDone(awaiting, `the outcome of ${handle.name}`)
    return yield* Fiber.join(awaiting)
  })

/** Assert the outcome's tag and narrow it. */
export const narrow = <T extends { readonly _tag: string }, K extends T["_tag"]>(
  value: T | undefined,
  tag: K,
  message?: string
): Extract<T, { readonly _tag: K }> => {
  assert.strictEqual(value?._tag, tag, message)
  return value as Extract<T, { readonly _tag: K }>
}

/** Assert that the outcome is `Rejected` of `kind` and return its reason. */
export const rejectedWith = (
  outcome: TaskOutcome.TaskOutcome<unknown> | undefined,
  kind: TaskOutcome.RejectionKind,
  message?: string
): string => {
  const rejected = narrow(outcome, "Rejected", message)
  assert.strictEqual(rejected.kind, kind, message)
  return rejected.reason
}

/** A log of `<label>@<ms>` entries, stamped with the (test) clock. */
export const stamps = Effect.map(Ref.make<ReadonlyArray<string>>([]), (log) => ({
  log,
  /** Record `label@now`, then run `body`. */
  stamped: <A, E, R>(label: string, body: Effect.Effect<A, E, R>) =>
    Effect.zipRight(
      Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(log, (entries) => [...entries, `${label}@${now}`])),
      body
    )
}))
