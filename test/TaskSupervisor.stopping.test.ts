/**
 * Stopping tasks: once a stop is claimed the outcome is `Canceled` whatever
 * the task's policy, keeping any failure that happened while it stopped;
 * stopping a task that is already gone is not an error; a task still running
 * its attempt while it stops is alive and listed `Stopping`; and a shutdown
 * that abandons tasks always says so in the log.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Scope from "effect/Scope"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type * as SupervisorError from "../src/SupervisorError.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import * as Testing from "../src/testing.js"
import { narrow, rejectedWith } from "./utils/controller.js"
import { assertIdOrder, ofId, ofTag } from "./utils/events.js"
import { advance, pad, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { neverEnding, stubborn } from "./utils/tasks.js"

class Refused extends Data.TaggedError("Refused")<{ readonly message: string }> {}

const tailFailure = new Refused({ message: "tail failed" })
const finalizerDefect = new Error("finalizer died")

/** Ways a task can fail while it is being stopped. */
const stoppingFailures: ReadonlyArray<{
  readonly name: string
  readonly body: Effect.Effect<void, Refused, Scope.Scope>
  readonly check: (cause: Cause.Cause<unknown>) => void
}> = [
  {
    name: "a finalizer that dies",
    body: Effect.onInterrupt(Effect.never, () => Effect.die(finalizerDefect)),
    check: (cause) => assert.deepStrictEqual([...Cause.defects(cause)], [finalizerDefect])
  },
  {
    name: "an uninterruptible tail that fails",
    body: Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(Effect.exit(restore(Effect.never)), Effect.fail(tailFailure))
    ),
    check: (cause) => assert.deepStrictEqual([...Cause.failures(cause)].map(Cause.originalError), [tailFailure])
  },
  {
    name: "a scope release that dies",
    body: Effect.zipRight(Effect.acquireRelease(Effect.void, () => Effect.die(finalizerDefect)), Effect.never),
    check: (cause) => assert.deepStrictEqual([...Cause.defects(cause)], [finalizerDefect])
  }
]

/** Policies under which a failure would otherwise end the task without a retry. */
const policies: ReadonlyArray<{
  readonly name: string
  readonly spec: (
    name: string,
    body: Effect.Effect<void, Refused, Scope.Scope>
  ) => TaskSpec.TaskSpec<Refused, Scope.Scope>
}> = [
  { name: "once", spec: TaskSpec.once },
  { name: "restartable", spec: TaskSpec.restartable },
  {
    name: "always with maxRetries 0",
    spec: (name, body) => TaskSpec.make(name, body, { restart: RestartPolicy.always(), maxRetries: 0 })
  },
  {
    name: "restartable, every failure fatal",
    spec: (name, body) => TaskSpec.withFatal(TaskSpec.restartable(name, body), () => true)
  }
]

const stops: ReadonlyArray<{
  readonly name: string
  readonly stop: (supervisor: TaskSupervisor.TaskSupervisor["Type"], id: number) => Effect.Effect<unknown, unknown>
}> = [
  { name: "remove", stop: (supervisor, id) => supervisor.remove(id) },
  { name: "cancel", stop: (supervisor, id) => supervisor.cancel(id) },
  { name: "shutdown", stop: (supervisor) => supervisor.shutdown }
]

const terminalOf = (events: ReadonlyArray<SupervisorEvent>, id: number) =>
  ofId(events, id).filter((e) =>
    e._tag === "AttemptSucceeded" || e._tag === "AttemptFailed" || e._tag === "AttemptTimedOut" ||
    e._tag === "AttemptCanceled"
  )

describe("a claimed stop ends the task Canceled whatever its policy", () => {
  for (const failure of stoppingFailures) {
    for (const policy of policies) {
      for (const { name: how, stop } of stops) {
        it.scoped(`${policy.name}, stopped by ${how} while ${failure.name}: Canceled, keeping the failure`, () =>
          Effect.gen(function*() {
            const { events, supervisor } = yield* supervisorWith()
            const handle = yield* supervisor.add(policy.spec("job", failure.body))
            yield* settle
            yield* stop(supervisor, handle.id)
            const outcome = narrow(yield* handle.await, "Canceled")
            assert.isDefined(outcome.cause, "the failure while stopping is kept on the outcome")
            failure.check(outcome.cause!)
            assert.isFalse(Cause.isInterruptedOnly(outcome.cause!))

            yield* supervisor.shutdown
            const terminal = terminalOf(events, handle.id)
            assert.deepStrictEqual(terminal.map((e) => e._tag), ["AttemptCanceled"], "one terminal attempt event")
            const canceled = terminal[0] as Extract<SupervisorEvent, { _tag: "AttemptCanceled" }>
            assert.isDefined(canceled.cause, "and on the attempt's terminal event")
            failure.check(canceled.cause!)
            assert.deepStrictEqual(ofTag(events, "BackoffScheduled"), [])
            const finished = ofTag(events, "TaskFinished").filter((e) => e.id === handle.id)
            assert.strictEqual(finished[0].outcome, outcome)
            assertIdOrder(events, handle.id)
          }))
      }
    }
  }

  it.scoped("a stop with nothing failing keeps no cause", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(TaskSpec.once("quiet", neverEnding))
      yield* settle
      assert.isTrue(yield* supervisor.cancel(handle.id))
      const outcome = narrow(yield* handle.await, "Canceled")
      assert.isUndefined(outcome.cause)
      assert.deepStrictEqual(outcome, TaskOutcome.Canceled)
      const canceled = ofTag(events, "AttemptCanceled", "quiet")
      assert.strictEqual(canceled.length, 1)
      assert.isUndefined(canceled[0].cause)
    }))

  it.scoped("a task that interrupts itself while its finalizer dies keeps its old class: a retryable panic", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const body = Effect.onInterrupt(Effect.interrupt, () => Effect.die(finalizerDefect))
      const outcome = narrow(yield* (yield* supervisor.add(TaskSpec.once("self", body))).await, "Failed")
      assert.strictEqual(outcome.reason, "task panicked: finalizer died")
    }))

  it.scoped("past the grace the outcome is ForceAborted, as before", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: "1 second" })
      const handle = yield* supervisor.add(TaskSpec.once("stuck", stubborn))
      yield* settle
      assert.isTrue(yield* supervisor.remove(handle.id))
      yield* advance("1 second")
      assert.strictEqual((yield* handle.await)._tag, "ForceAborted")
    }))
})

describe("a stop claimed while the task finishes", () => {
  // the actor may yield (Effect's op budget) between deciding an outcome and committing it: a stop claimed then
  // has claimed a live task, so the outcome is Canceled. Every place the actor can yield is run, by construction:
  // the actor (its caller's op budget) yields every `ops` operations; `pad(i)` (two operations each) at the head of
  // its body moves every later yield two operations back per i, and the two budgets of opposite parity make it one,
  // so i from 0 to ops / 2 puts a yield on every operation after the body in turn. The body waits for the test to
  // open `go` once add returned; the remove then comes after 0, 1, 2, … yields of the test (one slice of the actor
  // each), from before the actor went on (claimed) until the task has ended before it (not claimed).
  it.effect(
    "remove returning true always means Canceled, wherever the actor yields",
    () =>
      Effect.gen(function*() {
        const violations: Array<string> = []
        for (const body of [Effect.void, Effect.fail(tailFailure)]) {
          for (const ops of [20, 21]) {
            for (let i = 0; i <= Math.ceil(ops / 2); i++) {
              let claimed = true
              for (let j = 0; claimed; j++) {
                if (j > 1000) {
                  violations.push(`ops=${ops} pad=${i}: still claimable after ${j} yields`)
                  break
                }
                claimed = yield* Effect.scoped(Effect.gen(function*() {
                  const { supervisor } = yield* supervisorWith()
                  const go = yield* Deferred.make<void>()
                  const handle = yield* Effect.withMaxOpsBeforeYield(
                    supervisor.add(
                      TaskSpec.once("t", Effect.zipRight(Deferred.await(go), Effect.zipRight(pad(i), body)))
                    ),
                    ops
                  )
                  // the actor waits at the gate; a fresh op budget for the test, so only the j yields below yield
                  yield* Effect.yieldNow()
                  yield* Deferred.succeed(go, undefined)
                  for (let k = 0; k < j; k++) yield* Effect.yieldNow()
                  const claimed = yield* supervisor.remove(handle.id)
                  const outcome = yield* handle.await
                  const at = `ops=${ops} pad=${i} spin=${j}`
                  if (claimed && outcome._tag !== "Canceled") violations.push(`${at}: ${outcome._tag}`)
                  if (!claimed && outcome._tag === "Canceled") violations.push(`${at}: unclaimed Canceled`)
                  if (!claimed && j === 0) violations.push(`${at}: the task ended before the first remove`)
                  return claimed
                }))
              }
            }
          }
        }
        assert.deepStrictEqual(violations, [])
      }),
    60_000
  )
})

describe("stopping a task that is gone", () => {
  it.scoped("remove and cancel of a finished task return false, by id and by name, and publish nothing", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const done = yield* supervisor.add(TaskSpec.once("done", Effect.void))
      assert.strictEqual((yield* done.await)._tag, "Completed")
      const mark = events.length
      for (const target of [done.id, "done"]) {
        assert.isFalse(yield* supervisor.remove(target), `remove(${target})`)
        assert.isFalse(yield* supervisor.cancel(target), `cancel(${target})`)
        assert.isFalse(yield* supervisor.cancel(target, { timeout: "1 second" }), `cancel(${target}, timeout)`)
      }
      assert.deepStrictEqual(events.slice(mark), [])
    }))

  it.scoped("a name never registered returns false", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      assert.isFalse(yield* supervisor.remove("ghost"))
      assert.isFalse(yield* supervisor.cancel("ghost"))
    }))

  it.scoped("an id this supervisor never issued fails with TaskNotFound naming it", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const issued = yield* supervisor.add(TaskSpec.once("one", Effect.void))
      for (const target of [0, -1, issued.id + 1, 999, 1.5, NaN, Infinity]) {
        for (const call of [supervisor.remove(target), supervisor.cancel(target)]) {
          const error = yield* Effect.flip(call)
          assert.strictEqual(error._tag, "TaskNotFound", String(target))
          assert.isTrue(Object.is((error as { target: unknown }).target, target))
          assert.strictEqual(error.message, `task id #${target} was never issued by this supervisor`)
        }
      }
    }))

  it.scoped("ids of rejected work were issued: stopping them returns false", () =>
    Effect.gen(function*() {
      const { controller, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.make("taken", neverEnding))
      const duplicate = yield* Effect.flip(supervisor.add(TaskSpec.once("taken", Effect.void)))
      assert.strictEqual(duplicate._tag, "TaskAlreadyExists")
      const busy = yield* controller.submitAndWatch(ControllerSpec.dropIfRunning(TaskSpec.once("taken", Effect.void)))
      rejectedWith(yield* busy.await, "AlreadyExists")
      assert.isFalse(yield* supervisor.remove(busy.id))
      assert.isFalse(yield* supervisor.cancel(busy.id))
      // the id `add` allocated before it found the duplicate
      assert.isFalse(yield* supervisor.cancel(busy.id - 1))
    }))

  it.scoped("a task finishing while cancel waits: every concurrent stop returns, exactly one true", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(TaskSpec.once("slow", Testing.ignoresInterruption("1 second")))
      yield* settle
      const calls = yield* Effect.forEach(
        [supervisor.cancel(handle.id), supervisor.cancel("slow"), supervisor.remove(handle.id)],
        (call) => Effect.fork(call)
      )
      yield* advance("1 second")
      const results = yield* Effect.forEach(calls, Fiber.join)
      assert.deepStrictEqual(results, [true, false, false])
      assert.deepStrictEqual([yield* supervisor.cancel(handle.id), yield* supervisor.remove("slow")], [false, false])
    }))
})

describe("a task running its attempt while it stops", () => {
  it.scoped("is alive and listed Stopping until its attempt returns", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      for (const restart of [RestartPolicy.never, RestartPolicy.onFailure, RestartPolicy.always()]) {
        const name = `busy-${restart._tag}`
        const handle = yield* supervisor.add(TaskSpec.make(name, Testing.ignoresInterruption("1 second"), { restart }))
        yield* settle
        assert.isTrue(yield* supervisor.remove(handle.id))
        for (let t = 0; t < 1000; t += 250) {
          assert.isTrue(yield* supervisor.isAlive(name), `${name} at ${t} ms: its attempt still runs`)
          assert.deepStrictEqual((yield* supervisor.list).map((i) => i.state), ["Stopping"], `${name} at ${t} ms`)
          yield* advance("250 millis")
        }
        assert.strictEqual((yield* handle.await)._tag, "Canceled")
        assert.isFalse(yield* supervisor.isAlive(name))
        assert.deepStrictEqual(yield* supervisor.list, [])
      }
    }))
})

describe("a shutdown that abandons tasks", () => {
  const capture = () => {
    const lines: Array<{ level: LogLevel.LogLevel; message: string; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      lines.push({
        level: logLevel,
        message: String(Array.isArray(message) ? message.join(" ") : message),
        annotations: Object.fromEntries([...annotations].map(([k, v]) => [k, v]))
      })
    })
    return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
  }

  it.effect("closing the supervisor's scope logs GraceExceeded at warning level with the stuck names", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const scope = yield* Scope.make()
      // no subscriber at all: the log line does not depend on the event bus
      const context = yield* Layer.buildWithScope(
        TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" }))),
        scope
      ).pipe(Effect.provide(layer))
      const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
      yield* supervisor.add(TaskSpec.make("stuck-a", stubborn))
      yield* supervisor.add(TaskSpec.make("fine", neverEnding))
      yield* supervisor.add(TaskSpec.make("stuck-b", stubborn))
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advance("2 seconds")
      yield* Fiber.join(closing)
      const warnings = lines.filter((l) => l.level === LogLevel.Warning)
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0].message, "shutdown grace of 2s exceeded; stuck: stuck-a, stuck-b")
      assert.deepStrictEqual(warnings[0].annotations.stuck, ["stuck-a", "stuck-b"])
    }))

  it.effect("an explicit shutdown logs it once too, however many callers share it; a clean one logs no warning", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      yield* Effect.scoped(
        Effect.gen(function*() {
          const { supervisor } = yield* supervisorWith({ grace: "1 second" })
          yield* supervisor.add(TaskSpec.make("stuck", stubborn))
          yield* settle
          const callers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Effect.flip(supervisor.shutdown)))
          yield* advance("1 second")
          for (const caller of callers) assert.strictEqual((yield* Fiber.join(caller))._tag, "GraceExceeded")
        }).pipe(Effect.provide(layer))
      )
      assert.deepStrictEqual(
        lines.filter((l) => l.level === LogLevel.Warning).map((l) => l.message),
        ["shutdown grace of 1s exceeded; stuck: stuck"]
      )

      const clean = capture()
      yield* Effect.scoped(
        Effect.gen(function*() {
          const { supervisor } = yield* supervisorWith()
          yield* supervisor.add(TaskSpec.make("fine", neverEnding))
          yield* settle
          yield* supervisor.shutdown
        }).pipe(Effect.provide(clean.layer))
      )
      assert.deepStrictEqual(clean.lines.filter((l) => l.level === LogLevel.Warning), [])
    }))
})

describe("autoShutdown: significant tasks added to the supervisor", () => {
  const significantFailure = (error: SupervisorError.SupervisorError): SupervisorError.SignificantTaskFailed => {
    assert.strictEqual(error._tag, "SignificantTaskFailed")
    return error as SupervisorError.SignificantTaskFailed
  }

  /** A task that fails at `after` and gives up (no retry). */
  const givingUp = (name: string, after: Duration.DurationInput) =>
    TaskSpec.make(name, Effect.zipRight(Effect.sleep(after), Effect.fail(new Refused({ message: "broker gone" }))))
      .pipe(
        TaskSpec.withMaxRetries(0)
      )

  it.scoped("anySignificant: one that gives up shuts the supervisor down, and join fails naming it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ autoShutdown: "anySignificant" })
      const other = yield* supervisor.add(TaskSpec.make("other", neverEnding))
      yield* supervisor.add(givingUp("consumer", "1 second").pipe(TaskSpec.significant))
      const joined = yield* Effect.fork(supervisor.join)
      yield* advance("1 second")
      const error = significantFailure(yield* Effect.flip(Fiber.join(joined)))
      assert.strictEqual(error.taskName, "consumer")
      assert.strictEqual(error.outcome._tag, "Failed")
      assert.strictEqual(
        error.message,
        "significant task 'consumer' ended Failed: retry limit reached after 0 of 0 retries: Refused: broker gone; " +
          "the supervisor shut down"
      )
      assert.strictEqual((yield* other.await)._tag, "Canceled")
      const [requested] = ofTag(events, "ShutdownRequested")
      assert.strictEqual(
        requested.reason,
        "significant task 'consumer' ended Failed: retry limit reached after 0 of 0 retries: Refused: broker gone"
      )
      assert.strictEqual((yield* Effect.flip(supervisor.add(TaskSpec.make("late", neverEnding))))._tag, "ShuttingDown")
    }))

  it.scoped("anySignificant: one that completes shuts the supervisor down, and join succeeds", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ autoShutdown: "anySignificant" })
      const other = yield* supervisor.add(TaskSpec.make("other", neverEnding))
      yield* supervisor.add(TaskSpec.once("migration", Effect.sleep("1 second")).pipe(TaskSpec.significant))
      const joined = yield* Effect.fork(supervisor.join)
      yield* advance("1 second")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(joined)))
      assert.strictEqual((yield* other.await)._tag, "Canceled")
    }))

  it.scoped("a significant task stopped by a caller, or one that is not significant, shuts nothing down", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ autoShutdown: "anySignificant" })
      yield* supervisor.add(TaskSpec.make("removed", neverEnding).pipe(TaskSpec.significant))
      yield* supervisor.add(givingUp("ordinary", "1 second"))
      yield* settle
      assert.isTrue(yield* supervisor.cancel("removed"))
      yield* advance("2 seconds")
      assert.deepStrictEqual(ofTag(events, "ShutdownRequested"), [])
      yield* supervisor.add(TaskSpec.make("still-open", neverEnding))
    }))

  it.scoped("allSignificant: the supervisor shuts down once the last one ends; join fails with the one that gave up", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ autoShutdown: "allSignificant" })
      yield* supervisor.add(givingUp("first", "1 second").pipe(TaskSpec.significant))
      yield* supervisor.add(TaskSpec.once("second", Effect.sleep("3 seconds")).pipe(TaskSpec.significant))
      const joined = yield* Effect.fork(supervisor.join)
      yield* advance("2 seconds")
      assert.deepStrictEqual(ofTag(events, "ShutdownRequested"), [])
      yield* advance("1 second")
      assert.strictEqual(significantFailure(yield* Effect.flip(Fiber.join(joined))).taskName, "first")
    }))

  it.scoped("allSignificant: a failure that shut nothing down (the other was removed) leaves join a caller's shutdown", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({ autoShutdown: "allSignificant" })
      yield* supervisor.add(givingUp("first", "1 second").pipe(TaskSpec.significant))
      yield* supervisor.add(TaskSpec.make("second", neverEnding).pipe(TaskSpec.significant))
      const joined = yield* Effect.fork(supervisor.join)
      yield* advance("1 second")
      // the other significant task is stopped by a caller: it did not end by itself, nothing shuts down
      assert.isTrue(yield* supervisor.cancel("second"))
      yield* settle
      assert.deepStrictEqual(ofTag(events, "ShutdownRequested").map((e) => e.reason), [])
      yield* supervisor.shutdown
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(joined)), "join has the caller's shutdown's result")
    }))

  it.scoped("never (the default): a significant task that gives up is only a task that ended", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(givingUp("consumer", "1 second").pipe(TaskSpec.significant))
      yield* advance("2 seconds")
      assert.deepStrictEqual(ofTag(events, "ShutdownRequested"), [])
      const joined = yield* Effect.fork(supervisor.join)
      yield* supervisor.shutdown
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(joined)), "join has the shutdown's result")
    }))

  it.effect("an autoShutdown that is not one of the three is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SupervisorConfig.make({ autoShutdown: "sometimes" as never }))
      assert.strictEqual(
        error.message,
        "invalid autoShutdown: must be never, anySignificant or allSignificant, got sometimes"
      )
    }))
})
