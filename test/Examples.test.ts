/**
 * The examples as the README starts them, with `npm run example examples/<name>.ts`: `effect-taskvisor` resolves to
 * `src/` (not to a `dist/` a build may have left), one Ctrl-C of a long-running example is a graceful shutdown, and
 * an example whose critical task gives up exits non-zero.
 * A terminal sends Ctrl-C's SIGINT to the whole foreground process group (npm, the shell npm starts, node), and npm
 * passes it on to the shell as well: the test does the same to a process group of its own.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

interface Started {
  readonly child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const groups = new Set<number>()

/** Whether a process of the group `pgid` is still running. */
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/** `npm run example <file>` in a process group of its own, as a terminal runs a foreground job. */
const example = (file: string, env: Record<string, string> = {}): Started => {
  const child = spawn("npm", ["run", "--silent", "example", file], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env }
  })
  groups.add(child.pid!)
  let output = ""
  child.stdout!.on("data", (chunk) => output += chunk)
  child.stderr!.on("data", (chunk) => output += chunk)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  return { child, output: () => output, exited }
}

/** Waits until `condition` holds, checking every 50 ms, failing with the output after `ms`. */
const until = async (condition: () => boolean, ms: number, what: string, output: () => string) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; output:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The process ended, or was killed with its group after `ms`. */
const ended = async (started: Started, ms: number) => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not end within ${ms} ms; output:\n${started.output()}`)), ms)
  })
  try {
    return await Promise.race([started.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

afterEach(() => {
  for (const pgid of groups) {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL")
  }
  groups.clear()
})

describe("examples run as the README says", () => {
  it("npm run example resolves effect-taskvisor to src/, through tsconfig.examples.json", async () => {
    const started = example("test/fixtures/resolve.ts")
    const exit = await ended(started, 60_000)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, started.output())
    const found = JSON.parse(started.output().trim().split("\n").at(-1)!)
    assert.strictEqual(found.root, new URL("../src/index.ts", import.meta.url).href)
    assert.strictEqual(found.module, new URL("../src/SupervisorHttp.ts", import.meta.url).href)
    assert.include(found.namespaces, "TaskSupervisor")
  }, 60_000)

  // the dashboard is ready in 2 to 4 s (tsx compiles it) and stops in milliseconds; a budget for a loaded machine
  it("one Ctrl-C of a long-running example shuts it down gracefully: its tasks stop, npm exits 0", async () => {
    const started = example("examples/dashboard.ts", { PORT: "0" })
    const pgid = started.child.pid!
    await until(() => started.output().includes("dashboard on http://127.0.0.1:"), 60_000, "started", started.output)
    process.kill(-pgid, "SIGINT")
    const exit = await ended(started, 30_000)
    const output = started.output()
    assert.include(output, "shutdown_requested", output)
    assert.match(output, /task_finished task=poller outcome=outcome_canceled/, output)
    assert.include(output, "all_stopped_within_grace", output)
    // NodeRuntime.runMain exits 0 once an interruption by a signal has closed the program's scope; npm passes it on
    assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
    assert.isFalse(groupAlive(pgid), "no process of the example is left")
  }, 120_000)

  // the consumer gives up after three retries (about 1.4 s of backoff) once tsx has compiled it (2 to 4 s)
  it("a significant task that gives up ends the program with exit code 1, after a graceful shutdown", async () => {
    const started = example("examples/critical_task.ts")
    const exit = await ended(started, 60_000)
    const output = started.output()
    assert.match(output, /task_finished task=orders-consumer outcome=outcome_failed/, output)
    assert.match(output, /task_finished task=heartbeat outcome=outcome_canceled/, output)
    assert.include(output, "database: pool closed", output)
    assert.include(output, "SignificantTaskFailed: significant task 'orders-consumer' ended Failed", output)
    assert.deepStrictEqual(exit, { code: 1, signal: null }, output)
  }, 120_000)

  // one runner in memory: the singleton restarts twice in-process, runs, and is released when its layer ends
  it("examples/cluster.ts runs its singleton on the embedded runner and releases it gracefully", async () => {
    const started = example("examples/cluster.ts")
    const exit = await ended(started, 60_000)
    const output = started.output()
    assert.match(output, /singleton_acquired singleton=nightly-import/, output)
    assert.match(output, /attempt_failed task=nightly-import attempt=2/, output)
    assert.include(output, "importing, on whichever runner owns the singleton", output)
    assert.match(output, /task_finished task=nightly-import outcome=outcome_canceled/, output)
    assert.match(output, /singleton_released singleton=nightly-import .*release=shutdown/, output)
    assert.include(output, "released after 3 attempts", output)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
  }, 60_000)

  // on the live clock: up to 2 s to the first time of "*/2 * * * * *", a 4.5 s run, 2 s down, then the catch-up
  it("examples/cron.ts: a long run keeps one time and skips the next, trigger, catch-up after a restart", async () => {
    const started = example("examples/cron.ts")
    const exit = await ended(started, 60_000)
    const output = started.output()
    const at = (pattern: RegExp) => {
      const found = output.match(pattern)
      assert.isNotNull(found, `${pattern} in:\n${output}`)
      return Date.parse(found![1])
    }
    const buffered = at(/run_buffered task=report scheduled_at=(\S+) buffered=1/)
    assert.strictEqual(
      at(/run_skipped task=report scheduled_at=(\S+) skipped=1 why=Overlap/),
      buffered + 2000,
      output
    )
    assert.match(output, /task_triggered task=report/, output)
    // the triggered run did not move the schedule
    const next = at(/report is Scheduled; next run at (\S+)/)
    assert.strictEqual(at(/next run still at (\S+)/), next, output)
    // the store keeps the kept run's time (the triggered run is not a scheduled one); after the restart, the time
    // missed while down ran at once
    const kept = at(/the store keeps the last scheduled run, (\S+)/)
    assert.strictEqual(kept, buffered, output)
    const up = at(/up again at (\S+), over the same store/)
    const caughtUp = at(/caught up the run of (\S+);/)
    assert.isAbove(caughtUp, kept, output)
    assert.isAtMost(caughtUp, up, output)
    assert.isAbove(at(/caught up the run of \S+; next run at (\S+)/), up, output)
    assert.strictEqual(output.match(/task_finished task=report outcome=outcome_canceled/g)?.length, 2, output)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
  }, 60_000)

  // tsx compiles it (2 to 4 s); two crashes under a 200 ms backoff, a start, one request, a shutdown
  it(
    "examples/process.ts: a child crashes twice with its exit code, is ready on its line, and shutdown leaves nothing",
    async () => {
      const started = example("examples/process.ts")
      const exit = await ended(started, 60_000)
      const output = started.output()
      assert.strictEqual(output.match(/attempt_failed task=flaky-server attempt=\d .*exit_code=3/g)?.length, 2, output)
      assert.match(output, /start 2: cannot open the database/, output)
      assert.match(output, /attempt_ready task=flaky-server attempt=3/, output)
      assert.match(output, /the server \(pid \d+\) says: hello from the child/, output)
      assert.match(output, /SIGTERM: closing/, output)
      assert.match(output, /task_finished task=flaky-server outcome=outcome_canceled/, output)
      assert.include(output, "after shutdown, processes left in the server's group: 0", output)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
    },
    60_000
  )

  // tsx compiles the program and, in each worker thread, the worker module (several seconds on a loaded machine); one
  // count of primes, then a shutdown that waits its 1 s grace for the thread that never yields
  it(
    "examples/worker_thread.ts: a count completes, a thread that never yields is force-aborted, and the program ends",
    async () => {
      const started = example("examples/worker_thread.ts")
      const exit = await ended(started, 90_000)
      const output = started.output()
      assert.match(output, /primes: 25997 primes below 300000/, output)
      assert.match(output, /primes ended Completed/, output)
      assert.match(output, /runaway: counting the primes below 9007199254740991/, output)
      assert.match(output, /task_finished task=runaway outcome=outcome_force_aborted/, output)
      assert.match(output, /runaway ended ForceAborted/, output)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
    },
    90_000
  )
})
