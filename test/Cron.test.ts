/**
 * `TaskSpec.cron`: runs at the times of its expression in its time zone, across daylight saving time, with its
 * overlap policy, catch-up window, store, jitter and controls; on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as TaskSpec from "../src/TaskSpec.js"
import { ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"

const iso = (at: number) => new Date(at).toISOString()

describe("TaskSpec.cron", () => {
  it.scoped("runs at 02:30 Berlin time, shifted by the gap when it does not exist, once when it occurs twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-27T12:00:00Z"))
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.cron("report", Effect.void, "30 2 * * *", { timeZone: "Europe/Berlin" }))
      yield* settle
      const row = (yield* supervisor.list).find((t) => t.name === "report")!
      assert.strictEqual(row.state, "Scheduled")
      assert.strictEqual(row.nextRunAt?.toISOString(), "2026-03-28T01:30:00.000Z")
      yield* advance("3 days")
      assert.deepStrictEqual(ofTag(events, "AttemptStarting", "report").map((e) => iso(e.at)), [
        "2026-03-28T01:30:00.000Z",
        "2026-03-29T01:30:00.000Z",
        "2026-03-30T00:30:00.000Z"
      ])
    }))
})
