/**
 * A singleton (`ClusterTask.singleton`) on a fleet of three runner processes over a real PostgreSQL server
 * (test/utils/fleet.ts). From the runners' reports the test builds who ran it when, across the whole file, and checks
 * that never two runners ran it at once (sampled every 50 ms, and exactly) through a `kill -9` of the owner, a
 * graceful stop of the owner, a frozen PostgreSQL server, the owner's sessions killed by the server and the owner's
 * storage hanging alone; and it measures the failover and handover times against the lock expiry in force.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { lastRun, type Process } from "../examples/cluster_processes.js"
import { expiry, fenced, Fleet, ownerStorageHangs, refreshInterval, until } from "./utils/fleet.js"

/** The kind of the first `SingletonReleased` `runner` reported from `since` on. */
const releaseAfter = (runner: Process, since: number) => {
  const released = runner.reports.find((r) => r.type === "event" && r.tag === "SingletonReleased" && r.at >= since)
  return released?.type === "event" ? released.release : undefined
}

describe("a singleton on a fleet of three runners over PostgreSQL", () => {
  let fleet: Fleet
  const figures: Record<string, number> = {}
  /** How the owner let the singleton go under a fault: the fence or the engine, whichever came first. */
  const releases: Record<string, string | undefined> = {}

  beforeAll(async () => {
    fleet = await Fleet.open("taskvisor")
  }, 60_000)

  afterAll(async () => {
    if (fleet !== undefined) await fleet.close()
    console.log(`figures (ms), lock expiry ${expiry} ms:`, JSON.stringify(figures), JSON.stringify(releases))
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
    await fleet.ready()
    const stopped = fleet.fault("SIGTERM", owner)
    owner.child.kill("SIGTERM")
    const next = await fleet.nextStart(owner, stopped, expiry + 10_000)
    await owner.exited
    assert.strictEqual(owner.child.exitCode, 0, owner.logs())
    const ended = lastRun(owner.reports)
    assert.strictEqual(ended?.type === "ended" && ended.why, "interrupted")
    assert.notInclude(owner.reports.map((r) => r.type === "event" ? r.tag : ""), "AttemptFailed")
    assert.isTrue(
      owner.reports.some((r) => r.type === "event" && r.tag === "SingletonReleased" && r.release === "Shutdown"),
      "the owner said it released the singleton on its shutdown"
    )
    assert.isTrue(
      next.process.reports.some((r) => r.type === "event" && r.tag === "SingletonAcquired" && r.at >= stopped),
      "the next owner said it acquired the singleton"
    )
    assert.isAtLeast(next.at, ended!.at, "the next owner starts after the last one ended")
    figures.handoverOnSigterm = next.at - stopped
    // released, not left to expire: sooner than any takeover after a kill can be
    assert.isBelow(next.at - stopped, expiry - refreshInterval, "the lock was released")
    figures.handoverAfterEnd = next.at - ended!.at
    await fleet.start()
  }, 40_000)

  it(
    "a frozen PostgreSQL server: the owner stops it within the fence deadline, and one runner runs it after",
    async () => {
      const owner = await fleet.owner()
      const frozen = fleet.fault("freeze", owner)
      await fleet.postgres.freeze()
      try {
        await until(
          () => owner.reports.some((r) => r.type === "ended" && r.at >= frozen),
          fenced + 3_000,
          `${owner.name} stops the singleton`,
          fleet.describe
        )
        const ended = owner.reports.find((r) => r.type === "ended" && r.at >= frozen)!
        figures.fencedAfterFreeze = ended.at - frozen
        // what must hold: stopped before another runner may take the lease (`expiry - refreshInterval` at the soonest)
        assert.isAtMost(ended.at - frozen, fenced + 1_000)
        // kept frozen past the lease's expiry, so that any runner may take the singleton when the server is back
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, frozen + expiry + 500 - Date.now())))
      } finally {
        await fleet.postgres.thaw()
      }
      const next = await fleet.owner(expiry + 15_000)
      figures.runningAgainAfterThaw = lastRun(next.reports)!.at - frozen
      releases.freeze = releaseAfter(owner, frozen)
    },
    40_000
  )

  it("the owner's sessions terminated by the server: never two owners", async () => {
    const owner = await fleet.owner()
    const terminated = fleet.fault("sessions terminated", owner)
    assert.isAbove(await fleet.postgres.terminateSessions(owner.name), 0, "the owner had sessions")
    // what the storage allows: a new owner no sooner than the lease expires; watch that long and a little more
    await until(() => Date.now() > terminated + expiry + 2_000, expiry + 3_000, "", fleet.describe)
    await fleet.owner()
  }, 30_000)

  it(
    "the owner's storage hangs while the others' works: the owner stops it before another runner starts it",
    async () => {
      const { hung, next, nextStartedAfter, owner, stoppedAfter } = await ownerStorageHangs(fleet)
      assert.isDefined(stoppedAfter, `${owner.name} still runs it\n${fleet.describe()}`)
      figures.fencedAfterStorageHang = stoppedAfter!
      releases.storageHang = releaseAfter(owner, hung)
      figures.nextStartAfterStorageHang = nextStartedAfter
      assert.isAtMost(stoppedAfter!, fenced + 1_000)
      assert.isBelow(stoppedAfter!, nextStartedAfter, `${next.process.name} started it first`)
    },
    40_000
  )

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
      const cause = fleet.faults.find((f) => f.at <= gap.from + 50 && gap.from - f.at <= fenced + 1_000)
      assert.isDefined(cause, `a gap with no fault before it: ${JSON.stringify(gap)}\n${fleet.describe()}`)
    }
  })
})
