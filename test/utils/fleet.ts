/**
 * The fleet the cluster tests run: runner processes (test/fixtures/cluster/runner.ts) over a real PostgreSQL server,
 * with one cluster singleton, `heartbeat`, and the sharded slots of `jobs` (test/fixtures/cluster/slots.ts, driven by
 * `ask`). Each runner reports, stamped with `Date.now()`, when the singleton's body starts and ends on it; from these
 * the fleet tells who ran it when. Shard locks are leases (`ClusterRunner`'s default) with a short expiry (`tuned`), so
 * that a failover is quick enough to test; `bench/cluster.ts` also opens a fleet with the engine's defaults.
 */
import * as path from "node:path"
import * as Processes from "../../examples/cluster_processes.js"
import * as Slots from "../fixtures/cluster/commands.js"
import * as Postgres from "./postgres.js"

export const expiry = 4_000
export const refreshInterval = 1_000
export const fenceInterval = 500
export const fenceDeadline = 1_000
/** The longest an owner that lost its storage may still run the singleton: the next confirmation, failed. */
export const fenced = fenceInterval + fenceDeadline

/** The engine's settings of the tests' fleets (`ShardingConfig.layerFromEnv`); `{}` is the engine's defaults. */
export const tuned: Readonly<Record<string, string>> = {
  SHARD_LOCK_EXPIRATION: `${expiry} millis`,
  SHARD_LOCK_REFRESH_INTERVAL: `${refreshInterval} millis`,
  REFRESH_ASSIGNMENTS_INTERVAL: "1 second",
  SHARDS_PER_GROUP: "30",
  FENCE_INTERVAL: `${fenceInterval} millis`,
  FENCE_DEADLINE: `${fenceDeadline} millis`
}

const entry = path.resolve(import.meta.dirname, "../fixtures/cluster/runner.ts")

export interface Interval {
  readonly runner: string
  readonly from: number
  readonly to: number
}

export interface Fault {
  readonly kind: "kill -9" | "SIGTERM" | "freeze" | "sessions terminated" | "storage hangs"
  readonly runner: string
  readonly at: number
}

/** Waits until `condition` holds, checking every 20 ms, failing with `what` and `context()` after `ms`. */
export const until = async (condition: () => boolean, ms: number, what: string, context: () => string) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${context()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export interface Options {
  /** How many runners (3 by default). */
  readonly runners?: number | undefined
  /** The engine's settings (`tuned` by default). */
  readonly settings?: Readonly<Record<string, string>> | undefined
  /** Whether each runner talks to the server through a proxy of its own, which can hang it (`true` by default). */
  readonly proxied?: boolean | undefined
}

/** Runner processes over one PostgreSQL server, each talking to it through a proxy of its own (unless not `proxied`). */
export class Fleet {
  /** A server and its runner processes, all ready; if they cannot be had, what was started is stopped. */
  static async open(singleton: "taskvisor" | "engine", options: Options = {}): Promise<Fleet> {
    const fleet = new Fleet(await Postgres.start(), singleton, options.settings ?? tuned, options.proxied ?? true)
    try {
      await Promise.all(Array.from({ length: options.runners ?? 3 }, () => fleet.start()))
      await fleet.ready()
      return fleet
    } catch (error) {
      await fleet.close()
      throw error
    }
  }

  readonly processes: Array<Processes.Process> = []
  readonly proxies = new Map<Processes.Process, Postgres.Proxy>()
  readonly faults: Array<Fault> = []
  /** When each process that has ended was seen to end. */
  readonly exitedAt = new Map<Processes.Process, number>()
  private count = 0

  constructor(
    readonly postgres: Postgres.Postgres,
    readonly singleton: "taskvisor" | "engine",
    readonly settings: Readonly<Record<string, string>>,
    readonly proxied: boolean
  ) {}

  /** Waits until every live runner has joined the cluster. */
  ready(): Promise<void> {
    return until(
      () => this.processes.every((p) => this.exitedAt.has(p) || p.reports.some((r) => r.type === "ready")),
      45_000,
      "every live runner is ready",
      this.describe
    )
  }

  async start(): Promise<Processes.Process> {
    const proxy = this.proxied ? await Postgres.proxy(this.postgres.url) : undefined
    const process = await Processes.startRunner({
      name: `r${++this.count}`,
      databaseUrl: proxy?.url ?? this.postgres.url,
      env: { ...this.settings, SINGLETON: this.singleton },
      entry
    })
    this.processes.push(process)
    if (proxy !== undefined) this.proxies.set(process, proxy)
    void process.exited.then(() => this.exitedAt.set(process, Date.now()))
    return process
  }

  /** The runs of the singleton: a run still open ends when its process ended, or now. */
  intervals(now = Date.now()): Array<Interval> {
    const intervals: Array<Interval> = []
    for (const process of this.processes) {
      const open = new Map<number, number>()
      for (const report of process.reports) {
        if (report.type === "started") open.set(report.run, report.at)
        if (report.type === "ended") {
          intervals.push({ runner: process.name, from: open.get(report.run)!, to: report.at })
          open.delete(report.run)
        }
      }
      for (const from of open.values()) {
        intervals.push({ runner: process.name, from, to: this.exitedAt.get(process) ?? now })
      }
    }
    return intervals.sort((a, b) => a.from - b.from)
  }

  /** The live processes whose last report is a start of the singleton. */
  running(): Array<Processes.Process> {
    return this.processes.filter((process) => {
      if (this.exitedAt.has(process)) return false
      return Processes.runsIt(process.reports)
    })
  }

  /** The one process that runs the singleton, once there is exactly one. */
  async owner(ms = expiry + 10_000): Promise<Processes.Process> {
    await until(() => this.running().length === 1, ms, "exactly one runner runs the singleton", this.describe)
    return this.running()[0]
  }

  /** The first start of the singleton after `since` on another runner than `previous`. */
  async nextStart(previous: Processes.Process, since: number, ms: number) {
    const find = () =>
      this.processes.filter((p) => p !== previous).flatMap((p) =>
        p.reports.filter((r) => r.type === "started" && r.at >= since).map((r) => ({ process: p, at: r.at }))
      ).sort((a, b) => a.at - b.at)[0]
    await until(
      () => find() !== undefined,
      ms,
      `the singleton starts on another runner than ${previous.name}`,
      this.describe
    )
    return find()!
  }

  /** Sends `command` to `runner` (see test/fixtures/cluster/slots.ts) and waits up to `ms` for its answer. */
  async ask(runner: Processes.Process, command: Slots.Command, ms: number): Promise<Slots.SlotLine> {
    const answer = () => Slots.slotLines(runner.reports).find((line) => "tag" in line && line.tag === command.tag)
    runner.send(command)
    await until(() => answer() !== undefined, ms, `${runner.name} answers ${JSON.stringify(command)}`, this.describe)
    return answer()!
  }

  fault(kind: Fault["kind"], runner: Processes.Process): number {
    const at = Date.now()
    this.faults.push({ kind, runner: runner.name, at })
    return at
  }

  readonly describe = (): string =>
    [
      ...this.processes.map((p) =>
        `${p.name}${this.exitedAt.has(p) ? ` (exited: ${p.child.exitCode ?? p.child.signalCode})` : ""}: ${
          p.reports.map((r) => JSON.stringify(r)).join("\n  ")
        }\n  logs: …${p.logs().slice(-1500)}`
      ),
      `faults: ${JSON.stringify(this.faults)}`
    ].join("\n")

  /** SIGTERM to every live process (SIGKILL to those still running 15 s later), then the server stops. */
  async close(): Promise<void> {
    try {
      await this.stopRunners()
    } finally {
      await this.postgres.stop()
    }
  }

  private async stopRunners(): Promise<void> {
    const live = this.processes.filter((p) => !this.exitedAt.has(p))
    for (const p of live) p.child.kill("SIGTERM")
    const timer = setTimeout(() => {
      for (const p of live) if (!this.exitedAt.has(p)) p.child.kill("SIGKILL")
    }, 15_000)
    await Promise.all(live.map((p) => p.exited))
    clearTimeout(timer)
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()))
  }
}

/**
 * The owner's storage hangs (its proxy passes nothing) while the other runners' works, until another runner has
 * started the singleton and a fence deadline more; then it passes again. Returns when it hung, and how long after
 * the owner stopped the singleton and the next one started it.
 */
export const ownerStorageHangs = async (fleet: Fleet) => {
  const owner = await fleet.owner()
  const proxy = fleet.proxies.get(owner)!
  const hung = fleet.fault("storage hangs", owner)
  proxy.hang()
  try {
    const next = await fleet.nextStart(owner, hung, expiry + 15_000)
    await until(() => Date.now() > next.at + fenceDeadline, fenceDeadline + 1_000, "", fleet.describe)
    const ended = owner.reports.find((r) => r.type === "ended" && r.at >= hung)
    return { owner, next, hung, stoppedAfter: ended && ended.at - hung, nextStartedAfter: next.at - hung }
  } finally {
    proxy.release()
  }
}
