/**
 * The `worker/` rows: what a worker task adds to a thread's start, and what 100 force-aborts leave behind.
 *
 * - `worker/start_to_first_message/square`: a `WorkerTask` of test/fixtures/worker/square.ts (bundled by
 *   test/utils/workers.ts, Effect and @effect/platform in it) from `add` to the first answer its `onOutput` receives,
 *   one after another, against a bare `new Worker` of the same module to its first message (WorkerRunner's "ready"),
 *   then `terminate()`d; samples interleaved in the same run. The task's side does more on the way: the ready
 *   handshake, the request and its answer through the schemas, the supervisor.
 * - `worker/force_abort_100/spin`: 100 worker tasks of test/fixtures/worker/spin.mjs (it answers once, then spins in
 *   `for (;;)`), four at a time, each removed once it answered, under a supervisor with a grace of 20 ms: each is
 *   `ForceAborted` and its thread terminated. Per cycle; the notes give the process's threads (/proc/self/task) and
 *   heap (after a GC) before and after the 100 cycles. Against it, `baseline/force_abort_100/in_process_ignoring`: 100
 *   in-process tasks that ignore interruption (`Effect.never`, uninterruptible), removed the same way, which are
 *   force-aborted too but whose fibers run on: the fibers left are in the notes.
 */
import { RestartPolicy, TaskSpec } from "effect-taskvisor"
import * as WorkerTask from "effect-taskvisor/WorkerTask"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import { Worker } from "node:worker_threads"
import { Behave, Square } from "../test/fixtures/worker/requests.js"
import { removeWorkerModules, spinner, workerModule } from "../test/utils/workers.js"
import { measurePair, progress, resultOfFigures } from "./harness.js"
import type { Row, Target } from "./report.js"
import { costTarget, key } from "./report.js"
import { benchInput, supervisorIn } from "./workloads.js"

/** Starts per sample of the start rows. */
const RUNS = 5
const START_SAMPLES = 7
const CYCLES = 100
const CONCURRENCY = 4
const GRACE_MS = 20

const row = (id: string, param: string, unit: string) => ({ id, param, kind: "perOp" as const, unit })
const startRow = row("worker/start_to_first_message", "square", "µs/start")
const bareRow = row("baseline/start_to_first_message", "new_worker", "µs/start")
const abortRow = row("worker/force_abort_100", "spin", "ms/cycle")
const inProcessRow = row("baseline/force_abort_100", "in_process_ignoring", "ms/cycle")

/** The keys of the `worker/` rows. */
export const workerKeys: ReadonlyArray<string> = [key(startRow), key(abortRow)]

/** The threads of this process (Linux: /proc/self/task). */
const threads = (): number => Fs.readdirSync("/proc/self/task").length

/** The heap in use after a full collection (the bench runs with `--expose-gc`). */
const heap = (): number => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

/** Runs `RUNS` starts one after another, timed. */
const timedRuns = (once: Effect.Effect<void>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(Effect.repeatN(once, RUNS - 1), () => ({ ms: performance.now() - start, units: RUNS }))
  })

/** The supervisor's side: a worker task of `square`, from `add` to its first answer. */
const supervised = (scope: Scope.Scope) =>
  Effect.map(supervisorIn(benchInput, scope), (supervisor) => {
    let n = 0
    const once = Effect.gen(function*() {
      const answered = yield* Deferred.make<void>()
      const handle = yield* supervisor.add(
        WorkerTask.make(`square-${n++}`, workerModule("square"), new Square({ n: 3 }), {
          restart: RestartPolicy.never,
          onOutput: () => Deferred.succeed(answered, undefined)
        })
      )
      yield* Deferred.await(answered)
      // the next start waits for this thread to be gone, as the bare side's does
      yield* handle.await
    }).pipe(Effect.orDie)
    return { ...startRow, samples: START_SAMPLES, sample: timedRuns(once) }
  })

const bare = {
  ...bareRow,
  samples: START_SAMPLES,
  sample: timedRuns(Effect.promise(async () => {
    const worker = new Worker(workerModule("square"))
    await new Promise((resolve) => worker.once("message", resolve))
    await worker.terminate()
  }))
}

/** One run of `CYCLES` force-aborts of `make(i)`'s tasks: ms per cycle, and what was left. */
const cycles = (
  make: (i: number, answered: Deferred.Deferred<void>) => Effect.Effect<TaskSpec.TaskSpec<unknown>>
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const supervisor = yield* supervisorIn({ ...benchInput, grace: `${GRACE_MS} millis` }, scope)
    const cycle = (i: number) =>
      Effect.gen(function*() {
        const answered = yield* Deferred.make<void>()
        // the spec of either side, whose attempt completes `answered` once it runs
        const handle = yield* Effect.orDie(supervisor.add(yield* make(i, answered)))
        yield* Deferred.await(answered)
        yield* Effect.orDie(supervisor.remove(handle.id))
        return (yield* handle.await)._tag
      })
    // one round first, which starts what the process keeps for worker threads
    yield* Effect.forEach([0, 1, 2, 3], cycle, { concurrency: CONCURRENCY })
    const threadsBefore = threads()
    const heapBefore = heap()
    const start = performance.now()
    const outcomes = yield* Effect.forEach(
      Array.from({ length: CYCLES }, (_, i) => i + 4),
      cycle,
      { concurrency: CONCURRENCY }
    )
    const ms = (performance.now() - start) / CYCLES
    // the last threads are terminated as their tasks are force-aborted: wait for them (at most a second)
    for (let i = 0; i < 100 && threads() > threadsBefore; i++) yield* Effect.sleep("10 millis")
    const left = { threads: threads() - threadsBefore, heap: heap() - heapBefore }
    yield* Scope.close(scope, Exit.void)
    return { ms, left, forceAborted: outcomes.filter((tag) => tag === "ForceAborted").length }
  })

const spinning = (i: number, answered: Deferred.Deferred<void>) =>
  Effect.succeed(
    WorkerTask.make(`spin-${i}`, spinner, new Behave({ mode: "spin" }), {
      restart: RestartPolicy.never,
      onOutput: () => Deferred.succeed(answered, undefined)
    })
  )

/** The in-process tasks' fibers still running (each counts itself in, and out when it ends). */
let running = 0

const inProcess = (i: number, answered: Deferred.Deferred<void>) =>
  Effect.succeed(
    TaskSpec.make(
      `ignoring-${i}`,
      Effect.sync(() => running++).pipe(
        Effect.zipRight(Deferred.succeed(answered, undefined)),
        Effect.zipRight(Effect.never),
        Effect.ensuring(Effect.sync(() => running--)),
        Effect.uninterruptible
      ),
      { restart: RestartPolicy.never }
    )
  )

/** The `worker/` rows `selected` asks for, and their targets. */
export const measureWorker = async (
  selected: (key: string) => boolean
): Promise<{ readonly rows: Array<Row>; readonly targets: Array<Target> }> => {
  const rows: Array<Row> = []
  const targets: Array<Target> = []
  try {
    if (selected(key(startRow))) {
      progress(`  worker/start_to_first_message: ${START_SAMPLES} × ${RUNS} starts a side …`)
      const scope = Effect.runSync(Scope.make())
      const [result, baseline] = await measurePair(Effect.runSync(supervised(scope)), bare)
      await Effect.runPromise(Scope.close(scope, Exit.void))
      rows.push({ result, baseline })
      targets.push(
        costTarget(
          "start-to-first-message of a worker task ≤ 1.2× a bare `new Worker` of the same module",
          result,
          baseline,
          1.2
        )
      )
    }

    if (selected(key(abortRow))) {
      progress(`  worker/force_abort_100: ${CYCLES} workers that never yield, force-aborted …`)
      const workers = await Effect.runPromise(cycles(spinning))
      progress(`  baseline/force_abort_100: ${CYCLES} in-process tasks ignoring interruption …`)
      const fibers = await Effect.runPromise(cycles(inProcess))
      const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`
      rows.push({
        result: resultOfFigures(abortRow, [workers.ms], [workers.ms * CYCLES]),
        baseline: resultOfFigures(inProcessRow, [fibers.ms], [fibers.ms * CYCLES]),
        note: `ForceAborted ${workers.forceAborted}/${CYCLES}; after them: threads ${
          workers.left.threads >= 0 ? "+" : ""
        }${workers.left.threads}, heap ${
          mib(workers.left.heap)
        } (in-process: ForceAborted ${fibers.forceAborted}/${CYCLES}, fibers still running ${running}, heap ${
          mib(fibers.left.heap)
        })`
      })
      targets.push({
        name: `${CYCLES} worker tasks that never yield are each ForceAborted and leave no thread behind`,
        measured: `${workers.forceAborted}/${CYCLES} ForceAborted, threads ${workers.left.threads} over before, heap ${
          mib(workers.left.heap)
        } (in-process: ${running} fibers left running)`,
        pass: workers.forceAborted === CYCLES && workers.left.threads <= 0
      })
    }
  } finally {
    removeWorkerModules()
  }
  return { rows, targets }
}
