/**
 * `TaskSpec.cron`'s catch-up across a restart of the process: its last scheduled run kept in the caller's
 * `KeyValueStore` (in memory, and on the file system), one supervisor closed and a new one built over the same
 * store with the clock moved past scheduled times; on `TestClock`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as TaskSpec from "../src/TaskSpec.js"
import { ofTag } from "./utils/events.js"
import { advance, settle, settleUntil } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"

const iso = (at: number) => new Date(at).toISOString()

/** Where the task `hourly` keeps its last scheduled run. */
const key = "effect-taskvisor/cron/hourly"

/** The stores a restart is tried over, each built in the test's scope (the file system's in a temp dir removed after). */
const stores: ReadonlyArray<readonly [string, Effect.Effect<KeyValueStore.KeyValueStore, unknown, Scope.Scope>]> = [
  ["a memory store", Effect.map(Layer.build(KeyValueStore.layerMemory), Context.get(KeyValueStore.KeyValueStore))],
  [
    "a file-system store",
    Effect.flatMap(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "taskvisor-cron-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
      (dir) =>
        Effect.map(
          Layer.build(KeyValueStore.layerFileSystem(dir).pipe(Layer.provide(NodeContext.layer))),
          Context.get(KeyValueStore.KeyValueStore)
        )
    )
  ]
]

/**
 * A process: a supervisor in a scope of its own with the task `hourly` ("0 * * * *") added over `store` (none:
 * no store), once it has planned (read its store, run what it catches up, and knows its next time: the file
 * system's I/O is real, so this waits on that condition). `stop` closes it, as the process ending would.
 */
const boot = (store: KeyValueStore.KeyValueStore | undefined, catchUp: Duration.DurationInput | "none") =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const { events, supervisor } = yield* Scope.extend(supervisorWith(), scope)
    const add = supervisor.add(TaskSpec.cron("hourly", Effect.void, "0 * * * *", { catchUp }))
    yield* store === undefined ? add : Effect.provideService(add, KeyValueStore.KeyValueStore, store)
    const nextRunAt = Effect.map(supervisor.list, (rows) => rows.find((t) => t.name === "hourly")?.nextRunAt)
    yield* settleUntil("the task to plan its next run", Effect.map(nextRunAt, (at) => at !== undefined), 100_000)
    // and the recorder to receive what it published meanwhile
    yield* settle
    const starts = () => ofTag(events, "AttemptStarting", "hourly").map((e) => iso(e.at))
    return {
      events,
      nextRunAt: Effect.map(nextRunAt, (at) => at?.toISOString()),
      starts,
      /** Wait for its `n`th run to have started (its store written first: real I/O for the file system's). */
      started: (n: number) => settleUntil(`run ${n} to start`, Effect.sync(() => starts().length >= n), 100_000),
      stop: Scope.close(scope, Exit.void)
    }
  })

/** What the store keeps for `hourly`, once the write of `expected` landed (real I/O for the file system's). */
const storedOnce = (store: KeyValueStore.KeyValueStore, expected: string) =>
  Effect.zipRight(
    settleUntil(
      `the store to keep ${expected}`,
      Effect.map(store.get(key), (value) => Option.getOrUndefined(value) === expected),
      100_000
    ),
    Effect.map(store.get(key), Option.getOrUndefined)
  )

/** The first process: it starts at 11:50, runs at 12:00 (kept in `store`), and stops at 12:01. */
const firstProcess = (store: KeyValueStore.KeyValueStore | undefined, catchUp: Duration.DurationInput | "none") =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse("2026-06-01T11:50:00Z"))
    const first = yield* boot(store, catchUp)
    // the clock stops at the run's time: the store is written before the run starts, for real on the file system
    yield* advance("10 minutes")
    yield* first.started(1)
    assert.deepStrictEqual(first.starts(), ["2026-06-01T12:00:00.000Z"])
    if (store !== undefined) {
      assert.strictEqual(yield* storedOnce(store, "2026-06-01T12:00:00.000Z"), "2026-06-01T12:00:00.000Z")
    }
    yield* first.stop
  })

describe("TaskSpec.cron catch-up across a restart", () => {
  for (const [name, makeStore] of stores) {
    it.scoped(`within the window, with ${name}: the missed times run once, together, as it starts`, () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        yield* firstProcess(store, "30 minutes")
        // down through 13:00 and 14:00; back at 14:20, 20 minutes after the latest
        yield* TestClock.setTime(Date.parse("2026-06-01T14:20:00Z"))
        const second = yield* boot(store, "30 minutes")
        assert.deepStrictEqual(second.starts(), ["2026-06-01T14:20:00.000Z"])
        assert.deepStrictEqual(ofTag(second.events, "RunSkipped"), [])
        assert.strictEqual(yield* storedOnce(store, "2026-06-01T14:00:00.000Z"), "2026-06-01T14:00:00.000Z")
        assert.strictEqual(yield* second.nextRunAt, "2026-06-01T15:00:00.000Z")
        yield* advance("40 minutes")
        yield* second.started(2)
        assert.deepStrictEqual(second.starts(), ["2026-06-01T14:20:00.000Z", "2026-06-01T15:00:00.000Z"])
      }))

    it.scoped(`outside the window, with ${name}: one RunSkipped (Missed) counts them, and it runs at its next time`, () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        yield* firstProcess(store, "30 minutes")
        // back at 14:45, 45 minutes after the latest missed time
        yield* TestClock.setTime(Date.parse("2026-06-01T14:45:00Z"))
        const second = yield* boot(store, "30 minutes")
        assert.deepStrictEqual(
          ofTag(second.events, "RunSkipped", "hourly").map((e) => [iso(e.scheduledAt), e.skipped, e.why, iso(e.at)]),
          [["2026-06-01T14:00:00.000Z", 2, "Missed", "2026-06-01T14:45:00.000Z"]]
        )
        assert.deepStrictEqual(second.starts(), [])
        // the skipped times are dealt with: a restart now would not count them missed again
        assert.strictEqual(yield* storedOnce(store, "2026-06-01T14:00:00.000Z"), "2026-06-01T14:00:00.000Z")
        assert.strictEqual(yield* second.nextRunAt, "2026-06-01T15:00:00.000Z")
        yield* advance("15 minutes")
        yield* second.started(1)
        assert.deepStrictEqual(second.starts(), ["2026-06-01T15:00:00.000Z"])
      }))

    it.scoped(`catchUp "none", with ${name}: nothing missed runs, it is reported skipped`, () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        yield* firstProcess(store, "none")
        yield* TestClock.setTime(Date.parse("2026-06-01T13:05:00Z"))
        const second = yield* boot(store, "none")
        assert.deepStrictEqual(
          ofTag(second.events, "RunSkipped", "hourly").map((e) => [iso(e.scheduledAt), e.skipped, e.why]),
          [["2026-06-01T13:00:00.000Z", 1, "Missed"]]
        )
        assert.deepStrictEqual(second.starts(), [])
        assert.strictEqual(yield* storedOnce(store, "2026-06-01T13:00:00.000Z"), "2026-06-01T13:00:00.000Z")
        assert.strictEqual(yield* second.nextRunAt, "2026-06-01T14:00:00.000Z")
      }))
  }

  it.scoped("without a store: a restart knows nothing of what it missed, and waits for its next time", () =>
    Effect.gen(function*() {
      yield* firstProcess(undefined, "30 minutes")
      yield* TestClock.setTime(Date.parse("2026-06-01T14:20:00Z"))
      const second = yield* boot(undefined, "30 minutes")
      assert.deepStrictEqual(second.starts(), [])
      assert.deepStrictEqual(ofTag(second.events, "RunSkipped"), [])
      assert.strictEqual(yield* second.nextRunAt, "2026-06-01T15:00:00.000Z")
    }))
})
