/**
 * A fleet of three runner processes (test/fixtures/cluster/runner.ts) over a real PostgreSQL server, with one cluster
 * singleton, `heartbeat`. Each runner reports, stamped with `Date.now()`, when the singleton's body starts and ends on
 * it; from these the test builds who ran it when, across the whole file, and checks that never two runners ran it at
 * once (sampled every 50 ms, and exactly), through a `kill -9` of the owner, a graceful stop of the owner, a frozen
 * PostgreSQL server and the owner's sessions killed by the server. Shard locks are leases (`ClusterRunner`'s
 * default) with a short expiry, so that a failover is quick enough to test.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as path from "node:path"
import * as Processes from "../examples/cluster_processes.js"
import * as Postgres from "./utils/postgres.js"

const expiry = 4_000
const refreshInterval = 1_000
const fenceDeadline = 2_000

const env = {
  SHARD_LOCK_EXPIRATION: `${expiry} millis`,
  SHARD_LOCK_REFRESH_INTERVAL: `${refreshInterval} millis`,
  REFRESH_ASSIGNMENTS_INTERVAL: "1 second",
  SHARDS_PER_GROUP: "30",
  FENCE_INTERVAL: "500 millis",
  FENCE_DEADLINE: `${fenceDeadline} millis`
}

const entry = path.resolve(import.meta.dirname, "fixtures/cluster/runner.ts")

interface Interval {
  readonly runner: string
  readonly from: number
  readonly to: number
}

interface Fault {
  readonly kind: "kill -9" | "SIGTERM" | "freeze" | "sessions terminated" | "storage hangs"
  readonly runner: string
  readonly at: number
}

/** Waits until `condition` holds, checking every 20 ms, failing with `what` and `context()` after `ms`. */
const until = async (condition: () => boolean, ms: number, what: string, context: () => string) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${context()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Runner processes, each talking to the server through a proxy of its own. */
class Fleet {
  readonly processes: Array<Processes.Process> = []
  readonly proxies = new Map<Processes.Process, Postgres.Proxy>()
  readonly faults: Array<Fault> = []
  /** When each process that has ended was seen to end. */
  readonly exitedAt = new Map<Processes.Process, number>()
  private count = 0

  constructor(readonly databaseUrl: string, readonly singleton: "taskvisor" | "engine") {}

  async start(): Promise<Processes.Process> {
    const proxy = await Postgres.proxy(this.databaseUrl)
    const process = await Processes.startRunner({
      name: `r${++this.count}`,
      databaseUrl: proxy.url,
      env: { ...env, SINGLETON: this.singleton },
      entry
    })
    this.processes.push(process)
    this.proxies.set(process, proxy)
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
      const last = process.reports.findLast((report) => report.type === "started" || report.type === "ended")
      return last?.type === "started"
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
    await until(() => find() !== undefined, ms, `the singleton starts on another runner than ${previous.name}`, this.describe)
    return find()!
  }

  fault(kind: Fault["kind"], runner: Processes.Process): number {
    const at = Date.now()
    this.faults.push({ kind, runner: runner.name, at })
    return at
  }

  readonly describe = (): string =>
    [
      ...this.processes.map((p) => `${p.name}: ${p.reports.map((r) => JSON.stringify(r)).join("\n  ")}`),
      `faults: ${JSON.stringify(this.faults)}`
    ].join("\n")

  /** SIGTERM to every live process, SIGKILL to those still running 15 s later. */
  async stop(): Promise<void> {
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
 * started the singleton and a fence deadline more; then it passes again. Returns when the owner stopped the
 * singleton and when the next one started it, after the hang.
 */
const ownerStorageHangs = async (fleet: Fleet) => {
  const owner = await fleet.owner()
  const proxy = fleet.proxies.get(owner)!
  const hung = fleet.fault("storage hangs", owner)
  proxy.hang()
  try {
    const next = await fleet.nextStart(owner, hung, expiry + 15_000)
    await until(() => Date.now() > next.at + fenceDeadline, fenceDeadline + 1_000, "", fleet.describe)
    const ended = owner.reports.find((r) => r.type === "ended" && r.at >= hung)
    return { owner, next, stoppedAfter: ended && ended.at - hung, nextStartedAfter: next.at - hung }
  } finally {
    proxy.release()
  }
}

describe("a singleton on a fleet of three runners over PostgreSQL", () => {
  let postgres: Postgres.Postgres | undefined
  let fleet: Fleet
  const figures: Record<string, number> = {}

  beforeAll(async () => {
    postgres = await Postgres.start()
    fleet = new Fleet(postgres.url, "engine")
    await Promise.all([fleet.start(), fleet.start(), fleet.start()])
    await until(
      () => fleet.processes.every((p) => p.reports.some((r) => r.type === "ready")),
      45_000,
      "the three runners are ready",
      fleet.describe
    )
  }, 60_000)

  afterAll(async () => {
    try {
      await fleet?.stop()
    } finally {
      await postgres?.stop()
    }
    console.log("figures (ms):", JSON.stringify(figures))
  }, 30_000)

  it("exactly one runner runs it", async () => {
    const owner = await fleet.owner()
    assert.strictEqual(fleet.running().length, 1)
    assert.include(fleet.processes.map((p) => p.name), owner.name)
  })

  it("kill -9 of the owner: another runner starts it once the owner's lease has expired", async () => {
    const owner = await fleet.owner()
    const killed = fleet.fault("kill -9", owner)
    owner.child.kill("SIGKILL")
    await owner.exited
    const next = await fleet.nextStart(owner, killed, expiry + 15_000)
    const failover = next.at - killed
    figures.failoverAfterKill = failover
    // the lease was refreshed at most one refresh interval before the kill: nobody may take it sooner
    assert.isAtLeast(failover, expiry - refreshInterval - 500, "the lease is honoured")
    assert.isAtMost(failover, expiry + 5_000, "the failover is bounded by the lock expiry")
    await fleet.start()
  }, 40_000)

  it("a graceful stop of the owner hands it over without a failed attempt", async () => {
    const owner = await fleet.owner()
    await until(
      () => fleet.processes.every((p) => fleet.exitedAt.has(p) || p.reports.some((r) => r.type === "ready")),
      45_000,
      "every live runner is ready",
      fleet.describe
    )
    const stopped = fleet.fault("SIGTERM", owner)
    owner.child.kill("SIGTERM")
    const next = await fleet.nextStart(owner, stopped, expiry + 10_000)
    await owner.exited
    assert.strictEqual(owner.child.exitCode, 0, owner.logs())
    const ended = owner.reports.findLast((r) => r.type === "ended")
    assert.strictEqual(ended?.type === "ended" && ended.why, "interrupted")
    assert.notInclude(owner.reports.map((r) => r.type === "event" ? r.tag : ""), "AttemptFailed")
    assert.isAtLeast(next.at, ended!.at, "the next owner starts after the last one ended")
    figures.handoverOnSigterm = next.at - stopped
    figures.handoverAfterEnd = next.at - ended!.at
    await fleet.start()
  }, 40_000)

  it("a frozen PostgreSQL server: the owner stops it within the fence deadline, and one runner runs it after", async () => {
    const owner = await fleet.owner()
    const frozen = fleet.fault("freeze", owner)
    await postgres!.freeze()
    try {
      await until(
        () => owner.reports.some((r) => r.type === "ended" && r.at >= frozen),
        fenceDeadline + 3_000,
        `${owner.name} stops the singleton`,
        fleet.describe
      )
      const ended = owner.reports.find((r) => r.type === "ended" && r.at >= frozen)!
      figures.fencedAfterFreeze = ended.at - frozen
      assert.isAtMost(ended.at - frozen, fenceDeadline + 1_000)
      // kept frozen past the lease's expiry, so that any runner may take the singleton when the server is back
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, frozen + expiry + 500 - Date.now())))
    } finally {
      await postgres!.thaw()
    }
    const next = await fleet.owner(expiry + 15_000)
    figures.runningAgainAfterThaw = next.reports.findLast((r) => r.type === "started")!.at - frozen
  }, 40_000)

  it("the owner's sessions terminated by the server: never two owners", async () => {
    const owner = await fleet.owner()
    const terminated = fleet.fault("sessions terminated", owner)
    assert.isAbove(await postgres!.terminateSessions(owner.name), 0, "the owner had sessions")
    // what the storage allows: a new owner no sooner than the lease expires; watch that long and a little more
    await until(() => Date.now() > terminated + expiry + 2_000, expiry + 3_000, "", fleet.describe)
    await fleet.owner()
  }, 30_000)

  it("over the whole run: never two runners at once (sampled every 50 ms), and no gap but after a fault", () => {
    const now = Date.now()
    const intervals = fleet.intervals(now)
    assert.isAtLeast(intervals.length, 4, "the singleton moved")
    for (let t = intervals[0].from; t <= now; t += 50) {
      const owners = intervals.filter((i) => i.from <= t && t < i.to).map((i) => i.runner)
      assert.isAtMost(owners.length, 1, `at ${t}: ${owners.join(", ")}\n${fleet.describe()}`)
    }
    for (let i = 1; i < intervals.length; i++) {
      assert.isAtMost(intervals[i - 1].to, intervals[i].from, `overlap\n${fleet.describe()}`)
      const gap = { from: intervals[i - 1].to, to: intervals[i].from }
      if (gap.to - gap.from < 50) continue
      const cause = fleet.faults.find((f) => f.at <= gap.from + 50 && gap.from - f.at <= fenceDeadline + 1_000)
      assert.isDefined(cause, `a gap with no fault before it: ${JSON.stringify(gap)}\n${fleet.describe()}`)
    }
  })
})

describe("@effect/cluster's own Singleton.make when the owner's storage hangs (Effect-TS/effect#6508)", () => {
  let postgres: Postgres.Postgres | undefined
  let fleet: Fleet

  beforeAll(async () => {
    postgres = await Postgres.start()
    fleet = new Fleet(postgres.url, "engine")
    await Promise.all([fleet.start(), fleet.start(), fleet.start()])
  }, 60_000)

  afterAll(async () => {
    try {
      await fleet?.stop()
    } finally {
      await postgres?.stop()
    }
  }, 30_000)

  it("the owner stops it before another runner starts it", async () => {
    const { next, nextStartedAfter, owner, stoppedAfter } = await ownerStorageHangs(fleet)
    console.log(`engine: owner ${owner.name} stopped after ${stoppedAfter} ms, ${next.process.name} started after ${nextStartedAfter} ms`)
    assert.isDefined(stoppedAfter, `${owner.name} still runs it\n${fleet.describe()}`)
    assert.isBelow(stoppedAfter!, nextStartedAfter)
  }, 60_000)
})
