/**
 * What one attempt owns and what the retry loop touches: every attempt runs in
 * its own `Scope`, closed before the backoff; user values the loop reads
 * (a failure's getters, retry schedules, spec fields) are read under a guard,
 * so a throw ends the task `Failed` with both causes instead of killing its
 * loop; and a zero-delay retry loop lets the event loop turn.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Scope from "effect/Scope"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { narrow } from "./utils/controller.js"
import { assertTaskOrder, ms, ofTag } from "./utils/events.js"
import { advance, settle, spin } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { neverEnding, perRun } from "./utils/tasks.js"

v8.setFlagsFromString("--expose-gc")
const gc: () => void = vm.runInNewContext("gc")

/** Two collections, each on a fresh macrotask so that WeakRefs made in the current job can be cleared. */
const collectGarbage = Effect.promise(() =>
  new Promise<void>((resolve) =>
    setTimeout(() => {
      gc()
      setTimeout(() => {
        gc()
        resolve()
      }, 0)
    }, 0)
  )
)

class Refused extends Data.TaggedError("Refused")<{ readonly message: string }> {}

const refused = new Refused({ message: "connection refused" })
const tenMillis = BackoffPolicy.constant("10 millis")

/** A pool of numbered connections: `acquire` opens one in the attempt's scope and logs `open`/`close` with the time. */
const pool = Effect.gen(function*() {
  const open = yield* Ref.make<ReadonlyArray<number>>([])
  const log = yield* Ref.make<ReadonlyArray<string>>([])
  let next = 0
  const note = (line: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(log, (lines) => [...lines, `${line}@${now}`]))
  const acquire = (release: Effect.Effect<void, never> = Effect.void) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        const id = ++next
        return Effect.as(Effect.zipRight(Ref.update(open, (ids) => [...ids, id]), note(`open ${id}`)), id)
      }),
      (id) =>
        Effect.zipRight(
          release,
          Effect.zipRight(Ref.update(open, (ids) => ids.filter((x) => x !== id)), note(`close ${id}`))
        )
    )
  return { acquire, open: Ref.get(open), log: Ref.get(log) }
})

const attemptEnds = (events: ReadonlyArray<SupervisorEvent>, task: string) =>
  events
    .filter((e) =>
      "task" in e && e.task === task &&
      (e._tag === "AttemptSucceeded" || e._tag === "AttemptFailed" || e._tag === "AttemptTimedOut" ||
        e._tag === "AttemptCanceled")
    )
    .map((e) => e._tag)

describe("attempt scopes", () => {
  // `it.effect`: no Scope in the test's context, so `add` of a scoped task type-checks only because the
  // supervisor provides each attempt's Scope itself (R = Exclude<R, Scope>)
  it.effect("each attempt of a restartable task gets its own Scope, closed when the attempt fails", () =>
    Effect.scoped(Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const connections = yield* pool
      const { runs, task } = yield* perRun((run) =>
        Effect.flatMap(connections.acquire(), () => run <= 2 ? Effect.fail(refused) : Effect.never)
      )
      const spec = TaskSpec.restartable("consumer", task).pipe(TaskSpec.withBackoff(tenMillis))
      const handle = yield* Effect.scoped(supervisor.add(spec))
      yield* settle
      assert.deepStrictEqual(yield* connections.open, [], "the first attempt's connection is closed when it fails")
      yield* advance("10 millis")
      assert.deepStrictEqual(yield* connections.open, [])
      yield* advance("10 millis")
      assert.strictEqual(yield* Ref.get(runs), 3)
      assert.deepStrictEqual(yield* connections.open, [3], "only the running attempt holds a connection")
      assert.deepStrictEqual(yield* connections.log, [
        "open 1@0",
        "close 1@0",
        "open 2@10",
        "close 2@10",
        "open 3@20"
      ])
      assert.isTrue(yield* supervisor.cancel(handle.id))
      assert.deepStrictEqual(yield* connections.open, [], "a stop closes the attempt's scope")
      assert.deepStrictEqual(attemptEnds(events, "consumer"), ["AttemptFailed", "AttemptFailed", "AttemptCanceled"])
    })))

  it.scoped("the scope closes before the backoff starts: a slow release delays the backoff, not the other way", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const connections = yield* pool
      const { task } = yield* perRun((run) =>
        Effect.flatMap(
          connections.acquire(Effect.sleep("5 millis")),
          () => run <= 1 ? Effect.fail(refused) : Effect.void
        )
      )
      const handle = yield* supervisor.add(
        TaskSpec.restartable("slow-release", task).pipe(TaskSpec.withBackoff(tenMillis))
      )
      yield* advance("5 millis")
      yield* advance("10 millis")
      yield* advance("5 millis")
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      assert.deepStrictEqual(yield* connections.log, ["open 1@0", "close 1@5", "open 2@15", "close 2@20"])
      const backoff = ofTag(events, "BackoffScheduled", "slow-release")
      assert.deepStrictEqual(backoff.map((e) => [e.at, ms(e.delay)]), [[5, 10]], "backoff starts after the release")
      assert.deepStrictEqual(
        ofTag(events, "AttemptFailed", "slow-release").map((e) => ms(e.duration)),
        [5],
        "the release is part of the attempt"
      )
    }))

  it.scoped("the scope closes when an attempt succeeds, times out, or is stopped", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const connections = yield* pool
      const done = yield* supervisor.add(TaskSpec.once("done", connections.acquire()))
      assert.strictEqual((yield* done.await)._tag, "Completed")
      assert.deepStrictEqual(yield* connections.open, [], "success")

      const slow = yield* supervisor.add(
        TaskSpec.once("slow", Effect.zipRight(connections.acquire(), Effect.never)).pipe(
          TaskSpec.withTimeout("1 second")
        )
      )
      yield* advance("1 second")
      assert.strictEqual((yield* slow.await)._tag, "Failed")
      assert.deepStrictEqual(yield* connections.open, [], "timeout")

      yield* supervisor.add(TaskSpec.make("held", Effect.zipRight(connections.acquire(), Effect.never)))
      yield* settle
      assert.strictEqual((yield* connections.open).length, 1)
      yield* supervisor.shutdown
      assert.deepStrictEqual(yield* connections.open, [], "shutdown")
    }))

  it.scoped("a periodic task's runs each release what they acquired before the next run", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const connections = yield* pool
      yield* supervisor.add(TaskSpec.periodic("tick", connections.acquire(), "1 second"))
      yield* advance("1 second")
      yield* advance("1 second")
      assert.deepStrictEqual(yield* connections.log, [
        "open 1@0",
        "close 1@0",
        "open 2@1000",
        "close 2@1000",
        "open 3@2000",
        "close 3@2000"
      ])
      assert.deepStrictEqual(yield* connections.open, [])
    }))

  it.scoped("a release that dies fails that attempt (task panicked) and the task retries; the supervisor carries on", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const connections = yield* pool
      const { runs, task } = yield* perRun((run) =>
        Effect.asVoid(connections.acquire(run === 1 ? Effect.die(new Error("close exploded")) : Effect.void))
      )
      const handle = yield* supervisor.add(TaskSpec.restartable("leaky", task).pipe(TaskSpec.withBackoff(tenMillis)))
      yield* advance("10 millis")
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      assert.strictEqual(yield* Ref.get(runs), 2)
      assert.deepStrictEqual(
        ofTag(events, "AttemptFailed", "leaky").map((e) => e.reason),
        ["task panicked: close exploded"]
      )
      assertTaskOrder(events, "leaky")
      const other = yield* supervisor.add(TaskSpec.once("other", Effect.void))
      assert.strictEqual((yield* other.await)._tag, "Completed")
    }))

  it.scoped("a release that fails a once task ends it Failed with the release's cause", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const task = Effect.asVoid(
        Effect.acquireRelease(Effect.void, () => Effect.orDie(Effect.fail(new Refused({ message: "close refused" }))))
      )
      const outcome = narrow(yield* (yield* supervisor.add(TaskSpec.once("closing", task))).await, "Failed")
      assert.strictEqual(outcome.reason, "task panicked: Refused: close refused")
      assert.isTrue(Option.isSome(Cause.dieOption(outcome.cause)))
    }))

  it.scoped("every attempt sees a Scope of its own; forkScoped fibers and child scopes end with their attempt", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const scopes: Array<Scope.Scope> = []
      const log: Array<string> = []
      const { task } = yield* perRun((run) =>
        Effect.gen(function*() {
          const scope = yield* Effect.scope
          scopes.push(scope)
          yield* Effect.forkScoped(Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push(`fiber ${run}`))))
          const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
          yield* Scope.addFinalizer(child, Effect.sync(() => log.push(`child ${run}`)))
          yield* Effect.addFinalizer(() => Effect.sync(() => log.push(`own ${run}`)))
          yield* Effect.yieldNow()
          if (run <= 2) return yield* Effect.fail(refused)
        })
      )
      const handle = yield* supervisor.add(TaskSpec.restartable("nested", task).pipe(TaskSpec.withBackoff(tenMillis)))
      yield* advance("10 millis")
      yield* advance("10 millis")
      assert.strictEqual((yield* handle.await)._tag, "Completed")
      assert.strictEqual(new Set(scopes).size, 3, "three attempts, three scopes")
      assert.deepStrictEqual(log, [
        "own 1",
        "child 1",
        "fiber 1",
        "own 2",
        "child 2",
        "fiber 2",
        "own 3",
        "child 3",
        "fiber 3"
      ])
    }))

  it.scoped("a finalizer added to an attempt's scope after the attempt ended runs at once", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const log: Array<string> = []
      const kept = yield* Deferred.make<Scope.Scope>()
      const done = yield* supervisor.add(
        TaskSpec.once("leaks-its-scope", Effect.flatMap(Effect.scope, (scope) => Deferred.succeed(kept, scope)))
      )
      assert.strictEqual((yield* done.await)._tag, "Completed")
      yield* Scope.addFinalizer(yield* Deferred.await(kept), Effect.sync(() => log.push("late")))
      assert.deepStrictEqual(log, ["late"])
    }))

  it.scoped("a timed-out attempt's scope closes as interrupted, as Effect.scoped inside Effect.timeout would", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const transaction = Effect.acquireRelease(
        Effect.succeed("tx"),
        (_, exit) =>
          Ref.update(
            seen,
            (
              s
            ) => [
              ...s,
              Exit.isSuccess(exit) ? "commit" : Exit.isInterrupted(exit) ? "rollback (interrupted)" : "rollback"
            ]
          )
      )
      const handle = yield* supervisor.add(
        TaskSpec.once("tx", Effect.zipRight(transaction, Effect.never)).pipe(TaskSpec.withTimeout("1 second"))
      )
      yield* advance("1 second")
      assert.strictEqual((yield* handle.await)._tag, "Failed")
      assert.deepStrictEqual(yield* Ref.get(seen), ["rollback (interrupted)"])
    }))

  it.scoped("a timed-out attempt whose release dies is still a timeout, with the release's defect kept", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.once(
          "t",
          Effect.zipRight(
            Effect.acquireRelease(Effect.void, () => Effect.die(new Error("release broke"))),
            Effect.never
          )
        ).pipe(TaskSpec.withTimeout("1 second"))
      )
      yield* advance("1 second")
      const outcome = narrow(yield* handle.await, "Failed")
      assert.strictEqual(outcome.reason, "timed out after 1s")
      assert.deepStrictEqual(failures(outcome.cause).map((e) => (e as { _tag: string })._tag), ["TaskTimeout"])
      assert.deepStrictEqual(defects(outcome.cause), ["release broke"])
      assert.deepStrictEqual(attemptEnds(events, "t"), ["AttemptTimedOut"])
    }))

  it.scoped("what an attempt acquired is not kept reachable once released: not by the task, not through a backoff", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const refs: Array<WeakRef<object>> = []
      const acquire = Effect.acquireRelease(
        Effect.sync(() => {
          const big = { payload: new Uint8Array(1024) }
          refs.push(new WeakRef(big))
          return big
        }),
        (big) => Effect.sync(() => void big.payload)
      )
      yield* supervisor.add(
        TaskSpec.restartable("r", Effect.zipRight(acquire, Effect.fail(refused))).pipe(TaskSpec.withBackoff(tenMillis))
      )
      yield* supervisor.add(TaskSpec.periodic("p", acquire, "1 hour"))
      yield* settle
      for (let i = 0; i < 3; i++) yield* advance("10 millis")
      yield* collectGarbage
      assert.isAtLeast(refs.length, 5)
      assert.deepStrictEqual(refs.map((ref) => ref.deref() === undefined), refs.map(() => true))
    }))

  it.scoped("a retry schedule that needs a Scope gets the next attempt's", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const note = (line: string) => Ref.update(log, (lines) => [...lines, line])
      const schedule = Schedule.spaced("1 second").pipe(
        Schedule.tapInput(() => Effect.acquireRelease(note("step acquired"), () => note("step released")))
      )
      const { task } = yield* perRun((run) => Effect.zipRight(note(`attempt ${run}`), Effect.fail(refused)))
      yield* supervisor.add(TaskSpec.restartable("s", task).pipe(TaskSpec.withSchedule(schedule)))
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(log), ["attempt 1", "step acquired"])
      yield* advance("1 second")
      assert.deepStrictEqual(yield* Ref.get(log), [
        "attempt 1",
        "step acquired",
        "attempt 2",
        "step released",
        "step acquired"
      ])
    }))

  it.effect("a task built by TaskSpec.toLayer gets attempt scopes too, not the layer's scope", () =>
    Effect.gen(function*() {
      const connections = yield* pool
      const { task } = yield* perRun((run) =>
        Effect.flatMap(connections.acquire(), () => run <= 1 ? Effect.fail(refused) : Effect.never)
      )
      const spec = TaskSpec.restartable("layered", task).pipe(TaskSpec.withBackoff(tenMillis))
      const main = Effect.gen(function*() {
        yield* advance("10 millis")
        return yield* connections.open
      })
      const open = yield* main.pipe(
        Effect.provide(TaskSpec.toLayer(spec)),
        Effect.provide(TaskSupervisor.layer),
        Effect.provide(SupervisorConfig.layer({}))
      )
      assert.deepStrictEqual(open, [2], "the failed attempt's connection was closed while the layer was open")
      assert.deepStrictEqual(yield* connections.open, [])
    }))
})

class Hostile extends Error {
  get exitCode(): number {
    throw new Error("exitCode getter exploded")
  }
}

class Tagless {
  readonly message = "no tag here"
  get _tag(): string {
    throw new Error("_tag getter exploded")
  }
}

const brokenOutcome = (task: string, failure: unknown, retry: TaskSpec.Retry = tenMillis) =>
  Effect.gen(function*() {
    const { events, supervisor } = yield* supervisorWith()
    const { runs, task: body } = yield* perRun(() => Effect.fail(failure))
    const handle = yield* supervisor.add(
      TaskSpec.make(task, body, { restart: RestartPolicy.onFailure, maxRetries: 3 }).pipe(
        (spec) =>
          BackoffPolicy.isBackoffPolicy(retry) ? TaskSpec.withBackoff(spec, retry) : TaskSpec.withSchedule(spec, retry)
      )
    )
    yield* advance("1 second")
    const outcome = narrow(yield* handle.await, "Failed", task)
    const other = yield* supervisor.add(TaskSpec.once(`${task}-after`, Effect.void))
    assert.strictEqual((yield* other.await)._tag, "Completed", "the supervisor carries on")
    assertTaskOrder(events, task)
    return { events, outcome, runs: yield* Ref.get(runs) }
  })

const failures = <E>(cause: Cause.Cause<E>) => [...Cause.failures(cause)].map((e) => Cause.originalError(e))
const defects = <E>(cause: Cause.Cause<E>) => [...Cause.defects(cause)].map((d) => (d as Error).message)

describe("the context of an attempt", () => {
  class Db extends Context.Tag("test/Db")<Db, { readonly name: string }>() {}
  class Extra extends Context.Tag("test/Extra")<Extra, number>() {}

  it.scoped("is the caller's services with the attempt's own Scope and CurrentTask, each once, extended as any context", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const seen: Array<{
        readonly keys: ReadonlyArray<string>
        readonly db: string
        readonly extra: number
        readonly attempt: number
        readonly sameScope: boolean
        readonly equalToItself: boolean
      }> = []
      const callerScope = yield* Effect.scope
      const body = Effect.gen(function*() {
        const context = yield* Effect.context<Db | Scope.Scope>()
        const extended = yield* Effect.provideService(Effect.context<Db | Extra | Scope.Scope>(), Extra, 7)
        seen.push({
          keys: Array.from(extended.unsafeMap.keys()).sort(),
          db: Context.get(extended, Db).name,
          extra: Context.get(extended, Extra),
          attempt: (yield* TaskSpec.CurrentTask).attempt,
          sameScope: Context.get(context, Scope.Scope) === callerScope,
          equalToItself: Equal.equals(context, Context.merge(Context.empty(), context))
        })
        return yield* Effect.fail("again")
      })
      const handle = yield* supervisor.add(TaskSpec.restartable("ctx", body).pipe(TaskSpec.withMaxRetries(1)))
        .pipe(Effect.provideService(Db, { name: "primary" }))
      yield* advance("1 second")
      assert.strictEqual((yield* handle.await)._tag, "Failed")
      const keys = [Db.key, Extra.key, Scope.Scope.key, TaskSpec.CurrentTask.key].sort()
      assert.deepStrictEqual(seen.map((s) => s.keys.filter((k) => keys.includes(k))), [keys, keys])
      for (const s of seen) assert.strictEqual(new Set(s.keys).size, s.keys.length, "a key appears once")
      assert.deepStrictEqual(seen.map((s) => [s.db, s.extra, s.attempt, s.sameScope, s.equalToItself]), [
        ["primary", 7, 1, false, true],
        ["primary", 7, 2, false, true]
      ])
    }))

  it.scoped("a fiber forked by an attempt keeps that attempt's scope and CurrentTask, not the next one's", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const released: Array<string> = []
      const later: Array<number> = []
      let attempts = 0
      const body = Effect.gen(function*() {
        attempts++
        if (attempts === 1) {
          // outlives its attempt; its context is the first attempt's
          yield* Effect.forkDaemon(
            Effect.gen(function*() {
              yield* Effect.sleep("5 seconds")
              later.push((yield* TaskSpec.CurrentTask).attempt)
              // the first attempt's scope, closed by now: the finalizer runs at once
              yield* Effect.addFinalizer(() => Effect.sync(() => void released.push("late finalizer")))
            })
          )
          return yield* Effect.fail("first")
        }
        yield* Effect.addFinalizer(() => Effect.sync(() => void released.push("second attempt")))
        return yield* Effect.never
      })
      yield* supervisor.add(TaskSpec.restartable("forks", body))
      yield* advance("10 seconds")
      assert.deepStrictEqual(later, [1])
      assert.deepStrictEqual(released, ["late finalizer"], "not added to the second attempt's scope")
      assert.isTrue(yield* supervisor.cancel("forks"))
      assert.deepStrictEqual(released, ["late finalizer", "second attempt"])
    }))
})

describe("user values are read under a guard", () => {
  it.scoped("a failure whose exitCode getter throws ends the task Failed with both causes and one AttemptFailed", () =>
    Effect.gen(function*() {
      const failure = new Hostile("hostile failure")
      const { events, outcome, runs } = yield* brokenOutcome("exit-code", failure)
      assert.strictEqual(runs, 1)
      assert.strictEqual(
        outcome.reason,
        "reading exitCode failed: exitCode getter exploded (while handling: hostile failure)"
      )
      assert.isUndefined(outcome.exitCode)
      assert.deepStrictEqual(failures(outcome.cause), [failure])
      assert.deepStrictEqual(defects(outcome.cause), ["exitCode getter exploded"])
      const failed = ofTag(events, "AttemptFailed", "exit-code")
      assert.deepStrictEqual(failed.map((e) => [e.attempt, e.reason, e.exitCode]), [[1, "hostile failure", undefined]])
    }))

  it.scoped("a failure whose _tag getter throws ends the task Failed with both causes and one AttemptFailed", () =>
    Effect.gen(function*() {
      const failure = new Tagless()
      const { events, outcome, runs } = yield* brokenOutcome("tag", failure)
      assert.strictEqual(runs, 1)
      assert.strictEqual(outcome.reason, "reading _tag failed: _tag getter exploded (while handling: no tag here)")
      assert.deepStrictEqual(failures(outcome.cause), [failure])
      assert.deepStrictEqual(defects(outcome.cause), ["_tag getter exploded"])
      assert.strictEqual(ofTag(events, "AttemptFailed", "tag").length, 1)
    }))

  it.scoped("a retry schedule whose step throws synchronously ends the task Failed with both causes", () =>
    Effect.gen(function*() {
      const throwing = Schedule.makeWithState(0, (): never => {
        throw new Error("step exploded")
      })
      const { events, outcome, runs } = yield* brokenOutcome("step", refused, throwing)
      assert.strictEqual(runs, 1)
      assert.strictEqual(
        outcome.reason,
        "retry schedule failed: step exploded (while handling: Refused: connection refused)"
      )
      assert.deepStrictEqual(failures(outcome.cause), [refused])
      assert.deepStrictEqual(defects(outcome.cause), ["step exploded"])
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "step").map((e) => e.attempt), [1])
      assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "step"), [])
    }))

  it.scoped("a retry schedule that returns something other than a decision ends the task Failed", () =>
    Effect.gen(function*() {
      const garbage = Schedule.makeWithState(
        0,
        () =>
          Effect.succeed(
            [0, 0, "not a decision"] as unknown as readonly [number, number, ScheduleDecision.ScheduleDecision]
          )
      )
      const { outcome } = yield* brokenOutcome("garbage", refused, garbage)
      assert.match(outcome.reason, /^retry schedule failed: .* \(while handling: Refused: connection refused\)$/)
      assert.deepStrictEqual(failures(outcome.cause), [refused])
    }))

  it.scoped("a retry schedule that asks for an impossible delay ends the task Failed", () =>
    Effect.gen(function*() {
      const endless = Schedule.makeWithState(0, () =>
        Effect.succeed([0, 0, ScheduleDecision.continueWith({ startMillis: NaN, endMillis: NaN } as never)] as const))
      const { outcome, runs } = yield* brokenOutcome("nan", refused, endless)
      assert.strictEqual(runs, 1)
      assert.match(outcome.reason, /^retry schedule failed: .*delay.* \(while handling: Refused: connection refused\)$/)
    }))

  it.scoped("a failure whose message getter throws is described as such and handled like any failure", () =>
    Effect.gen(function*() {
      class MessageBomb extends Error {
        override get message(): string {
          throw new Error("message getter exploded")
        }
      }
      const { events, supervisor } = yield* supervisorWith()
      const { runs, task } = yield* perRun(() => Effect.fail(new MessageBomb()))
      const handle = yield* supervisor.add(
        TaskSpec.restartable("msg", task).pipe(TaskSpec.withBackoff(tenMillis), TaskSpec.withMaxRetries(2))
      )
      yield* advance("10 millis")
      yield* advance("10 millis")
      const outcome = narrow(yield* handle.await, "Failed")
      assert.strictEqual(yield* Ref.get(runs), 3)
      assert.strictEqual(outcome.reason, "retry limit reached after 2 of 2 retries: a failure that cannot be described")
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "msg").map((e) => e.reason), [
        "a failure that cannot be described",
        "a failure that cannot be described",
        "a failure that cannot be described"
      ])
    }))

  it.scoped("a retry schedule that asks for an infinite delay waits for ever, until the task is stopped", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { runs, task } = yield* perRun(() => Effect.fail(refused))
      const handle = yield* supervisor.add(
        TaskSpec.restartable("forever", task).pipe(TaskSpec.withSchedule(Schedule.spaced(Duration.infinity)))
      )
      yield* advance("1000 days")
      assert.strictEqual(yield* Ref.get(runs), 1)
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.state), ["BackingOff"])
      assert.isTrue(Duration.equals(ofTag(events, "BackoffScheduled", "forever")[0].delay, Duration.infinity))
      assert.isTrue(yield* supervisor.cancel(handle.id))
      assert.strictEqual((yield* handle.await)._tag, "Canceled")
    }))

  it.effect("a spec whose effect, restart, retry or isFatal is not what its type says is refused at admission", () =>
    Effect.scoped(Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const sentinel = yield* supervisor.add(TaskSpec.make("sentinel", neverEnding))
      yield* settle
      const base = TaskSpec.once("bad", Effect.void)
      const hostile: ReadonlyArray<[string, TaskSpec.TaskSpec<unknown, never>]> = [
        ["effect of task 'bad'", TaskSpec.once("bad", "not an effect" as unknown as Effect.Effect<void>)],
        [
          "restart of task 'bad'",
          TaskSpec.withRestart(base, { _tag: "Sometimes" } as unknown as RestartPolicy.RestartPolicy)
        ],
        ["backoff of task 'bad'", TaskSpec.withBackoff(base, { first: 1 } as unknown as BackoffPolicy.BackoffPolicy)],
        ["isFatal of task 'bad'", TaskSpec.withFatal(base, "yes" as unknown as (e: unknown) => boolean)]
      ]
      for (const [field, spec] of hostile) {
        const error = yield* Effect.flip(supervisor.add(spec))
        assert.strictEqual(error._tag, "ConfigError", field)
        assert.strictEqual((error as { field: string }).field, field)
      }
      assert.isTrue(yield* supervisor.isAlive("sentinel"))
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), ["sentinel"])
      assert.deepStrictEqual(ofTag(events, "TaskAddRequested").map((e) => e.task), ["sentinel"])
      assert.strictEqual(sentinel.name, "sentinel")
    })))
})

describe("zero-delay retry loops", () => {
  /** A task that fails at once, retried with zero backoff; `attempts()` counts its attempts so far. */
  const hotTask = () => {
    let attempts = 0
    const spec = TaskSpec.restartable(
      "hot",
      Effect.suspend(() => {
        attempts++
        return Effect.fail(refused)
      })
    ).pipe(TaskSpec.withBackoff(BackoffPolicy.constant(0)))
    return { spec, attempts: () => attempts }
  }

  it.effect("on TestClock a zero delay is a plain yield: a hot task keeps making progress while the test only yields", () =>
    Effect.scoped(Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const hot = hotTask()
      yield* supervisor.add(hot.spec)
      yield* spin(1000)
      assert.isAtLeast(hot.attempts(), 900)
      yield* supervisor.shutdown
    })))

  // real time: the property is about Node's event loop, which TestClock does not drive; the test waits on a condition
  it.live("a task retried with zero backoff lets a macrotask run within a bounded number of attempts", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const hot = hotTask()
      // queued before the task starts (it starts within `add`): the next turn of the event loop
      const turned = new Promise<number>((resolve) => setImmediate(() => resolve(hot.attempts())))
      const handle = yield* supervisor.add(hot.spec)
      const seen = yield* Effect.promise(() => turned)
      // Effect's scheduler alone lets a macrotask run only after 2048 microtask rounds; a stretch of zero-delay
      // pauses ends after at most 256 of them (or 2 ms)
      assert.isAtMost(seen, 257, `the event loop turned only after ${seen} attempts`)
      assert.isTrue(yield* supervisor.cancel(handle.id), "a hot task stops on request")
      assert.strictEqual((yield* handle.await)._tag, "Canceled")
      assert.isAtLeast(hot.attempts(), ofTag(events, "AttemptStarting", "hot").length)
    }).pipe(Effect.scoped))
})
