/**
 * The `process/` rows: what a process task adds to a child program's life, and how shutdown stops many of them.
 *
 * - `process/spawn_to_exit/true`: `true` run as a `ProcessTask` (restart `never`, output ignored) from `add` to its
 *   outcome, one after another, against a bare `child_process.spawn("true")` awaited to its `close` (stdio piped in
 *   both), samples interleaved in the same run. The notes give @effect/platform's executor alone on the same program,
 *   its two output streams drained (`Stream.runDrain`), where most of the difference lies.
 * - `process/stop_100/term_ignored_300ms`: 100 process tasks, each a shell that on SIGTERM waits 300 ms more before it
 *   exits, under a supervisor with a grace of 2 s and `killAfter` 1 s: the time `shutdown` takes, against the grace
 *   plus 100 ms, and the processes of their groups still running afterwards (by `ps`), which must be none.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Command from "@effect/platform/Command"
import { ProcessTask, RestartPolicy } from "effect-taskvisor"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { execFileSync, spawn } from "node:child_process"
import type { Workload } from "./harness.js"
import { formatValue, measure, measurePair, median, progress, resultOfFigures } from "./harness.js"
import type { Row, Target } from "./report.js"
import { costTarget, key } from "./report.js"
import { benchInput, supervisorIn } from "./workloads.js"

/** Runs per sample of the spawn rows. */
const RUNS = 20
const SPAWN_SAMPLES = 15
const CHILDREN = 100
const STOP_SAMPLES = 3
const GRACE_MS = 2000

const row = (id: string, param: string, unit: string) => ({ id, param, kind: "perOp" as const, unit })
const spawnRow = row("process/spawn_to_exit", "true", "µs/run")
const bareRow = row("baseline/spawn_to_exit", "child_process_spawn", "µs/run")
const stopRow = row("process/stop_100", "term_ignored_300ms", "ms")

/** The keys of the `process/` rows. */
export const processKeys: ReadonlyArray<string> = [key(spawnRow), key(stopRow)]

/** A supervisor with `settings`, and the `CommandExecutor` its tasks need, built into `scope`. */
const openIn = (settings: typeof benchInput, scope: Scope.Scope) =>
  Effect.zip(supervisorIn(settings, scope), Layer.buildWithScope(NodeContext.layer, scope))

/** The supervisor's side: `RUNS` process tasks running `true`, one after another. */
const supervised = (scope: Scope.Scope): Effect.Effect<Workload> =>
  Effect.map(openIn(benchInput, scope), ([supervisor, context]) => {
    let n = 0
    const once = Effect.flatMap(
      supervisor.add(ProcessTask.make(`true-${n++}`, Command.make("true"), {
        restart: RestartPolicy.never,
        stdout: "ignore",
        stderr: "ignore"
      })),
      (handle) => handle.await
    ).pipe(Effect.provide(context), Effect.orDie)
    return {
      ...spawnRow,
      samples: SPAWN_SAMPLES,
      sample: Effect.suspend(() => {
        const start = performance.now()
        return Effect.map(Effect.repeatN(once, RUNS - 1), () => ({ ms: performance.now() - start, units: RUNS }))
      })
    }
  })

/** @effect/platform's executor alone: `true` started, its stdout and stderr drained, its exit code awaited. */
const platform = (scope: Scope.Scope): Effect.Effect<Workload> =>
  Effect.map(Layer.buildWithScope(NodeContext.layer, scope), (context) => {
    const once = Effect.scoped(Effect.flatMap(Command.start(Command.make("true")), (process) =>
      Effect.zipRight(
        Effect.all([Stream.runDrain(process.stdout), Stream.runDrain(process.stderr)], { concurrency: 2 }),
        process.exitCode
      ))).pipe(Effect.provide(context), Effect.orDie)
    return {
      ...row("baseline/spawn_to_exit", "effect_platform_drained", "µs/run"),
      samples: SPAWN_SAMPLES,
      sample: Effect.suspend(() => {
        const start = performance.now()
        return Effect.map(Effect.repeatN(once, RUNS - 1), () => ({ ms: performance.now() - start, units: RUNS }))
      })
    }
  })

const bareOnce = () => new Promise<void>((resolve) => spawn("true").on("close", () => resolve()))

const bare: Workload = {
  ...bareRow,
  samples: SPAWN_SAMPLES,
  sample: Effect.promise(async () => {
    const start = performance.now()
    for (let i = 0; i < RUNS; i++) await bareOnce()
    return { ms: performance.now() - start, units: RUNS }
  })
}

/** A shell that says it started, and on SIGTERM (its `sleep` killed with it) waits 300 ms more before it exits. */
const stubborn = Command.make("sh", "-c", "trap 'sleep 0.3; exit 0' TERM; echo started; while :; do sleep 1; done")

/** How many processes of these groups still run, as `ps` lists them (zombies, ended, do not count). */
const running = (groups: ReadonlySet<number>): number =>
  execFileSync("ps", ["-A", "-o", "pgid=,stat="], { encoding: "utf8" }).split("\n").filter((line) => {
    const [group, stat] = line.trim().split(/\s+/)
    return groups.has(Number(group)) && stat !== undefined && !stat.startsWith("Z")
  }).length

/** One sample of the stop row: the milliseconds `shutdown` took, and the processes left. */
const stopSample = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const [supervisor, context] = yield* openIn({ ...benchInput, grace: `${GRACE_MS} millis` }, scope)
  const groups = new Set<number>()
  const allStarted = yield* Deferred.make<void>()
  for (let i = 0; i < CHILDREN; i++) {
    yield* supervisor.add(ProcessTask.make(`stubborn-${i}`, stubborn, {
      restart: RestartPolicy.never,
      killAfter: "1 second",
      onLine: (line) =>
        Effect.suspend(() => {
          groups.add(line.pid)
          return groups.size === CHILDREN ? Deferred.succeed(allStarted, undefined) : Effect.void
        })
    })).pipe(Effect.provide(context), Effect.orDie)
  }
  yield* Deferred.await(allStarted)
  const start = performance.now()
  yield* Effect.orDie(supervisor.shutdown)
  const ms = performance.now() - start
  yield* Scope.close(scope, Exit.void)
  return { ms, left: running(groups) }
})

/** The `process/` rows `selected` asks for, and their targets. */
export const measureProcess = async (
  selected: (key: string) => boolean
): Promise<{ readonly rows: Array<Row>; readonly targets: Array<Target> }> => {
  const rows: Array<Row> = []
  const targets: Array<Target> = []

  if (selected(key(spawnRow))) {
    progress(`  process/spawn_to_exit: ${SPAWN_SAMPLES} × ${RUNS} runs a side …`)
    const scope = Effect.runSync(Scope.make())
    const [result, baseline] = await measurePair(Effect.runSync(supervised(scope)), bare)
    const executor = await measure(Effect.runSync(platform(scope)))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rows.push({
      result,
      baseline,
      note: `@effect/platform's executor alone, output drained: ${formatValue("perOp", executor.value.median)} µs/run`
    })
    targets.push(
      costTarget(
        "spawn-to-exit of a trivial program under the supervisor ≤ 1.2× a bare `child_process.spawn`",
        result,
        baseline,
        1.2
      )
    )
  }

  if (selected(key(stopRow))) {
    const took: Array<number> = []
    const left: Array<number> = []
    for (let i = 0; i < STOP_SAMPLES; i++) {
      progress(`  process/stop_100: ${CHILDREN} children, sample ${i + 1} of ${STOP_SAMPLES} …`)
      const sample = await Effect.runPromise(stopSample)
      took.push(sample.ms)
      left.push(sample.left)
    }
    const result = resultOfFigures(stopRow, took, took)
    rows.push({ result, baseline: undefined, note: `processes left after each shutdown: ${left.join(", ")}` })
    targets.push({
      name:
        `stopping ${CHILDREN} children (each ignoring SIGTERM for 300 ms) ends within the grace + 100 ms, none left`,
      measured: `${median(took).toFixed(0)} ms (worst ${Math.max(...took).toFixed(0)} ms) vs ${GRACE_MS + 100} ms; ${
        Math.max(...left)
      } left`,
      pass: Math.max(...took) <= GRACE_MS + 100 && left.every((n) => n === 0)
    })
  }
  return { rows, targets }
}
