/**
 * `TaskSpec.cron`: runs at the times of its expression in its time zone, across daylight saving time, with its
 * overlap policy, retries within its slot, jitter, controls and admission checks; on `TestClock`. The expected
 * instants are worked out by hand (in the comments), not asked of effect's `Cron`.
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as SupervisorError from "../src/SupervisorError.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import { TaskFatal } from "../src/TaskError.js"
import * as TaskSpec from "../src/TaskSpec.js"
import type * as TaskSupervisor from "../src/TaskSupervisor.js"
import { ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { quantileRandom } from "./utils/random.js"
import { supervisorWith } from "./utils/recorder.js"

const iso = (at: number) => new Date(at).toISOString()

/** Move the clock to `at` (an ISO instant), then let the woken fibers run. */
const advanceTo = (at: string) => Effect.flatMap(TestClock.currentTimeMillis, (now) => advance(Date.parse(at) - now))

/** When the task's attempts started. */
const starts = (events: ReadonlyArray<SupervisorEvent>, task: string) =>
  ofTag(events, "AttemptStarting", task).map((e) => iso(e.at))

/** The task's `list` row. */
const rowOf = (supervisor: TaskSupervisor.TaskSupervisor["Type"], task: string) =>
  Effect.map(supervisor.list, (rows) => rows.find((t) => t.name === task))

/** Add a cron task from `start` (an ISO instant) and run the clock to `until`; its attempts' start times. */
const runs = (
  expression: string,
  timeZone: string,
  start: string,
  until: string
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(start))
    const { events, supervisor } = yield* supervisorWith()
    yield* supervisor.add(TaskSpec.cron("job", Effect.void, expression, { timeZone }))
    yield* settle
    yield* advanceTo(until)
    return starts(events, "job")
  })

describe("TaskSpec.cron", () => {
  describe("daylight saving time", () => {
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

    it.scoped("Berlin, fall back: 02:30 occurs twice on 2026-10-25 and runs once, at its first occurrence (CEST)", () =>
      Effect.gen(function*() {
        // 03:00 CEST (UTC+2) falls back to 02:00 CET (UTC+1) at 01:00Z: 02:30 is 00:30Z, then 01:30Z again
        assert.deepStrictEqual(
          yield* runs("30 2 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", "2026-10-26T12:00:00Z"),
          [
            "2026-10-24T00:30:00.000Z", // 02:30 CEST
            "2026-10-25T00:30:00.000Z", // 02:30 CEST, the first of the two
            "2026-10-26T01:30:00.000Z" // 02:30 CET
          ]
        )
      }))

    it.scoped("Berlin, hourly across both changes: one run an hour of real time, the repeated 02:00 once", () =>
      Effect.gen(function*() {
        // spring: 00:00 CET = 23:00Z, 01:00 CET = 00:00Z, 02:00 (none) → 03:00 CEST = 01:00Z (once), 04:00 CEST = 02:00Z
        assert.deepStrictEqual(
          yield* runs("0 * * * *", "Europe/Berlin", "2026-03-28T22:30:00Z", "2026-03-29T02:30:00Z"),
          [
            "2026-03-28T23:00:00.000Z",
            "2026-03-29T00:00:00.000Z",
            "2026-03-29T01:00:00.000Z",
            "2026-03-29T02:00:00.000Z"
          ]
        )
      }))

    it.scoped("Berlin, hourly across the fall change: the second 02:00 (CET, 01:00Z) is not run again", () =>
      Effect.gen(function*() {
        // 01:00 CEST = 23:00Z, 02:00 CEST = 00:00Z, 02:00 CET = 01:00Z (repeated: no run), 03:00 CET = 02:00Z
        assert.deepStrictEqual(
          yield* runs("0 * * * *", "Europe/Berlin", "2026-10-24T22:30:00Z", "2026-10-25T02:30:00Z"),
          ["2026-10-24T23:00:00.000Z", "2026-10-25T00:00:00.000Z", "2026-10-25T02:00:00.000Z"]
        )
      }))

    it.scoped("New York, spring forward on 2026-03-08: 02:30 does not exist and runs at 03:30 EDT", () =>
      Effect.gen(function*() {
        // 02:00 EST (UTC-5) springs to 03:00 EDT (UTC-4) at 07:00Z
        assert.deepStrictEqual(
          yield* runs("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", "2026-03-09T12:00:00Z"),
          [
            "2026-03-07T07:30:00.000Z", // 02:30 EST
            "2026-03-08T07:30:00.000Z", // 02:30 (none) + 1 hour = 03:30 EDT
            "2026-03-09T06:30:00.000Z" // 02:30 EDT
          ]
        )
      }))

    it.scoped("New York, fall back on 2026-11-01: 01:30 occurs twice and runs once, at 01:30 EDT", () =>
      Effect.gen(function*() {
        // 02:00 EDT (UTC-4) falls back to 01:00 EST (UTC-5) at 06:00Z: 01:30 is 05:30Z, then 06:30Z again
        assert.deepStrictEqual(
          yield* runs("30 1 * * *", "America/New_York", "2026-10-30T12:00:00Z", "2026-11-02T12:00:00Z"),
          [
            "2026-10-31T05:30:00.000Z", // 01:30 EDT
            "2026-11-01T05:30:00.000Z", // 01:30 EDT, the first of the two
            "2026-11-02T06:30:00.000Z" // 01:30 EST
          ]
        )
      }))

    it.scoped("New York, hourly across both changes: neither doubled nor lost but the repeated 01:00", () =>
      Effect.gen(function*() {
        // spring: 00:00 EST = 05:00Z, 01:00 EST = 06:00Z, 02:00 (none) → 03:00 EDT = 07:00Z (once), 04:00 EDT = 08:00Z
        const spring = yield* runs("0 * * * *", "America/New_York", "2026-03-08T04:30:00Z", "2026-03-08T08:30:00Z")
        assert.deepStrictEqual(spring, [
          "2026-03-08T05:00:00.000Z",
          "2026-03-08T06:00:00.000Z",
          "2026-03-08T07:00:00.000Z",
          "2026-03-08T08:00:00.000Z"
        ])
      }))

    it.scoped("New York, hourly across the fall change: 01:00 EDT runs, 01:00 EST (its repeat) does not", () =>
      Effect.gen(function*() {
        // 00:00 EDT = 04:00Z, 01:00 EDT = 05:00Z, 01:00 EST = 06:00Z (repeated: no run), 02:00 EST = 07:00Z
        assert.deepStrictEqual(
          yield* runs("0 * * * *", "America/New_York", "2026-11-01T03:30:00Z", "2026-11-01T07:30:00Z"),
          ["2026-11-01T04:00:00.000Z", "2026-11-01T05:00:00.000Z", "2026-11-01T07:00:00.000Z"]
        )
      }))

    it.scoped("Lord Howe, a 30-minute spring forward on 2026-10-04: 02:15 does not exist and runs at 02:45", () =>
      Effect.gen(function*() {
        // 02:00 LHST (UTC+10:30) springs to 02:30 LHDT (UTC+11) at 15:30Z on 10-03
        assert.deepStrictEqual(
          yield* runs("15 2 * * *", "Australia/Lord_Howe", "2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z"),
          [
            "2026-10-02T15:45:00.000Z", // 10-03 02:15 LHST
            "2026-10-03T15:45:00.000Z", // 10-04 02:15 (none) + 30 minutes = 02:45 LHDT
            "2026-10-04T15:15:00.000Z" // 10-05 02:15 LHDT
          ]
        )
      }))

    it.scoped("Lord Howe, a 30-minute fall back on 2026-04-05: 01:45 occurs twice and runs once, at 01:45 LHDT", () =>
      Effect.gen(function*() {
        // 02:00 LHDT (UTC+11) falls back to 01:30 LHST (UTC+10:30) at 15:00Z on 04-04: 01:45 is 14:45Z, then 15:15Z
        assert.deepStrictEqual(
          yield* runs("45 1 * * *", "Australia/Lord_Howe", "2026-04-03T00:00:00Z", "2026-04-06T00:00:00Z"),
          [
            "2026-04-03T14:45:00.000Z", // 04-04 01:45 LHDT
            "2026-04-04T14:45:00.000Z", // 04-05 01:45 LHDT, the first of the two
            "2026-04-05T15:15:00.000Z" // 04-06 01:45 LHST
          ]
        )
      }))

    it.scoped("Lord Howe, hourly across the spring change: 02:00 runs once, shifted to 02:30, then 03:00", () =>
      Effect.gen(function*() {
        // 00:00 LHST = 13:30Z, 01:00 LHST = 14:30Z, 02:00 (none) + 30 minutes = 02:30 LHDT = 15:30Z, 03:00 LHDT = 16:00Z
        assert.deepStrictEqual(
          yield* runs("0 * * * *", "Australia/Lord_Howe", "2026-10-03T13:00:00Z", "2026-10-03T16:10:00Z"),
          [
            "2026-10-03T13:30:00.000Z",
            "2026-10-03T14:30:00.000Z",
            "2026-10-03T15:30:00.000Z",
            "2026-10-03T16:00:00.000Z"
          ]
        )
      }))

    it.scoped("Lord Howe, half-hourly across the fall change: the repeated 01:30 runs once", () =>
      Effect.gen(function*() {
        // 01:00 LHDT = 14:00Z, 01:30 LHDT = 14:30Z, 01:30 LHST = 15:00Z (repeated: no run), 02:00 LHST = 15:30Z,
        // 02:30 LHST = 16:00Z
        assert.deepStrictEqual(
          yield* runs("0,30 * * * *", "Australia/Lord_Howe", "2026-04-04T13:45:00Z", "2026-04-04T16:10:00Z"),
          [
            "2026-04-04T14:00:00.000Z",
            "2026-04-04T14:30:00.000Z",
            "2026-04-04T15:30:00.000Z",
            "2026-04-04T16:00:00.000Z"
          ]
        )
      }))
  })

  describe("leap days", () => {
    it.scoped("the 29th of February runs in 2028, not in 2027", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2027-01-01T00:00:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        yield* supervisor.add(TaskSpec.cron("leap", Effect.void, "0 12 29 2 *"))
        yield* settle
        assert.strictEqual((yield* rowOf(supervisor, "leap"))?.nextRunAt?.toISOString(), "2028-02-29T12:00:00.000Z")
        // 2027 has no 29th of February: nothing runs through it (a year waited in steps of the longest timer)
        yield* advanceTo("2028-01-01T00:00:00Z")
        assert.deepStrictEqual(starts(events, "leap"), [])
        yield* advanceTo("2028-03-01T00:00:00Z")
        assert.deepStrictEqual(starts(events, "leap"), ["2028-02-29T12:00:00.000Z"])
      }))

    it.scoped("a daily run goes from the 28th of February to the 29th and the 1st of March in 2028", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(
          yield* runs("0 12 * * *", "UTC", "2028-02-28T00:00:00Z", "2028-03-01T23:00:00Z"),
          ["2028-02-28T12:00:00.000Z", "2028-02-29T12:00:00.000Z", "2028-03-01T12:00:00.000Z"]
        )
      }))
  })

  describe("overlap", () => {
    /**
     * A task every 10 seconds from 12:00:00Z whose run takes 23 seconds: the first run starts at :10 and ends at
     * :33, while :20 and :30 come.
     */
    const overlapping = (overlap: TaskSpec.Overlap) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        let started = 0
        let running = 0
        let most = 0
        const body = Effect.acquireUseRelease(
          Effect.sync(() => {
            started++
            running++
            most = Math.max(most, running)
          }),
          () => Effect.sleep("23 seconds"),
          () => Effect.sync(() => void running--)
        )
        yield* supervisor.add(TaskSpec.cron("slow", body, "*/10 * * * * *", { overlap }))
        yield* settle
        return { events, supervisor, started: () => started, running: () => running, most: () => most }
      })

    const at = (clock: string) => `2026-06-01T12:${clock}.000Z`

    it.scoped("skip: a time that comes while a run runs is skipped (RunSkipped Overlap), the next one after it runs", () =>
      Effect.gen(function*() {
        const { events } = yield* overlapping("skip")
        yield* advanceTo(at("00:45"))
        // :10 runs until :33; :20 and :30 skipped; :40 is the next time after it ended
        assert.deepStrictEqual(starts(events, "slow"), [at("00:10"), at("00:40")])
        assert.deepStrictEqual(
          ofTag(events, "RunSkipped", "slow").map((e) => [iso(e.scheduledAt), e.skipped, e.why, iso(e.at)]),
          [[at("00:20"), 1, "Overlap", at("00:20")], [at("00:30"), 1, "Overlap", at("00:30")]]
        )
        assert.deepStrictEqual(ofTag(events, "AttemptSucceeded", "slow").map((e) => iso(e.at)), [at("00:33")])
      }))

    it.scoped("bufferOne: the first time that comes is kept and runs as the run ends, the others are skipped", () =>
      Effect.gen(function*() {
        const { events } = yield* overlapping("bufferOne")
        yield* advanceTo(at("00:57"))
        // :10 → :33 keeps :20 (skips :30); :20's run :33 → :56 keeps :40 (skips :50); :40's run starts at :56
        assert.deepStrictEqual(starts(events, "slow"), [at("00:10"), at("00:33"), at("00:56")])
        assert.deepStrictEqual(
          ofTag(events, "RunBuffered", "slow").map((e) => [iso(e.scheduledAt), e.buffered, iso(e.at)]),
          [[at("00:20"), 1, at("00:20")], [at("00:40"), 1, at("00:40")]]
        )
        assert.deepStrictEqual(
          ofTag(events, "RunSkipped", "slow").map((e) => [iso(e.scheduledAt), e.why]),
          [[at("00:30"), "Overlap"], [at("00:50"), "Overlap"]]
        )
      }))

    it.scoped("bufferAll: every time that comes is kept, and they run back to back", () =>
      Effect.gen(function*() {
        const { events } = yield* overlapping("bufferAll")
        yield* advanceTo(at("01:20"))
        // :10 → :33 (keeps :20, :30), :20's → :56 (keeps :40, :50), :30's → 1:19 (keeps 1:00, 1:10), :40's at 1:19
        assert.deepStrictEqual(starts(events, "slow"), [at("00:10"), at("00:33"), at("00:56"), at("01:19")])
        assert.deepStrictEqual(
          ofTag(events, "RunBuffered", "slow").map((e) => [iso(e.scheduledAt), e.buffered]),
          [[at("00:20"), 1], [at("00:30"), 2], [at("00:40"), 2], [at("00:50"), 3], [at("01:00"), 3], [at("01:10"), 4], [
            at("01:20"),
            4
          ]]
        )
        assert.deepStrictEqual(ofTag(events, "RunSkipped", "slow"), [])
      }))

    it.scoped("cancelRunning: the running run is canceled (RunCanceled, AttemptCanceled) and the new one starts on time", () =>
      Effect.gen(function*() {
        const { events, running } = yield* overlapping("cancelRunning")
        yield* advanceTo(at("00:25"))
        assert.deepStrictEqual(starts(events, "slow"), [at("00:10"), at("00:20")])
        assert.deepStrictEqual(
          ofTag(events, "RunCanceled", "slow").map((e) => [e.attempt, iso(e.scheduledAt), iso(e.at)]),
          [[1, at("00:20"), at("00:20")]]
        )
        assert.deepStrictEqual(ofTag(events, "AttemptCanceled", "slow").map((e) => [e.attempt, iso(e.at)]), [
          [1, at("00:20")]
        ])
        assert.deepStrictEqual(ofTag(events, "AttemptSucceeded", "slow"), [])
        assert.strictEqual(running(), 1, "the canceled run's body was interrupted")
      }))

    it.scoped("skip: a skipped time is stored as dealt with, so a restart does not count it missed", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const store = yield* Effect.map(
          Layer.build(KeyValueStore.layerMemory),
          Context.get(KeyValueStore.KeyValueStore)
        )
        const { supervisor } = yield* supervisorWith()
        yield* supervisor.add(TaskSpec.cron("slow", Effect.sleep("23 seconds"), "*/10 * * * * *")).pipe(
          Effect.provideService(KeyValueStore.KeyValueStore, store)
        )
        yield* settle
        yield* advanceTo(at("00:25"))
        // :10 ran (stored as it started), :20 was skipped while it ran
        assert.deepStrictEqual(Option.getOrUndefined(yield* store.get("effect-taskvisor/cron/slow")), at("00:20"))
      }))

    it.scoped("cancelRunning: the new run holds what it acquires in a scope of its own", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const { supervisor } = yield* supervisorWith()
        let held = 0
        // each run acquires a resource in its attempt's scope, released when its attempt ends
        const body = Effect.zipRight(
          Effect.acquireRelease(Effect.sync(() => void held++), () => Effect.sync(() => void held--)),
          Effect.sleep("23 seconds")
        )
        yield* supervisor.add(TaskSpec.cron("slow", body, "*/10 * * * * *", { overlap: "cancelRunning" }))
        yield* settle
        yield* advanceTo(at("00:15"))
        assert.strictEqual(held, 1)
        // :10's run canceled at :20, its resource released; :20's run holds its own (a closed scope releases at once)
        yield* advanceTo(at("00:25"))
        assert.strictEqual(held, 1)
      }))

    it.scoped(
      "bufferAll keeps at most 1,000 times: past them, a time that comes is skipped",
      () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
          const { events, supervisor } = yield* supervisorWith()
          // every second, a first run of an hour
          yield* supervisor.add(TaskSpec.cron("slow", Effect.sleep("1 hour"), "* * * * * *", { overlap: "bufferAll" }))
          yield* settle
          // the run starts at :01; :02 … 16:41 (1,000 times) are kept, 16:42 and 16:43 skipped
          yield* advanceTo("2026-06-01T12:16:43Z")
          const buffered = ofTag(events, "RunBuffered", "slow")
          assert.strictEqual(buffered.length, 1_000)
          assert.deepStrictEqual([buffered[999].buffered, iso(buffered[999].scheduledAt)], [1_000, at("16:41")])
          assert.deepStrictEqual(
            ofTag(events, "RunSkipped", "slow").map((e) => [iso(e.scheduledAt), e.why]),
            [[at("16:42"), "Overlap"], [at("16:43"), "Overlap"]]
          )
        }), // TestClock.adjust yields to the event loop at each of the 1,000 wake-ups: 4.5 s on an idle 2-core machine
      { timeout: 60_000 }
    )

    it.scoped("allow: a run started beside the running one that times out fails the attempt", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        let runs = 0
        // the first run takes 12 s, the second (started at :20 beside it) would take 30 s: its timeout ends it at :35
        const body = Effect.suspend(() => Effect.sleep(++runs === 1 ? "12 seconds" : "30 seconds"))
        yield* supervisor.add(
          TaskSpec.cron("slow", body, "*/10 * * * * *", { overlap: "allow", timeout: "15 seconds", maxRetries: 0 })
        )
        yield* settle
        yield* advanceTo(at("00:36"))
        assert.deepStrictEqual(ofTag(events, "AttemptSucceeded", "slow"), [])
        assert.deepStrictEqual(
          ofTag(events, "AttemptFailed", "slow").map((e) => [e.attempt, iso(e.at)]),
          [[1, at("00:35")]]
        )
      }))

    it.scoped("allow: a time that comes while runs run starts one more beside them", () =>
      Effect.gen(function*() {
        const { events, most, running, started } = yield* overlapping("allow")
        yield* advanceTo(at("00:31"))
        // :10 → :33, :20 → :43, :30 → :53: three at once
        assert.strictEqual(running(), 3)
        yield* advanceTo(at("01:02"))
        // runs keep starting every 10 seconds, while the first ones still end: :40, :50 and 1:00 run at once
        assert.strictEqual(started(), 6)
        assert.strictEqual(most(), 3)
        assert.strictEqual(running(), 3)
        // they run beside the first run's attempt, which ends with the last of them
        assert.deepStrictEqual(starts(events, "slow"), [at("00:10")])
        assert.deepStrictEqual(ofTag(events, "RunSkipped", "slow"), [])
      }))
  })

  describe("controls", () => {
    /** A task every hour from 11:50Z (`body`: its run; `catchUp`: its window). */
    const hourly = (options?: { readonly body?: Effect.Effect<void>; readonly catchUp?: Duration.DurationInput }) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        yield* supervisor.add(
          TaskSpec.cron("hourly", options?.body ?? Effect.void, "0 * * * *", { catchUp: options?.catchUp })
        )
        yield* settle
        const row = Effect.map(rowOf(supervisor, "hourly"), (row) => [row?.state, row?.nextRunAt?.toISOString()])
        return { events, supervisor, row }
      })

    it.scoped("pause while Scheduled, resume without catchUp: the missed times are skipped, it waits for its next", () =>
      Effect.gen(function*() {
        const { events, row, supervisor } = yield* hourly()
        assert.isTrue(yield* supervisor.pause("hourly"))
        yield* settle
        assert.deepStrictEqual(yield* row, ["Paused", undefined])
        yield* advanceTo("2026-06-01T13:10:00Z")
        assert.deepStrictEqual(starts(events, "hourly"), [])
        assert.isTrue(yield* supervisor.resume("hourly"))
        yield* settle
        // 12:00 and 13:00 passed while paused
        assert.deepStrictEqual(
          ofTag(events, "RunSkipped", "hourly").map((e) => [iso(e.scheduledAt), e.skipped, e.why, iso(e.at)]),
          [["2026-06-01T13:00:00.000Z", 2, "Missed", "2026-06-01T13:10:00.000Z"]]
        )
        assert.deepStrictEqual(yield* row, ["Scheduled", "2026-06-01T14:00:00.000Z"])
        yield* advanceTo("2026-06-01T14:01:00Z")
        assert.deepStrictEqual(starts(events, "hourly"), ["2026-06-01T14:00:00.000Z"])
      }))

    it.scoped("pause while Scheduled, resume with catchUp: the missed times are made up once, as it resumes", () =>
      Effect.gen(function*() {
        const { events, row, supervisor } = yield* hourly({ catchUp: "1 hour" })
        yield* supervisor.pause("hourly")
        yield* advanceTo("2026-06-01T13:10:00Z")
        yield* supervisor.resume("hourly")
        yield* settle
        assert.deepStrictEqual(starts(events, "hourly"), ["2026-06-01T13:10:00.000Z"])
        assert.deepStrictEqual(ofTag(events, "RunSkipped", "hourly"), [])
        assert.deepStrictEqual(yield* row, ["Scheduled", "2026-06-01T14:00:00.000Z"])
        yield* advanceTo("2026-06-01T14:01:00Z")
        assert.deepStrictEqual(starts(events, "hourly"), ["2026-06-01T13:10:00.000Z", "2026-06-01T14:00:00.000Z"])
      }))

    it.scoped("pause while Running: the run is canceled; resumed, it waits for its next time", () =>
      Effect.gen(function*() {
        const { events, row, supervisor } = yield* hourly({ body: Effect.sleep("10 minutes") })
        yield* advanceTo("2026-06-01T12:05:00Z")
        assert.deepStrictEqual(yield* row, ["Running", "2026-06-01T13:00:00.000Z"])
        assert.isTrue(yield* supervisor.pause("hourly"))
        yield* settle
        assert.deepStrictEqual(ofTag(events, "AttemptCanceled", "hourly").map((e) => [e.attempt, iso(e.at)]), [
          [1, "2026-06-01T12:05:00.000Z"]
        ])
        assert.deepStrictEqual(yield* row, ["Paused", undefined])
        yield* advanceTo("2026-06-01T12:30:00Z")
        yield* supervisor.resume("hourly")
        yield* settle
        // the 12:00 run was dealt with (it ran, then was paused): nothing is missed, nothing made up
        assert.deepStrictEqual(ofTag(events, "RunSkipped", "hourly"), [])
        assert.deepStrictEqual(yield* row, ["Scheduled", "2026-06-01T13:00:00.000Z"])
        yield* advanceTo("2026-06-01T13:01:00Z")
        assert.deepStrictEqual(starts(events, "hourly"), ["2026-06-01T12:00:00.000Z", "2026-06-01T13:00:00.000Z"])
      }))

    it.scoped("pause drops the runs bufferAll kept: resumed, catchUp decides about them as about any missed time", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        for (const [name, catchUp] of [["none", "none"], ["window", "1 minute"]] as const) {
          yield* supervisor.add(
            TaskSpec.cron(name, Effect.sleep("23 seconds"), "*/10 * * * * *", { overlap: "bufferAll", catchUp })
          )
        }
        // 12:00:10 runs until :33, keeping :20 and :30; paused at :31
        yield* advanceTo("2026-06-01T12:00:31Z")
        yield* supervisor.pause("none")
        yield* supervisor.pause("window")
        yield* advanceTo("2026-06-01T12:01:05Z")
        yield* supervisor.resume("none")
        yield* supervisor.resume("window")
        yield* settle
        // missed: :20 and :30 (kept), :40, :50 and 1:00 (while paused)
        assert.deepStrictEqual(
          ofTag(events, "RunSkipped", "none").map((e) => [iso(e.scheduledAt), e.skipped, e.why]),
          [["2026-06-01T12:01:00.000Z", 5, "Missed"]]
        )
        assert.deepStrictEqual(starts(events, "none"), ["2026-06-01T12:00:10.000Z"])
        // within the window: once, as it resumes
        assert.deepStrictEqual(ofTag(events, "RunSkipped", "window"), [])
        assert.deepStrictEqual(starts(events, "window"), ["2026-06-01T12:00:10.000Z", "2026-06-01T12:01:05.000Z"])
        yield* advanceTo("2026-06-01T12:01:10Z")
        assert.deepStrictEqual(starts(events, "none"), ["2026-06-01T12:00:10.000Z", "2026-06-01T12:01:10.000Z"])
      }))

    it.scoped("trigger while Scheduled runs now, stores nothing, and the next run is still at its time", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
        const store = Context.get(yield* Layer.build(KeyValueStore.layerMemory), KeyValueStore.KeyValueStore)
        const stored = Effect.map(store.get("effect-taskvisor/cron/hourly"), Option.getOrUndefined)
        const { events, supervisor } = yield* supervisorWith()
        yield* Effect.provideService(
          supervisor.add(TaskSpec.cron("hourly", Effect.void, "0 * * * *")),
          KeyValueStore.KeyValueStore,
          store
        )
        yield* advanceTo("2026-06-01T12:30:00Z")
        assert.strictEqual(yield* stored, "2026-06-01T12:00:00.000Z")
        assert.isTrue(yield* supervisor.trigger("hourly"))
        yield* settle
        assert.deepStrictEqual(starts(events, "hourly"), ["2026-06-01T12:00:00.000Z", "2026-06-01T12:30:00.000Z"])
        assert.strictEqual(yield* stored, "2026-06-01T12:00:00.000Z", "a manual run is not stored")
        const row = yield* rowOf(supervisor, "hourly")
        assert.deepStrictEqual([row?.state, row?.nextRunAt?.toISOString()], ["Scheduled", "2026-06-01T13:00:00.000Z"])
        yield* advanceTo("2026-06-01T13:01:00Z")
        assert.deepStrictEqual(starts(events, "hourly"), [
          "2026-06-01T12:00:00.000Z",
          "2026-06-01T12:30:00.000Z",
          "2026-06-01T13:00:00.000Z"
        ])
        assert.strictEqual(yield* stored, "2026-06-01T13:00:00.000Z")
      }))
  })

  describe("failures", () => {
    /** A task every 10 minutes from 12:00Z whose runs all fail with `error`. */
    const failing = (
      error: unknown,
      options?: { readonly backoff?: Duration.DurationInput; readonly maxRetries?: number }
    ) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T12:00:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        yield* supervisor.add(
          TaskSpec.cron("flaky", Effect.fail(error), "*/10 * * * *", {
            backoff: BackoffPolicy.constant(options?.backoff ?? "5 minutes"),
            maxRetries: options?.maxRetries
          })
        )
        yield* settle
        return { events, supervisor }
      })

    it.scoped("a failed run is retried within its slot; a retry that would start at the next time is not made", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* failing("boom")
        yield* advanceTo("2026-06-01T12:16:00Z")
        // 12:10 fails, retried at 12:15; it fails, and a retry at 12:20 would start at the next time: the run is over
        assert.deepStrictEqual(starts(events, "flaky"), ["2026-06-01T12:10:00.000Z", "2026-06-01T12:15:00.000Z"])
        assert.deepStrictEqual(ofTag(events, "BackoffScheduled", "flaky").map((e) => iso(e.at)), [
          "2026-06-01T12:10:00.000Z"
        ])
        const row = yield* rowOf(supervisor, "flaky")
        assert.deepStrictEqual([row?.state, row?.nextRunAt?.toISOString()], ["Scheduled", "2026-06-01T12:20:00.000Z"])
        yield* advanceTo("2026-06-01T12:21:00Z")
        assert.deepStrictEqual(starts(events, "flaky").slice(2), ["2026-06-01T12:20:00.000Z"])
        assert.deepStrictEqual(ofTag(events, "TaskFinished", "flaky"), [])
      }))

    it.scoped("maxRetries exhausted ends the run, not the task: it stays Scheduled, its retries counted afresh", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* failing("boom", { backoff: "1 minute", maxRetries: 1 })
        yield* advanceTo("2026-06-01T12:12:00Z")
        assert.deepStrictEqual(starts(events, "flaky"), ["2026-06-01T12:10:00.000Z", "2026-06-01T12:11:00.000Z"])
        const row = yield* rowOf(supervisor, "flaky")
        assert.deepStrictEqual([row?.state, row?.nextRunAt?.toISOString()], ["Scheduled", "2026-06-01T12:20:00.000Z"])
        yield* advanceTo("2026-06-01T12:22:00Z")
        assert.deepStrictEqual(starts(events, "flaky"), [
          "2026-06-01T12:10:00.000Z",
          "2026-06-01T12:11:00.000Z",
          "2026-06-01T12:20:00.000Z",
          "2026-06-01T12:21:00.000Z"
        ])
        assert.deepStrictEqual(ofTag(events, "TaskFinished", "flaky"), [])
      }))

    it.scoped("a fatal error ends the task Fatal: no later run", () =>
      Effect.gen(function*() {
        const { events, supervisor } = yield* failing(new TaskFatal({ reason: "bad config" }))
        yield* advanceTo("2026-06-01T12:30:00Z")
        assert.deepStrictEqual(starts(events, "flaky"), ["2026-06-01T12:10:00.000Z"])
        assert.deepStrictEqual(ofTag(events, "TaskFinished", "flaky").map((e) => [e.outcome._tag, iso(e.at)]), [
          ["Fatal", "2026-06-01T12:10:00.000Z"]
        ])
        assert.isUndefined(yield* rowOf(supervisor, "flaky"))
      }))
  })

  describe("jitter", () => {
    it.scoped("a run starts within [time, time + jitter]: at its ends under the lowest and highest draws", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        const add = (name: string, r: number) =>
          Effect.withRandom(
            supervisor.add(TaskSpec.cron(name, Effect.void, "0 * * * *", { jitter: "10 minutes" })),
            quantileRandom(r)
          )
        yield* add("early", 0)
        yield* add("late", 1)
        yield* settle
        // list shows the jitter drawn
        assert.strictEqual((yield* rowOf(supervisor, "early"))?.nextRunAt?.toISOString(), "2026-06-01T12:00:00.000Z")
        assert.strictEqual((yield* rowOf(supervisor, "late"))?.nextRunAt?.toISOString(), "2026-06-01T12:10:00.000Z")
        yield* advanceTo("2026-06-01T13:11:00Z")
        assert.deepStrictEqual(starts(events, "early"), ["2026-06-01T12:00:00.000Z", "2026-06-01T13:00:00.000Z"])
        assert.deepStrictEqual(starts(events, "late"), ["2026-06-01T12:10:00.000Z", "2026-06-01T13:10:00.000Z"])
      }))

    it.scoped("under a seeded Random, tasks on the same minute spread over the jitter, as list shows them", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
        const { events, supervisor } = yield* supervisorWith()
        const names = Array.from({ length: 8 }, (_, i) => `spread-${i}`)
        yield* Effect.withRandom(
          Effect.forEach(
            names,
            (name) => supervisor.add(TaskSpec.cron(name, Effect.void, "0 * * * *", { jitter: "10 minutes" }))
          ),
          Random.make(20261205)
        )
        yield* settle
        const planned = yield* Effect.forEach(
          names,
          (name) => Effect.map(rowOf(supervisor, name), (row) => row!.nextRunAt!.getTime())
        )
        yield* advanceTo("2026-06-01T12:11:00Z")
        const started = names.map((name) => ofTag(events, "AttemptStarting", name).map((e) => e.at))
        for (const [i, at] of started.entries()) {
          assert.deepStrictEqual(at, [planned[i]], `${names[i]} starts when list said`)
          assert.isAtLeast(at[0], Date.parse("2026-06-01T12:00:00Z"))
          assert.isAtMost(at[0], Date.parse("2026-06-01T12:10:00Z"))
        }
        assert.isAtLeast(new Set(started.map((at) => at[0])).size, 6, "the runs are spread")
      }))
  })

  describe("bad input", () => {
    const cases: ReadonlyArray<readonly [string, string, TaskSpec.CronOptions, string]> = [
      ["four fields", "0 * * *", {}, "cron"],
      ["a minute out of range", "61 * * * *", {}, "cron"],
      ["a date that never comes", "0 0 30 2 *", {}, "cron"],
      ["an unknown time zone", "0 * * * *", { timeZone: "Mars/Olympus_Mons" }, "timeZone"],
      ["an unknown overlap", "0 * * * *", { overlap: "sometimes" as TaskSpec.Overlap }, "overlap"],
      ["a negative catchUp", "0 * * * *", { catchUp: -5 }, "catchUp"],
      ["a zero catchUp", "0 * * * *", { catchUp: 0 }, "catchUp"],
      ["a negative jitter", "0 * * * *", { jitter: -5 }, "jitter"]
    ]
    for (const [what, expression, options, field] of cases) {
      it.scoped(`${what}: a ConfigError naming ${field}, and the other tasks undisturbed`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
          const { events, supervisor } = yield* supervisorWith()
          yield* supervisor.add(TaskSpec.cron("good", Effect.void, "0 * * * *"))
          yield* settle
          const error = yield* Effect.flip(supervisor.add(TaskSpec.cron("x", Effect.void, expression, options)))
          assert.instanceOf(error, SupervisorError.ConfigError)
          assert.strictEqual((error as SupervisorError.ConfigError).field, `${field} of task 'x'`)
          assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [["good", "Scheduled"]])
          yield* advanceTo("2026-06-01T12:01:00Z")
          assert.deepStrictEqual(starts(events, "good"), ["2026-06-01T12:00:00.000Z"])
          assert.deepStrictEqual(ofTag(events, "TaskAddRequested").map((e) => e.task), ["good"])
        }))
    }
  })

  describe("list and inspect", () => {
    it.scoped("show Scheduled and the next run while it waits, Running and the next scheduled time while it runs", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
        const { supervisor } = yield* supervisorWith()
        yield* supervisor.add(TaskSpec.cron("nightly", Effect.sleep("10 minutes"), "0 * * * *"))
        yield* settle
        const both = Effect.gen(function*() {
          const row = (yield* rowOf(supervisor, "nightly"))!
          const details = Option.getOrThrow(yield* supervisor.inspect("nightly"))
          assert.deepStrictEqual([details.state, details.nextRunAt?.toISOString()], [
            row.state,
            row.nextRunAt?.toISOString()
          ])
          return [row.state, row.nextRunAt?.toISOString()]
        })
        assert.deepStrictEqual(yield* both, ["Scheduled", "2026-06-01T12:00:00.000Z"])
        yield* advanceTo("2026-06-01T12:05:00Z")
        assert.deepStrictEqual(yield* both, ["Running", "2026-06-01T13:00:00.000Z"])
        yield* advanceTo("2026-06-01T12:11:00Z")
        assert.deepStrictEqual(yield* both, ["Scheduled", "2026-06-01T13:00:00.000Z"])
        // a task that is not cron has no nextRunAt
        yield* supervisor.add(TaskSpec.make("plain", Effect.never))
        yield* settle
        assert.isUndefined((yield* rowOf(supervisor, "plain"))?.nextRunAt)
      }))
  })
})
