/**
 * Worker tasks with real worker threads: typed requests and answers, a
 * handler that fails, a worker that throws or exits (retryable, with its
 * reason), a module that does not exist (Fatal, or retried with
 * `spawnFailure: "retry"`), a cooperative worker stopped within the grace,
 * one that never yields terminated after `terminateAfter`, after a timeout's
 * grace, or past the grace of a stop (ForceAborted) with no thread left after
 * 100 such stops, and options refused at `add`.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import * as WorkerTask from "../src/WorkerTask.js"
import { Behave, Square } from "./fixtures/worker/requests.js"
import { ofTag } from "./utils/events.js"
import { processSupervisor } from "./utils/process.js"
import { removeWorkerModules, spinner, threadCount, workerModule } from "./utils/workers.js"

const once = { restart: RestartPolicy.never } as const
const retryFast = { restart: RestartPolicy.onFailure, backoff: BackoffPolicy.constant("10 millis") } as const

/** The typed failure the outcome's cause holds. */
const errorOf = (outcome: TaskOutcome.TaskOutcome<WorkerTask.WorkerError>): unknown => {
  const ended = outcome as Extract<TaskOutcome.TaskOutcome<WorkerTask.WorkerError>, { _tag: "Failed" | "Fatal" }>
  assert.oneOf(ended._tag, ["Failed", "Fatal"], `outcome ${outcome._tag}`)
  return Option.getOrUndefined(Cause.failureOption(ended.cause))
}

/** Options whose `onOutput` records the answers and completes `said` on the first. */
const recording = (said: Deferred.Deferred<void>, outputs: Array<unknown>) => ({
  onOutput: (output: unknown) =>
    Effect.zipRight(Effect.sync(() => outputs.push(output)), Deferred.succeed(said, undefined))
})

const within = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
  Effect.timeoutFail(effect, { duration: "10 seconds", onTimeout: () => new Error(`no ${what} within 10 s`) })

/** Waits, polling every 10 ms for at most 10 s, until the process has no more than `most` threads. */
const threadsBackTo = (most: number) =>
  Effect.sync(threadCount).pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n <= most }),
    (polled) => within(`return to ${most} threads`, polled)
  )

afterAll(removeWorkerModules)

const gc: () => void = (() => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc")
})()

describe("WorkerTask answers", () => {
  it.scopedLive("a typed request is answered with a typed value; a Stream answers several in order", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const squares: Array<number> = []
      const square = yield* add(WorkerTask.make("square", workerModule("square"), new Square({ n: 7 }), {
        ...once,
        onOutput: (n) => Effect.sync(() => squares.push(n))
      }))
      assert.strictEqual((yield* outcome(square))._tag, "Completed")
      assert.deepStrictEqual(squares, [49])
      const counted: Array<string> = []
      const count = yield* add(WorkerTask.make("count", workerModule("behave"), new Behave({ mode: "count" }), {
        ...once,
        onOutput: (word) => Effect.sync(() => counted.push(word))
      }))
      assert.strictEqual((yield* outcome(count))._tag, "Completed")
      assert.deepStrictEqual(counted, ["one", "two", "three"])
    }))
})

describe("WorkerTask failures", () => {
  it.scopedLive("a handler that fails is a retryable WorkerFailed with its reason, restarted per the policy", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        WorkerTask.make("failing", workerModule("behave"), new Behave({ mode: "fail" }), {
          ...retryFast,
          maxRetries: 1
        })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Failed")
      const error = errorOf(outcome)
      assert.instanceOf(error, WorkerTask.WorkerFailed)
      assert.strictEqual((error as WorkerTask.WorkerFailed).error, "bad input")
      const failed = ofTag(events, "AttemptFailed", "failing")
      assert.lengthOf(failed, 2)
      assert.match(failed[0].reason, /its handler failed: bad input/)
    }))

  it.scopedLive("a handler that dies, and a worker that throws, are WorkerFailed saying so", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      for (
        const [mode, reason] of [["die", /its handler died: .*a bug in the handler/], [
          "throw",
          /it threw: .*boom/
        ]] as const
      ) {
        const handle = yield* add(WorkerTask.make(mode, workerModule("behave"), new Behave({ mode }), once))
        const error = errorOf(yield* outcome(handle))
        assert.instanceOf(error, WorkerTask.WorkerFailed)
        assert.match((error as WorkerTask.WorkerFailed).message, reason)
        assert.isTrue(WorkerTask.isWorkerError(error))
      }
    }))

  it.scopedLive("a worker that exits is retried, its exit code in AttemptFailed and the outcome", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        WorkerTask.make("exiting", workerModule("behave"), new Behave({ mode: "exit" }), {
          ...retryFast,
          maxRetries: 2
        })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Failed")
      assert.strictEqual((outcome as TaskOutcome.TaskOutcome<never> & { _tag: "Failed" }).exitCode, 3)
      const failed = ofTag(events, "AttemptFailed", "exiting")
      assert.deepStrictEqual(failed.map((e) => e.exitCode), [3, 3, 3])
      assert.match(failed[0].reason, /exited with code 3/)
      // the thread's id as it ran (Node reads -1 once it has exited)
      assert.match(failed[0].reason, /worker thread [1-9]\d* of /)
    }))

  it.scopedLive("a module that does not exist is a WorkerSpawnFailed, Fatal at once", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        WorkerTask.make("missing", "/nonexistent/worker.mjs", new Square({ n: 1 }), { ...retryFast, maxRetries: 3 })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Fatal")
      const error = errorOf(outcome) as WorkerTask.WorkerSpawnFailed
      assert.instanceOf(error, WorkerTask.WorkerSpawnFailed)
      assert.strictEqual(error.reason, "ENOENT")
      assert.match(error.message, /cannot start a worker thread of \/nonexistent\/worker\.mjs: ENOENT/)
      assert.lengthOf(ofTag(events, "AttemptStarting", "missing"), 1)
    }))
  it.scopedLive("with spawnFailure retry, a module that does not exist is retried per the policy, then Failed", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        WorkerTask.make("missing", "/nonexistent/worker.mjs", new Square({ n: 1 }), {
          ...retryFast,
          maxRetries: 2,
          spawnFailure: "retry"
        })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Failed")
      assert.instanceOf(errorOf(outcome), WorkerTask.WorkerSpawnFailed)
      assert.lengthOf(ofTag(events, "AttemptStarting", "missing"), 3)
    }))
})

describe("WorkerTask stop", () => {
  it.scopedLive("a cooperative worker is interrupted and closes within the grace: Canceled, its thread gone", () =>
    Effect.gen(function*() {
      const { add, outcome, provide } = yield* processSupervisor()
      const before = threadCount()
      const said = yield* Deferred.make<void>()
      const outputs: Array<unknown> = []
      const handle = yield* add(
        WorkerTask.make("polite", workerModule("behave"), new Behave({ mode: "wait" }), {
          ...once,
          ...recording(said, outputs)
        })
      )
      yield* within("answer", Deferred.await(said))
      yield* provide(TaskSupervisor.remove("polite"))
      assert.strictEqual((yield* outcome(handle))._tag, "Canceled")
      assert.deepStrictEqual(outputs, ["waiting"])
      yield* threadsBackTo(before)
    }))

  it.scopedLive("a worker that never yields is terminated after terminateAfter: within the grace, Canceled", () =>
    Effect.gen(function*() {
      const { add, outcome, provide } = yield* processSupervisor({ grace: "5 seconds" })
      const before = threadCount()
      const said = yield* Deferred.make<void>()
      const handle = yield* add(
        WorkerTask.make("spinner", workerModule("behave"), new Behave({ mode: "spin" }), {
          ...once,
          ...recording(said, []),
          terminateAfter: "100 millis"
        })
      )
      yield* within("answer", Deferred.await(said))
      yield* provide(TaskSupervisor.remove("spinner"))
      assert.strictEqual((yield* outcome(handle))._tag, "Canceled")
      yield* threadsBackTo(before)
    }))

  it.scopedLive("a worker that never yields and times out is terminated after the grace; the attempt is retried", () =>
    Effect.gen(function*() {
      const { add, events, outcome } = yield* processSupervisor({ grace: "300 millis" })
      const before = threadCount()
      const handle = yield* add(
        WorkerTask.make("stuck", workerModule("behave"), new Behave({ mode: "spin" }), {
          ...retryFast,
          timeout: "200 millis",
          maxRetries: 1
        })
      )
      // no force-abort follows a timeout: each thread is terminated a grace (and a margin) after its stop request
      assert.strictEqual((yield* outcome(handle))._tag, "Failed")
      assert.lengthOf(ofTag(events, "AttemptTimedOut", "stuck"), 2)
      yield* threadsBackTo(before)
    }))

  it.scopedLive(
    "100 workers that never yield are each ForceAborted past the grace; threads and heap come back",
    () =>
      Effect.gen(function*() {
        const { add, outcome, provide } = yield* processSupervisor({ grace: "10 millis" })
        const cycle = (i: number) =>
          Effect.gen(function*() {
            const said = yield* Deferred.make<void>()
            const handle = yield* add(
              WorkerTask.make(`spin-${i}`, spinner, new Behave({ mode: "spin" }), {
                ...once,
                ...recording(said, [])
              })
            )
            yield* within("answer", Deferred.await(said))
            yield* provide(TaskSupervisor.remove(`spin-${i}`))
            return (yield* outcome(handle))._tag
          })
        // a first round starts what the process keeps for worker threads (V8's and libuv's threads, code caches)
        assert.deepStrictEqual(yield* Effect.forEach([0, 1], cycle, { concurrency: 2 }), [
          "ForceAborted",
          "ForceAborted"
        ])
        yield* threadsBackTo(0).pipe(Effect.ignore, Effect.timeout("200 millis"), Effect.ignore)
        const threads = threadCount()
        gc()
        const heap = process.memoryUsage().heapUsed
        const outcomes = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i + 2), cycle, { concurrency: 4 })
        assert.deepStrictEqual(new Set(outcomes), new Set(["ForceAborted"]))
        yield* threadsBackTo(threads)
        gc()
        const grown = process.memoryUsage().heapUsed - heap
        assert.isBelow(grown, 8 * 1024 * 1024, `the heap grew by ${grown} bytes over 100 cycles`)
      }),
    // 10 s in CI; up to 30 s seen beside other test files on a loaded 2-core machine (thread starts are what slows)
    120_000
  )
})

describe("WorkerTask options", () => {
  it.scopedLive("a bad option, or terminateAfter past the grace, refuses the task at add; the running are undisturbed", () =>
    Effect.gen(function*() {
      const { add, events, outcome, provide } = yield* processSupervisor({ grace: "2 seconds" })
      const said = yield* Deferred.make<void>()
      const running = yield* add(
        WorkerTask.make("running", workerModule("behave"), new Behave({ mode: "wait" }), {
          ...once,
          ...recording(said, [])
        })
      )
      yield* within("answer", Deferred.await(said))
      const cases: ReadonlyArray<readonly [string, WorkerTask.Options<Square>, RegExp]> = [
        ["terminateAfter", { terminateAfter: "3 seconds" }, /at most the supervisor's grace \(2s\), got 3s/],
        ["terminateAfter", { terminateAfter: -1 }, /negative/],
        ["workerOptions", { workerOptions: { eval: true } }, /eval is not supported/],
        ["workerOptions", { workerOptions: { eval: 1 as never } }, /eval is not supported/],
        ["onOutput", { onOutput: 1 as never }, /must be a function/],
        ["spawnFailure", { spawnFailure: "later" as never }, /"fatal" or "retry"/]
      ]
      for (const [field, options, reason] of cases) {
        const error = yield* Effect.flip(
          add(WorkerTask.make("bad", workerModule("square"), new Square({ n: 1 }), options))
        )
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual((error as { field: string }).field, `${field} of task 'bad'`)
        assert.match(error.message, reason)
      }
      const request = yield* Effect.flip(
        add(WorkerTask.make("plain", workerModule("square"), { _tag: "Square", n: 1 } as unknown as Square))
      )
      assert.strictEqual((request as { field: string }).field, "request of task 'plain'")
      for (const module of ["", "file://elsewhere/worker.mjs"]) {
        const error = yield* Effect.flip(add(WorkerTask.make("nowhere", module, new Square({ n: 1 }))))
        assert.strictEqual((error as { field: string }).field, "module of task 'nowhere'")
      }
      assert.deepStrictEqual(ofTag(events, "AttemptStarting").map((e) => e.task), ["running"])
      assert.lengthOf(ofTag(events, "AttemptCanceled"), 0)
      yield* provide(TaskSupervisor.remove("running"))
      assert.strictEqual((yield* outcome(running))._tag, "Canceled")
    }))
})
