/**
 * `ClusterRunner.layerSocket` over a real PostgreSQL server: the replicas of a deployment start at once, and the
 * first of them start on a database the engine has not set up yet.
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import { freePort } from "../examples/cluster_processes.js"
import * as ClusterRunner from "../src/ClusterRunner.js"
import { usePostgres } from "./utils/usePostgres.js"

/** Builds a runner on `url` listening on its own port, and closes it again; the exit of the build. */
const startAndStop = async (url: string) => {
  const runner = ClusterRunner.layerSocket({
    shardingConfig: { runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", await freePort())) }
  }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url) })))
  return Effect.runPromiseExit(Effect.scoped(Layer.build(runner)))
}

/** Why a build failed, with the database's reason (an `SqlError`'s cause). */
const why = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return "started"
  const error = Cause.squash(exit.cause)
  return `${Cause.pretty(exit.cause)}\n${error instanceof Error ? String(error.cause) : ""}`
}

describe("ClusterRunner.layerSocket on PostgreSQL", () => {
  const postgres = usePostgres()

  // Two sessions creating the same table at once: PostgreSQL fails the second with "relation … already exists" (or
  // a unique violation on its catalog), and the engine's storage died of it at start.
  it("three runners starting at once on a fresh database all start", async () => {
    for (let round = 0; round < 4; round++) {
      const url = await postgres().createDatabase(`fresh_${round}`)
      const exits = await Promise.all([startAndStop(url), startAndStop(url), startAndStop(url)])
      for (const exit of exits) {
        assert.isTrue(Exit.isSuccess(exit), `round ${round}: ${why(exit)}`)
      }
    }
  }, 60_000)
})
