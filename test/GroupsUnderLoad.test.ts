/**
 * Groups under pressure: permits, parked children, restarts while the group is
 * busy, and shutdown while a child is slow to stop.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { outcomeNow, recordingSupervisor, shutdownAdvancing } from "./utils/controller.js"
import { ofTag } from "./utils/events.js"
import { advance } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { crashesOnRuns, crashingChild, neverEnding, slowToStop, states, stubborn } from "./utils/tasks.js"

const second = BackoffPolicy.constant("1 second")

const child = crashingChild

/** A ticker: counts one tick per second for as long as it runs. */
const ticker = (name: string, ticks: Ref.Ref<number>) =>
  TaskSpec.make(name, Effect.forever(Effect.zipRight(Effect.sleep("1 second"), Ref.update(ticks, (n) => n + 1))))

/** `child@ms` of the group `g`'s AttemptStarting and GroupRestarting events. */
const groupTimeline = (events: ReadonlyArray<SupervisorEvent>) => ({
  starts: ofTag(events, "AttemptStarting").filter((e) => e.group === "g").map((e) => `${e.task}@${e.at}`),
  restarts: ofTag(events, "GroupRestarting").map((e) => `${e.child}@${e.at}`)
})

describe("groups and permits", () => {
  it.scoped("restForOne: a child whose gate a restart closed while it waited for a permit starts in its turn", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds", maxConcurrent: 2 })
      const a = yield* crashesOnRuns("a", ["5 seconds"])
      const b = yield* crashesOnRuns("b", ["1 second", "5 seconds"])
      yield* supervisor.add(TaskSpec.group("g", [a, b], { strategy: "restForOne" }))
      yield* advance(0)
      // a and b hold the two permits; x waits, and takes b's when b crashes at 1 s (b restarts alone, at its gate open)
      yield* supervisor.add(TaskSpec.make("x", Effect.sleep("9 seconds")))
      yield* advance("1500 millis")
      // y queues ahead of b (which asks again at 2 s): a's crash at 5 s hands its permit to y, while b still waits,
      // its gate closed by a's restart; x's permit at 10 s comes to b before a (asking at 6 s) gets one
      yield* supervisor.add(TaskSpec.make("y", Effect.sleep("7 seconds")))
      yield* advance("1 minute")
      // b gives x's permit back and waits its turn: a starts at 10 s, then b with y's permit at 12 s; b's second run
      // crashes at 17 s, which the group restarts (it used to run held, b before a, and wait at its gate for ever)
      assert.deepStrictEqual(groupTimeline(events), {
        starts: ["g/a@0", "g/b@0", "g/a@10000", "g/b@12000", "g/b@18000"],
        restarts: ["g/b@1000", "g/a@5000", "g/b@17000"]
      })
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running", "g/b:Running"])
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("oneForAll: a child whose gate a restart closed while it waited for a permit starts in its turn", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds", maxConcurrent: 2 })
      const a = yield* crashesOnRuns("a", [undefined, "2 seconds"])
      const b = yield* crashesOnRuns("b", ["1 second", "5 seconds"])
      yield* supervisor.add(TaskSpec.group("g", [a, b], { strategy: "oneForAll" }))
      yield* advance(0)
      // b crashes at 1 s: x takes its permit, y a's (stopped for the restart); a starts again with x's at 3 s, and b,
      // its turn come, waits for a permit behind w
      yield* supervisor.add(TaskSpec.make("x", Effect.sleep("2 seconds")))
      yield* advance("500 millis")
      yield* supervisor.add(TaskSpec.make("y", Effect.sleep("8 seconds")))
      yield* advance("1500 millis")
      yield* supervisor.add(TaskSpec.make("w", Effect.sleep("5 seconds")))
      // a crashes at 5 s: w takes its permit, b's gate closes while it waits; y's permit at 9 s comes to b first
      yield* advance("1 minute")
      assert.deepStrictEqual(groupTimeline(events), {
        starts: ["g/a@0", "g/b@0", "g/a@3000", "g/a@9000", "g/b@10000", "g/a@15000", "g/b@16000"],
        restarts: ["g/b@1000", "g/a@5000", "g/b@15000"]
      })
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running", "g/b:Running"])
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("maxConcurrent: 2 and a group of one child: the child gets the free permit and runs", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ maxConcurrent: 2 })
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.make("a", neverEnding)]))
      yield* advance("1 second")
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running"])
    }))

  it.scoped("maxConcurrent: 1 and a group of one child: the child must be able to start (no deadlock)", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ maxConcurrent: 1 })
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.make("a", neverEnding)]))
      yield* advance("1 minute")
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running"])
    }))
})

describe("parked child in a group", () => {
  it.scoped("oneForAll: a sibling's restart while a child is parked between tries restarts both, no GroupFailed", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      // p fails 1 s into every run, restarts every second, parks after 1 restart in a minute, tries every 10 s
      const parky = TaskSpec.restartable("p", Effect.zipRight(Effect.sleep("1 second"), Effect.fail("down"))).pipe(
        TaskSpec.withBackoff(second),
        TaskSpec.withIntensity({ maxRestarts: 1, within: "1 minute", onExhausted: { park: "10 seconds" } })
      )
      // s fails once, at 30 s (whatever attempt it is in), and runs on afterwards
      const crashed = yield* Ref.make(false)
      const s = TaskSpec.restartable(
        "s",
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) =>
            Effect.flatMap(Ref.get(crashed), (done) =>
              done || now >= 30_000 ? neverEnding : Effect.zipRight(
                Effect.sleep(30_000 - now),
                Effect.zipRight(Ref.set(crashed, true), Effect.fail("s crashed"))
              ))
        )
      ).pipe(TaskSpec.withBackoff(second))
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [parky, s], { strategy: "oneForAll" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      // p: run 1 fails @1, run 2 @2..3 fails -> parked; park try @13..14 fails (no group signal); s fails @30
      yield* advance("29 seconds")
      assert.strictEqual(ofTag(events, "TaskParked").length, 1)
      yield* advance("10 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.isUndefined(outcome, `the group's attempt must not give up: ${outcome && TaskOutcome.reason(outcome)}`)
      const reasons = ofTag(events, "TaskFinished").map((e) => `${e.task}:${TaskOutcome.reason(e.outcome) ?? ""}`)
      assert.deepStrictEqual(reasons, [])
    }))
})

describe("restart while the group is busy", () => {
  it.scoped("restForOne: a child that restarted by itself while the group was stopping others is not left gated", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a")
      // b fails at 1.5 s with a 500 ms backoff: it restarts at 2 s, while the group is still stopping d
      const b = yield* child("b", "1500 millis", BackoffPolicy.constant("500 millis"))
      // c fails at 1 s (backoff 1 s): the group stops d, which takes 2 s
      const c = yield* child("c", "1 second")
      const d = TaskSpec.make("d", slowToStop("2 seconds"))
      yield* supervisor.add(TaskSpec.group("g", [a, b, c, d], { strategy: "restForOne" }))
      yield* advance("1 minute")
      assert.deepStrictEqual(states(yield* supervisor.list), [
        "g:Running",
        "g/a:Running",
        "g/b:Running",
        "g/c:Running",
        "g/d:Running"
      ])
      assert.strictEqual(ofTag(events, "GroupRestarting").length, 2)
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))
})

describe("shutdown and stops of groups", () => {
  it.scoped("shutdown while a child is slow to stop: its earlier siblings must still be stopped (no fiber left)", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith({ grace: "2 seconds" })
      const ticks = yield* Ref.make(0)
      yield* supervisor.add(
        TaskSpec.group("g", [ticker("a", ticks), TaskSpec.make("b", neverEnding), TaskSpec.make("c", stubborn)])
      )
      yield* advance("500 millis")
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* advance("5 seconds")
      yield* Effect.ignore(Fiber.join(stopping))
      const before = yield* Ref.get(ticks)
      yield* advance("10 seconds")
      assert.strictEqual(yield* Ref.get(ticks), before, "a keeps ticking after shutdown: its fiber was never stopped")
    }))
})
