/**
 * How a process task's processes end, checked in the process table: an
 * interrupted attempt sends SIGTERM to the child's group, SIGKILL after
 * `killAfter` (at most the grace less a tenth of it, at least 500 ms), and ends only once the group is
 * gone; a child that exits leaves nothing of its group behind; shutdown
 * leaves no process, grandchildren included; and an RSS limit ends the attempt.
 */
import * as Command from "@effect/platform/Command"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ProcessTask from "../src/ProcessTask.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { ofTag } from "./utils/events.js"
import { membersOf, node, processSupervisor } from "./utils/process.js"

const once = { restart: RestartPolicy.never } as const

/** Options whose onLine completes `started` with the process's pid on its first line, and keeps the lines. */
const reporting = (started: Deferred.Deferred<number>, lines: Array<string> = []): ProcessTask.Options => ({
  ...once,
  onLine: (line) => Effect.zipRight(Effect.sync(() => lines.push(line.text)), Deferred.succeed(started, line.pid))
})

const pidOf = (started: Deferred.Deferred<number>) =>
  Deferred.await(started).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no line") }))

describe("ProcessTask stop", () => {
  it.scopedLive("a child ignoring SIGTERM is killed after killAfter; the attempt ends once it is gone; Canceled", () =>
    Effect.gen(function*() {
      const { add, events, outcome, provide } = yield* processSupervisor({ grace: "3 seconds" })
      const started = yield* Deferred.make<number>()
      const handle = yield* add(
        ProcessTask.make("stubborn", node("stubborn.mjs"), { ...reporting(started), killAfter: "300 millis" })
      )
      const pid = yield* pidOf(started)
      assert.deepStrictEqual(membersOf(pid), [pid])
      yield* provide(TaskSupervisor.remove("stubborn"))
      const ended = yield* outcome(handle)
      assert.strictEqual(ended._tag, "Canceled")
      assert.deepStrictEqual(membersOf(pid), [], "the group is gone when the attempt ends")
      // it ignores SIGTERM: only the SIGKILL, after killAfter, ended it
      assert.isAtLeast(Duration.toMillis(ofTag(events, "AttemptCanceled", "stubborn")[0].duration), 300)
    }))

  it.scopedLive("what the child prints while it stops is delivered before the attempt ends", () =>
    Effect.gen(function*() {
      const { add, outcome, provide } = yield* processSupervisor()
      const started = yield* Deferred.make<number>()
      const lines: Array<string> = []
      const handle = yield* add(ProcessTask.make("polite", node("stubborn.mjs", "0"), reporting(started, lines)))
      yield* pidOf(started)
      yield* provide(TaskSupervisor.remove("polite"))
      assert.strictEqual((yield* outcome(handle))._tag, "Canceled")
      assert.deepStrictEqual(lines, ["ignoring SIGTERM", "SIGTERM received"])
    }))

  it.scopedLive("killAfter is at most the grace less its margin: the child is killed before the grace runs out", () =>
    Effect.gen(function*() {
      // killAfter 1.5 s of the 2 s grace: SIGKILL and the reaping have 500 ms
      const { add, outcome, provide } = yield* processSupervisor({ grace: "2 seconds" })
      const started = yield* Deferred.make<number>()
      const handle = yield* add(
        ProcessTask.make("clamped", node("stubborn.mjs"), { ...reporting(started), killAfter: "1 minute" })
      )
      const pid = yield* pidOf(started)
      yield* provide(TaskSupervisor.remove("clamped"))
      assert.strictEqual((yield* outcome(handle))._tag, "Canceled")
      assert.deepStrictEqual(membersOf(pid), [])
    }))

  it.scopedLive("a timed-out attempt stops its child the same way", () =>
    Effect.gen(function*() {
      const { add, events, outcome } = yield* processSupervisor()
      const started = yield* Deferred.make<number>()
      const handle = yield* add(ProcessTask.make("slow", node("stubborn.mjs"), {
        ...reporting(started),
        timeout: "300 millis",
        killAfter: "100 millis"
      }))
      const pid = yield* pidOf(started)
      assert.strictEqual((yield* outcome(handle))._tag, "Failed")
      assert.lengthOf(ofTag(events, "AttemptTimedOut", "slow"), 1)
      assert.deepStrictEqual(membersOf(pid), [])
    }))

  it.scopedLive("a child that exits leaves nothing of its group: what it started is stopped before the attempt ends", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const started = yield* Deferred.make<number>()
      const handle = yield* add(
        ProcessTask.make("leaver", Command.make("sh", "-c", "sleep 100 & echo started"), reporting(started))
      )
      const pid = yield* pidOf(started)
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      assert.deepStrictEqual(membersOf(pid), [], "its sleep is gone too")
    }))

  it.scopedLive("after shutdown no process started by the supervisor is left, grandchildren included", () =>
    Effect.gen(function*() {
      const { add, provide } = yield* processSupervisor({ grace: "3 seconds" })
      const pids: Array<number> = []
      for (const name of ["a", "b", "c"]) {
        const started = yield* Deferred.make<number>()
        yield* add(ProcessTask.make(name, Command.make("sh", "-c", "sleep 100 & echo started; sleep 100"), {
          ...reporting(started),
          killAfter: "1 second"
        }))
        pids.push(yield* pidOf(started))
      }
      const stubborn = yield* Deferred.make<number>()
      const lines: Array<string> = []
      yield* add(
        ProcessTask.make("stubborn", node("stubborn.mjs"), { ...reporting(stubborn, lines), killAfter: "200 millis" })
      )
      pids.push(yield* pidOf(stubborn))
      for (const pid of pids.slice(0, 3)) assert.isAtLeast(membersOf(pid).length, 2, "sh and its background sleep")
      yield* provide(TaskSupervisor.shutdown)
      assert.deepStrictEqual(pids.flatMap(membersOf), [])
      assert.deepStrictEqual(lines, ["ignoring SIGTERM", "SIGTERM received"], "what it printed while stopping is kept")
    }))
})

describe("ProcessTask memory", () => {
  it.scopedLive("a group over maxRss ends the attempt with ProcessMemoryExceeded naming the limit, and is stopped", () =>
    Effect.gen(function*() {
      const { add, events, outcome } = yield* processSupervisor()
      const limit = 96 * 1024 * 1024
      const handle = yield* add(ProcessTask.make("hungry", node("memory.mjs"), {
        ...once,
        maxRss: limit,
        sampleEvery: "50 millis",
        killAfter: "200 millis"
      }))
      const ended = yield* outcome(handle)
      assert.strictEqual(ended._tag, "Failed")
      const error = Option.getOrUndefined(
        Cause.failureOption((ended as Extract<TaskOutcome.TaskOutcome<unknown>, { _tag: "Failed" }>).cause)
      ) as ProcessTask.ProcessMemoryExceeded
      assert.instanceOf(error, ProcessTask.ProcessMemoryExceeded)
      assert.strictEqual(error.limit, limit)
      assert.isAbove(error.rss, limit)
      assert.match(ofTag(events, "AttemptFailed", "hungry")[0].reason, /over its limit of 96\.0 MiB/)
      assert.deepStrictEqual(membersOf(error.pid), [])
    }))
})
