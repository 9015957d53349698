/**
 * Sharded slots (`ClusterController`) on a fleet of three runner processes over a real PostgreSQL server
 * (test/utils/fleet.ts; the slots and the commands the runners take are in test/fixtures/cluster/slots.ts). From the
 * runners' reports the test builds, per slot, when each submission ran where, and checks: under a storm of `Queue`
 * submissions from all three runners, one task at a time per slot across the fleet, each exactly once, on the runner
 * that owns the slot; `Replace` and `DropIfRunning` sent from another runner than the slot's owner; and the queued
 * work of a slot whose owner is killed (`kill -9`) or stopped (SIGTERM): delivered again to the slot's next owner,
 * which runs the one that was running and the queued ones, in order.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Process } from "../examples/cluster_processes.js"
import { type Job, slotLines } from "./fixtures/cluster/commands.js"
import { expiry, Fleet, refreshInterval, tuned, until } from "./utils/fleet.js"

/** A handler still running when its runner begins to stop is interrupted (its task stopped) after this long. */
const terminationTimeout = 500

/** One run of a submission's task: on which runner, from its start to its end (open: `to` is undefined). */
interface Run {
  readonly runner: string
  readonly slot: string
  readonly id: string
  readonly from: number
  readonly to: number | undefined
  readonly why: string | undefined
}

describe("sharded slots on a fleet of three runners over PostgreSQL", () => {
  let fleet: Fleet
  let tags = 0
  const tag = () => `t${++tags}`

  beforeAll(async () => {
    fleet = await Fleet.open("taskvisor", {
      settings: { ...tuned, ENTITY_TERMINATION_TIMEOUT: `${terminationTimeout} millis` },
      proxied: false
    })
  }, 60_000)

  afterAll(async () => {
    if (fleet !== undefined) await fleet.close()
  }, 30_000)

  const live = () => fleet.processes.filter((p) => !fleet.exitedAt.has(p))

  /** Every run of the slots' tasks so far, on every runner, in the order each runner reported them. */
  const runs = (): Array<Run> =>
    fleet.processes.flatMap((process) => {
      const result: Array<Run> = []
      const open = new Map<string, { slot: string; id: string; from: number }>()
      for (const line of slotLines(process.reports)) {
        if (line.type === "slot-started") open.set(`${line.slot}/${line.id}`, { ...line, from: line.at })
        if (line.type === "slot-ended") {
          const started = open.get(`${line.slot}/${line.id}`)
          assert.isDefined(started, `${process.name} ended ${line.slot}/${line.id}, never started`)
          open.delete(`${line.slot}/${line.id}`)
          result.push({
            runner: process.name,
            slot: line.slot,
            id: line.id,
            from: started!.from,
            to: line.at,
            why: line.why
          })
        }
      }
      for (const { from, id, slot } of open.values()) {
        result.push({ runner: process.name, slot, id, from, to: fleet.exitedAt.get(process), why: undefined })
      }
      return result
    })

  /** The runs of the given ids, once each has run to completion at least once. */
  const completed = async (ids: ReadonlyArray<string>, ms: number) => {
    const done = () => new Set(runs().filter((r) => r.why === "succeeded").map((r) => r.id))
    await until(
      () => ids.every((id) => done().has(id)),
      ms,
      `${ids.length} submissions run to completion`,
      fleet.describe
    )
    return runs().filter((r) => ids.includes(r.id))
  }

  /**
   * Which live runner owns each of `slots`, once every slot has exactly one owner and the answer holds for two
   * assignment refreshes (the shards settle after runners join or leave).
   */
  const owners = async (slots: ReadonlyArray<string>): Promise<Map<string, Process>> => {
    const read = async () => {
      const answers = await Promise.all(live().map((p) => fleet.ask(p, { tag: tag(), owned: slots }, 10_000)))
      const claims = new Map<string, Array<Process>>()
      live().forEach((p, i) => {
        const answer = answers[i]
        if (answer.type !== "owned") throw new Error(`${p.name} answered ${JSON.stringify(answer)}`)
        for (const slot of answer.slots) claims.set(slot, [...(claims.get(slot) ?? []), p])
      })
      const owned = slots.every((slot) => claims.get(slot)?.length === 1)
      return owned ? new Map(slots.map((slot) => [slot, claims.get(slot)![0]])) : undefined
    }
    const deadline = Date.now() + 30_000
    let last: string | undefined
    for (;;) {
      const owner = await read()
      const shown = owner && JSON.stringify([...owner].map(([slot, p]) => [slot, p.name]))
      if (shown !== undefined && shown === last) return owner!
      if (Date.now() > deadline) throw new Error(`the slots' owners did not settle: ${shown}\n${fleet.describe()}`)
      last = shown
      // the same answer an assignment refresh and more later: the shards have settled
      await new Promise((resolve) => setTimeout(resolve, 2 * refreshInterval))
    }
  }

  /** Up to `count` of the slots of `owner`, a slot of each runner in turn, so that they span runners. */
  const spread = (owner: Map<string, Process>, count: number): Array<string> => {
    const byRunner = new Map<Process, Array<string>>()
    for (const [slot, p] of owner) byRunner.set(p, [...(byRunner.get(p) ?? []), slot])
    const queues = [...byRunner.values()]
    const chosen: Array<string> = []
    for (let i = 0; chosen.length < count && queues.some((q) => q.length > 0); i++) {
      const next = queues[i % queues.length].shift()
      if (next !== undefined) chosen.push(next)
    }
    return chosen
  }

  const submit = (from: Process, job: Job) => fleet.ask(from, { tag: tag(), submit: job }, 10_000)

  it(
    "a storm of Queue submissions from all three runners: one task at a time per slot, each once, on its owner",
    async () => {
      const owner = await owners(Array.from({ length: 30 }, (_, i) => `storm-${i}`))
      const slots = spread(owner, 5)
      assert.isAtLeast(new Set(slots.map((slot) => owner.get(slot))).size, 2, "the slots span runners")
      const perRunner = 100
      const ids = live().flatMap((p) => Array.from({ length: perRunner }, (_, i) => `${p.name}-${i}`))
      // each runner submits its 100 at once (its commands run concurrently), the three runners at the same time
      const submitters = live().map((p) => {
        for (let i = 0; i < perRunner; i++) {
          p.send({
            tag: `storm-${p.name}-${i}`,
            submit: { slot: slots[i % slots.length], id: `${p.name}-${i}`, ms: 5 }
          })
        }
        return p
      })
      await until(
        () =>
          submitters.every((p) =>
            slotLines(p.reports).filter((l) => l.type === "submitted" && l.tag.startsWith("storm-")).length ===
              perRunner
          ),
        30_000,
        "every submission returned",
        fleet.describe
      )
      for (const p of submitters) {
        assert.deepStrictEqual(slotLines(p.reports).filter((l) => l.type === "refused"), [], `${p.name} refused none`)
      }
      const ran = await completed(ids, 40_000)
      // each exactly once, and completed
      assert.strictEqual(ran.length, ids.length, "no submission ran twice")
      assert.isTrue(ran.every((r) => r.why === "succeeded"))
      for (const slot of slots) {
        const inSlot = ran.filter((r) => r.slot === slot).sort((a, b) => a.from - b.from)
        assert.strictEqual(inSlot.length, ids.length / slots.length)
        // on the runner that owns the slot's shard, and never two at once
        assert.deepStrictEqual(
          [...new Set(inSlot.map((r) => r.runner))],
          [owner.get(slot)!.name],
          `${slot} ran on its owner`
        )
        for (let i = 1; i < inSlot.length; i++) {
          assert.isAtMost(
            inSlot[i - 1].to!,
            inSlot[i].from,
            `${slot}: ${JSON.stringify(inSlot[i - 1])} overlaps ${JSON.stringify(inSlot[i])}`
          )
        }
      }
      // different slots ran on different runners: submissions crossed processes
      assert.isAtLeast(new Set(ran.map((r) => r.runner)).size, 2)
      const crossed = ran.filter((r) => !r.id.startsWith(`${r.runner}-`))
      assert.isAbove(crossed.length, 0, "some submissions ran on another runner than their submitter")
    },
    90_000
  )

  /** A slot owned by another runner than `from`, and its owner. */
  const remoteSlot = async (from: Process, prefix: string) => {
    const owner = await owners(Array.from({ length: 12 }, (_, i) => `${prefix}-${i}`))
    const [slot, slotOwner] = [...owner].find(([, p]) => p !== from)!
    return { slot, owner: slotOwner }
  }

  it("DropIfRunning and Replace sent from another runner than the slot's owner", async () => {
    const from = live()[0]
    const { owner, slot } = await remoteSlot(from, "admission")
    const first = tag()
    from.send({ tag: first, run: { slot, id: "held", ms: 20_000 } })
    await until(
      () => runs().some((r) => r.id === "held" && r.runner === owner.name),
      10_000,
      "held starts",
      fleet.describe
    )

    const dropped = await fleet.ask(from, {
      tag: tag(),
      run: { slot, id: "dropped", ms: 0 },
      admission: "DropIfRunning"
    }, 10_000)
    assert.strictEqual(dropped.type === "outcome" && dropped.outcome._tag, "Rejected")
    assert.strictEqual(
      dropped.type === "outcome" && dropped.outcome._tag === "Rejected" && dropped.outcome.kind,
      "SlotBusy"
    )

    const replacing = await fleet.ask(
      from,
      { tag: tag(), run: { slot, id: "replacing", ms: 0 }, admission: "Replace" },
      10_000
    )
    assert.deepStrictEqual(replacing.type === "outcome" && replacing.outcome, { _tag: "Completed" })
    const answerOf = (t: string) => slotLines(from.reports).find((l) => l.type === "outcome" && l.tag === t)
    await until(() => answerOf(first) !== undefined, 10_000, "the replaced run answers", fleet.describe)
    const replaced = answerOf(first)
    assert.deepStrictEqual(replaced?.type === "outcome" && replaced.outcome, { _tag: "Canceled", replaced: true })
    const ran = runs().filter((r) => r.slot === slot)
    assert.deepStrictEqual(ran.map((r) => [r.id, r.runner, r.why]), [["held", owner.name, "interrupted"], [
      "replacing",
      owner.name,
      "succeeded"
    ]])
  }, 60_000)

  /**
   * A slot of another runner than the submitter, with one submission running (`first`, long) and four queued
   * behind it; `fault` is put on the slot's owner once `first` runs there. Returns the ids and the runs of the slot.
   */
  const queuedWorkThrough = async (prefix: string, fault: (owner: Process) => void) => {
    const from = live()[0]
    const { owner, slot } = await remoteSlot(from, prefix)
    const ids = [`${prefix}-running`, ...Array.from({ length: 4 }, (_, i) => `${prefix}-queued-${i}`)]
    for (const [i, id] of ids.entries()) await submit(from, { slot, id, ms: i === 0 ? 5_000 : 200 })
    await until(
      () => runs().some((r) => r.id === ids[0] && r.runner === owner.name),
      10_000,
      `${ids[0]} starts`,
      fleet.describe
    )
    fault(owner)
    const ran = await completed(ids, expiry + 30_000)
    return { ids, owner, slot, ran: runs().filter((r) => r.slot === slot), completedRuns: ran }
  }

  it(
    "kill -9 of a slot's owner: the next owner runs the running submission again and the queued ones, in order",
    async () => {
      const { ids, owner, ran } = await queuedWorkThrough("killed", (owner) => {
        fleet.fault("kill -9", owner)
        owner.child.kill("SIGKILL")
      })
      const before = ran.filter((r) => r.runner === owner.name)
      const after = ran.filter((r) => r.runner !== owner.name)
      assert.deepStrictEqual(before.map((r) => r.id), [ids[0]], "only the first ran on the killed owner")
      assert.strictEqual(before[0].why, undefined, "killed while it ran")
      assert.strictEqual(new Set(after.map((r) => r.runner)).size, 1, "one next owner")
      assert.deepStrictEqual(after.map((r) => [r.id, r.why]), ids.map((id) => [id, "succeeded"]), "all, in order")
      const failover = after[0].from - fleet.faults.at(-1)!.at
      assert.isAtLeast(failover, expiry - refreshInterval - 500, "not before the lock could expire")
      console.log(`slot failover after kill -9: ${failover} ms (lock expiry ${expiry} ms)`)
      await fleet.start()
      await fleet.ready()
    },
    60_000
  )

  it(
    "SIGTERM of a slot's owner: the running task stops gracefully, the next owner runs it again and the queued ones",
    async () => {
      let stopped = 0
      const { ids, owner, ran } = await queuedWorkThrough("stopped", (owner) => {
        stopped = fleet.fault("SIGTERM", owner)
        owner.child.kill("SIGTERM")
      })
      await owner.exited
      assert.strictEqual(owner.child.exitCode, 0, owner.logs())
      const before = ran.filter((r) => r.runner === owner.name)
      const after = ran.filter((r) => r.runner !== owner.name)
      assert.deepStrictEqual(before.map((r) => [r.id, r.why]), [[ids[0], "interrupted"]], "stopped, not killed")
      assert.isAtMost(before[0].to! - stopped, terminationTimeout + 1_000, "stopped within the termination timeout")
      assert.strictEqual(new Set(after.map((r) => r.runner)).size, 1, "one next owner")
      assert.deepStrictEqual(after.map((r) => [r.id, r.why]), ids.map((id) => [id, "succeeded"]), "all, in order")
      assert.isAtLeast(after[0].from, before[0].to!, "the next owner starts it after it stopped here")
      console.log(`slot handover on SIGTERM: ${after[0].from - stopped} ms`)
    },
    60_000
  )
})
