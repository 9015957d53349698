/**
 * @effect/cluster's own `Singleton.make`, with no fence but the engine's, on a fleet of three runner processes over a
 * real PostgreSQL server (test/utils/fleet.ts), when the owner's storage hangs while the other runners' works: the
 * fault of Effect-TS/effect#6508 (reported on @effect/cluster 0.58 with sql-pg: the owner kept running its entity while
 * another runner took the shard over). On 0.60.2 the engine stops its singletons when a lock refresh does not answer
 * within its refresh interval (at most a third of the expiry), so the owner stops after one to two intervals, and
 * another runner may take the shard only once the lease has expired: this test keeps that so.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Fleet, ownerStorageHangs } from "./utils/fleet.js"

describe("@effect/cluster's own Singleton.make when the owner's storage hangs (Effect-TS/effect#6508)", () => {
  let fleet: Fleet

  beforeAll(async () => {
    fleet = await Fleet.open("engine")
  }, 60_000)

  afterAll(async () => {
    if (fleet !== undefined) await fleet.close()
  }, 30_000)

  it("the owner stops it before another runner starts it", async () => {
    const { next, nextStartedAfter, owner, stoppedAfter } = await ownerStorageHangs(fleet)
    console.log(
      `engine: owner ${owner.name} stopped after ${stoppedAfter} ms, ${next.process.name} started after ${nextStartedAfter} ms`
    )
    assert.isDefined(stoppedAfter, `${owner.name} still runs it\n${fleet.describe()}`)
    assert.isBelow(stoppedAfter!, nextStartedAfter)
  }, 60_000)
})
