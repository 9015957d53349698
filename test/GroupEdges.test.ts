/**
 * Groups at the edges of OTP's semantics: stops that outlive a grace (a group
 * has none of its own), transient children that completed and temporary ones
 * under a restart, crashes and completions absorbed by a restart under way,
 * children removed by a caller, nested groups, parks after a success, and the
 * default timeout.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { outcomeNow, recordingSupervisor, shutdownAdvancing, trackedSupervisor } from "./utils/controller.js"
import { assertEveryIdOrder, assertTaskOrder, ofTag } from "./utils/events.js"
import { advance, poll, settle, settleUntil, settleUntilDone } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { crashesOnRuns, crashingChild, neverEnding, slowToStop, states, stubborn } from "./utils/tasks.js"

const child = crashingChild

const reasonOf = (outcome: TaskOutcome.TaskOutcome<unknown> | undefined) =>
  outcome === undefined ? "running" : `${outcome._tag}: ${TaskOutcome.reason(outcome) ?? ""}`

/** `name@ms` of the group's children's AttemptStarting after `afterSeq`. */
const startsAfter = (events: ReadonlyArray<SupervisorEvent>, group: string, afterSeq: number, timed = false) =>
  ofTag(events, "AttemptStarting")
    .filter((e) => e.group === group && e.seq > afterSeq)
    .map((e) => timed ? `${e.task.slice(group.length + 1)}@${e.at}` : e.task.slice(group.length + 1))

/**
 * A group of a, b (crashing once, after `aAfter` and `bAfter`) and c (slow to
 * stop), allowed one restart of its children: one crash's restart is still
 * stopping c when the other crashes. Ten seconds later.
 */
const crashDuringRestart = (
  strategy: "oneForAll" | "restForOne",
  aAfter: Duration.DurationInput,
  bAfter: Duration.DurationInput
) =>
  Effect.gen(function*() {
    const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
    const a = yield* child("a", aAfter)
    const b = yield* child("b", bAfter)
    const handle = yield* supervisor.add(
      TaskSpec.group("g", [a, b, TaskSpec.make("c", slowToStop("2 seconds"))], {
        strategy,
        intensity: { maxRestarts: 1, within: "1 minute" }
      }).pipe(TaskSpec.withRestart(RestartPolicy.never))
    )
    yield* advance("10 seconds")
    return { events, handle, supervisor }
  })

describe("re-admission of completed transient children", () => {
  it.scoped("oneForAll: the completed child re-admitted with its siblings has a new id and clean per-id events", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const b = yield* child("b", "2 seconds")
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.restartable("done", Effect.sleep("1 second")), b], { strategy: "oneForAll" })
      )
      yield* advance("5 seconds")
      const added = ofTag(events, "TaskAdded", "g/done").map((e) => e.id)
      assert.strictEqual(added.length, 2)
      assert.notStrictEqual(added[0], added[1])
      const [restart] = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(startsAfter(events, "g", restart.seq), ["done", "b"])
      yield* supervisor.shutdown
      assertEveryIdOrder(events)
    }))

  it.scoped("oneForAll: a transient child that completes while the group stops siblings restarts in start order", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      // a crashes at 1 s and backs off 5 s; b completes at 1.5 s, during the restart's stop of c (1 s .. 3 s)
      const a = yield* child("a", "1 second", BackoffPolicy.constant("5 seconds"))
      yield* supervisor.add(
        TaskSpec.group("g", [
          a,
          TaskSpec.restartable("b", Effect.sleep("1500 millis")),
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "oneForAll" })
      )
      yield* advance("10 seconds")
      const [restart] = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(restart.children, ["g/a", "g/b", "g/c"])
      const starts = ofTag(events, "AttemptStarting")
        .filter((e) => e.group === "g" && e.seq > restart.seq)
        .map((e) => `${e.task.slice(2)}@${e.at}`)
      // README: "then all start again in start order"
      assert.deepStrictEqual(starts.map((s) => s.split("@")[0]).slice(0, 3), ["a", "b", "c"], starts.join(", "))
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("anySignificant: a significant transient child completing while being stopped for a restart", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          a,
          TaskSpec.restartable("s", Effect.zipRight(Effect.sleep("1500 millis"), Effect.void)).pipe(
            TaskSpec.significant
          ),
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "oneForAll", autoShutdown: "anySignificant" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("3 seconds")
      const outcome = yield* outcomeNow(handle)
      const sAdded = ofTag(events, "TaskAdded", "g/s").length
      // its completion is part of the restart under way (as a crash would be): it starts again, the group runs on
      assert.isUndefined(outcome, reasonOf(outcome))
      assert.strictEqual(sAdded, 2)
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("allSignificant: a completed significant child re-admitted by a restart must complete again", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const a = yield* child("a", "2 seconds")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.restartable("s1", Effect.sleep("1 second")).pipe(TaskSpec.significant),
          TaskSpec.restartable("s2", Effect.sleep("5 seconds")).pipe(TaskSpec.significant),
          a
        ], { strategy: "oneForAll", autoShutdown: "allSignificant" })
      )
      // s1 done @1; a crashes @2: s1 re-admitted and s2 restarted @2; s1' done @3; s2' done @7
      yield* advance("6900 millis")
      assert.isUndefined(yield* outcomeNow(handle), "s2' has not completed yet")
      assert.strictEqual(ofTag(events, "TaskAdded", "g/s1").length, 2)
      yield* advance("200 millis")
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Completed")
      assert.deepStrictEqual(yield* supervisor.list, [])
      assertEveryIdOrder(events)
    }))

  it.scoped("allSignificant: a significant child removed by a caller, then the other ends: the group is done", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("s1", neverEnding).pipe(TaskSpec.significant),
          TaskSpec.restartable("s2", Effect.sleep("5 seconds")).pipe(TaskSpec.significant),
          TaskSpec.make("x", neverEnding)
        ], { autoShutdown: "allSignificant" })
      )
      yield* settle
      assert.isTrue(yield* supervisor.remove("g/s1"))
      yield* advance("1 second")
      assert.isUndefined(yield* outcomeNow(handle))
      yield* advance("5 seconds")
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Completed")
    }))

  it.scoped("cancel of a group during a restart that would re-admit a completed child: nothing left, one outcome each", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.restartable("done", Effect.sleep("500 millis")),
          a,
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "oneForAll" })
      )
      yield* advance("2 seconds")
      const canceling = yield* Effect.fork(supervisor.cancel(handle.id))
      yield* advance("5 seconds")
      yield* settleUntilDone(canceling, "the cancel to return")
      assert.deepStrictEqual(yield* supervisor.list, [])
      yield* supervisor.shutdown
      yield* settle
      assertEveryIdOrder(events)
      assert.strictEqual(yield* live, 0)
    }))
})

describe("temporary children", () => {
  it.scoped("oneForAll: a temporary child that fails while the group is stopping siblings for a restart", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second")
      // t fails at 1.5 s, while the restart started at 1 s stops c (1 s .. 3 s) before reaching t
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("t", Effect.zipRight(Effect.sleep("1500 millis"), Effect.fail("t crashed"))).pipe(
            TaskSpec.withRestart(RestartPolicy.never)
          ),
          a,
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "oneForAll" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("10 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.isUndefined(outcome, `the restart was already stopping t for good: ${reasonOf(outcome)}`)
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("oneForAll: a stubborn temporary child is force-aborted by the restart, which then completes", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const a = yield* child("a", "1 second")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("t", stubborn).pipe(TaskSpec.withRestart(RestartPolicy.never)), a], {
          strategy: "oneForAll"
        }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(ofTag(events, "TaskFinished", "g/t").map((e) => e.outcome._tag), ["ForceAborted"])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running"])
    }))
})

describe("absorbed crashes and intensity", () => {
  it.scoped("oneForAll: an absorbed crash with a long backoff still restarts (not left gated), one restart counted", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second")
      const b = yield* child("b", "1500 millis", BackoffPolicy.constant("10 seconds"))
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [a, b, TaskSpec.make("c", slowToStop("2 seconds"))], {
          strategy: "oneForAll",
          intensity: { maxRestarts: 1, within: "1 minute" }
        }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("20 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.strictEqual(ofTag(events, "GroupRestarting").length, 1)
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running", "g/b:Running", "g/c:Running"])
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* advance("5 seconds")
      yield* Fiber.join(stopping)
      for (const name of ["g", "g/a", "g/b", "g/c"]) assertTaskOrder(events, name)
    }))

  it.scoped("restForOne: an earlier child crashing during a restart is not absorbed (it counts)", () =>
    Effect.gen(function*() {
      const { handle, supervisor } = yield* crashDuringRestart("restForOne", "1500 millis", "1 second")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(outcome?._tag, "Failed", reasonOf(outcome))
      assert.include(reasonOf(outcome), "2 restarts within 1m of its children")
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))

  it.scoped("restForOne: a child removed while held for a restart: the others start, no GroupFailed", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second", BackoffPolicy.constant("5 seconds"))
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [a, TaskSpec.make("b", neverEnding), TaskSpec.make("c", slowToStop("1 second"))], {
          strategy: "restForOne"
        }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      // a crashes @1, c stops @1..2, b @2; all held until a starts @6
      yield* advance("3 seconds")
      assert.isTrue(yield* supervisor.remove("g/b"))
      yield* advance("1 second")
      assert.isTrue(yield* supervisor.remove("g/a"))
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/c:Running"])
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* advance("5 seconds")
      yield* Fiber.join(stopping)
      assertEveryIdOrder(events)
    }))
})

describe("nested groups and the no-deadline stop", () => {
  it.scoped("shutdown with stubborn grandchildren ends within the shutdown grace", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.group("h", [TaskSpec.make("x", stubborn), TaskSpec.make("y", slowToStop("30 seconds"))]),
          TaskSpec.make("z", slowToStop("30 seconds"))
        ])
      )
      yield* settle
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* advance("1999 millis")
      assert.isTrue(Option.isNone(yield* poll(stopping)), "not before the grace")
      yield* advance("1 millis")
      yield* settleUntilDone(stopping, "shutdown to end at its grace")
      const exit = yield* stopping.poll
      assert.isTrue(Exit.isFailure(Option.getOrThrow(exit)))
      for (const name of ["g", "g/h", "g/h/x", "g/h/y", "g/z"]) {
        assert.strictEqual(ofTag(events, "TaskFinished", name).length, 1, name)
      }
    }))

  it.scoped("cancel of a group whose child is a group: returns once every grandchild stopped or was force-aborted", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "2 seconds" })
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.group("h", [TaskSpec.make("x", slowToStop("5 seconds"))]),
          TaskSpec.make("a", slowToStop("1 second"))
        ])
      )
      yield* settle
      const canceling = yield* Effect.fork(supervisor.cancel(handle.id))
      // a: 1 s; then h: x force-aborted after its 2 s grace
      yield* advance("2999 millis")
      assert.isTrue(Option.isNone(yield* poll(canceling)))
      yield* advance("1 millis")
      yield* settleUntilDone(canceling, "the cancel to return")
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => `${e.task}:${e.outcome._tag}`), [
        "g/a:Canceled",
        "g/h/x:ForceAborted",
        "g/h:Canceled",
        "g:Canceled"
      ])
      assert.deepStrictEqual(yield* supervisor.list, [])
      yield* advance("10 seconds")
      yield* supervisor.shutdown
      yield* settle
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("oneForAll: a nested group sibling restarted takes as long as its children's stops (no grace of its own)", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const a = yield* child("a", "1 second")
      // h's attempt stops its two children one after the other, each well within its own grace: 3 s in all
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.group("h", [
            TaskSpec.make("x", slowToStop("1500 millis")),
            TaskSpec.make("y", slowToStop("1500 millis"))
          ]),
          a
        ], { strategy: "oneForAll" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("10 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.isUndefined(outcome, reasonOf(outcome))
      assert.strictEqual(ofTag(events, "GroupRestarting", "g").length, 1)
      yield* shutdownAdvancing(supervisor, "2 seconds")
    }))

  it.scoped("oneForAll: a nested group sibling whose one stubborn child is force-aborted after its grace", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const a = yield* child("a", "1 second")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.group("h", [TaskSpec.make("x", stubborn)]), a], { strategy: "oneForAll" }).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      yield* advance("10 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.isUndefined(outcome, reasonOf(outcome))
      // x outlived its grace in h's teardown; h started afresh with a new x
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => `${e.task}:${e.outcome._tag}`), [
        "g/h/x:ForceAborted"
      ])
      assert.deepStrictEqual(states(yield* supervisor.list), [
        "g:Running",
        "g/h:Running",
        "g/a:Running",
        "g/h/x:Running"
      ])
      yield* shutdownAdvancing(supervisor, "2 seconds")
    }))

  it.scoped("remove of a nested group: its name is reserved until its children stopped, then free", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.group("h", [TaskSpec.make("x", slowToStop("5 seconds"))])]))
      yield* settle
      assert.isTrue(yield* supervisor.remove("g"))
      yield* advance("1 second")
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Stopping", "g/h:Stopping", "g/h/x:Stopping"])
      yield* advance("1 second")
      assert.deepStrictEqual(yield* supervisor.list, [])
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.group("h", [TaskSpec.make("x", neverEnding)])]))
      yield* settle
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/h:Running", "g/h/x:Running"])
    }))
})

describe("park after a success, and the default timeout", () => {
  it.scoped("a park after an always success: BackoffScheduled source Success, no reason, per-task order kept", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({})
      yield* supervisor.add(
        TaskSpec.make("p", Effect.void).pipe(
          TaskSpec.withRestart(RestartPolicy.always({ interval: "1 second" })),
          TaskSpec.withIntensity({ maxRestarts: 1, within: "1 minute", onExhausted: { park: "10 seconds" } })
        )
      )
      yield* advance("11500 millis")
      const backoffs = ofTag(events, "BackoffScheduled", "p")
      assert.isAtLeast(backoffs.length, 3)
      for (const e of backoffs) assert.deepStrictEqual([e.source, e.reason], ["Success", undefined], `#${e.seq}`)
      assert.strictEqual(ofTag(events, "TaskParked", "p").length, 1)
      yield* supervisor.remove("p")
      yield* settle
      assertTaskOrder(events, "p")
    }))

  it.scoped("a park after an always success without interval, as a group child under oneForAll", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({})
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("x", neverEnding),
          TaskSpec.make("p", Effect.sleep("1 second")).pipe(
            TaskSpec.withRestart(RestartPolicy.always()),
            TaskSpec.withIntensity({ maxRestarts: 1, within: "1 minute", onExhausted: { park: "10 seconds" } })
          )
        ], { strategy: "oneForAll" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("30 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      const parked = ofTag(events, "BackoffScheduled", "g/p")
      assert.isTrue(parked.length > 0)
      for (const e of parked) assert.strictEqual(e.source, "Success")
      yield* supervisor.shutdown
      assertEveryIdOrder(events)
    }))

  it.scoped("a group (and a nested group) takes no default timeout; children do; withTimeout on the group bounds it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ defaults: { timeout: "1 second" } })
      yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.group("h", [TaskSpec.make("x", neverEnding).pipe(TaskSpec.withTimeout(null))]),
          TaskSpec.make("y", neverEnding)
        ])
      )
      yield* supervisor.add(
        TaskSpec.group("k", [TaskSpec.make("z", neverEnding).pipe(TaskSpec.withTimeout(null))]).pipe(
          TaskSpec.withTimeout("3 seconds")
        )
      )
      yield* advance("5 seconds")
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "g"), [])
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "g/h"), [])
      assert.isAbove(ofTag(events, "AttemptTimedOut", "g/y").length, 0)
      assert.strictEqual(ofTag(events, "AttemptTimedOut", "k").length, 1)
    }))
})

describe("more edges", () => {
  it.scoped("restForOne: a later transient child completing during the restart's stops starts after the restarted one", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
      const a = yield* child("a", "1 second", BackoffPolicy.constant("5 seconds"))
      yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("x", neverEnding),
          a,
          TaskSpec.restartable("b", Effect.sleep("1500 millis")),
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "restForOne" })
      )
      yield* advance("10 seconds")
      const [restart] = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(restart.children, ["g/a", "g/b", "g/c"])
      assert.deepStrictEqual(startsAfter(events, "g", restart.seq).slice(0, 3), ["a", "b", "c"])
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("oneForAll: a child removed by a caller is not re-admitted by a later sibling restart", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const b = yield* child("b", "3 seconds")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.restartable("r", neverEnding), b], { strategy: "oneForAll" }).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      yield* advance("1 second")
      assert.isTrue(yield* supervisor.remove("g/r"))
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.strictEqual(ofTag(events, "TaskAdded", "g/r").length, 1)
      assert.deepStrictEqual(ofTag(events, "GroupRestarting").map((e) => e.children), [["g/b"]])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/b:Running"])
    }))

  it.scoped("oneForAll: a temporary child that completed is not started again by a sibling restart", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const b = yield* child("b", "3 seconds")
      yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("once", Effect.sleep("1 second")).pipe(TaskSpec.withRestart(RestartPolicy.never)),
          b
        ], { strategy: "oneForAll" })
      )
      yield* advance("10 seconds")
      assert.strictEqual(ofTag(events, "TaskAdded", "g/once").length, 1)
      assert.deepStrictEqual(ofTag(events, "GroupRestarting").map((e) => e.children), [["g/b"]])
    }))

  it.scoped("a child removed by a caller that outlives its grace (ForceAborted) does not make the group give up", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("s", stubborn), TaskSpec.make("x", neverEnding)]).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      yield* settle
      assert.isTrue(yield* supervisor.remove("g/s"))
      yield* advance("5 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/x:Running"])
    }))

  it.scoped("cancel of a group whose child waits at its gate with a long backoff returns at once", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const a = yield* child("a", "1 second", BackoffPolicy.constant("1 hour"))
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [a, TaskSpec.make("b", neverEnding), TaskSpec.restartable("d", Effect.void)], {
          strategy: "oneForAll"
        })
      )
      yield* advance("2 seconds")
      const canceling = yield* Effect.fork(supervisor.cancel(handle.id))
      yield* settleUntilDone(canceling, "the cancel to return")
      assert.deepStrictEqual(yield* supervisor.list, [])
      yield* supervisor.shutdown
      yield* settle
      assertEveryIdOrder(events)
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("shutdown during a oneForAll restart with a completed child to re-admit: no fiber left, one outcome each", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "3 seconds" })
      const a = yield* child("a", "1 second")
      yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.restartable("done", Effect.sleep("500 millis")),
          a,
          TaskSpec.make("c", slowToStop("2 seconds"))
        ], { strategy: "oneForAll" })
      )
      yield* advance("1500 millis")
      const stopping = yield* Effect.fork(supervisor.shutdown)
      yield* advance("3 seconds")
      yield* Effect.ignore(Fiber.join(stopping))
      yield* settleUntil("every task to be gone", Effect.map(supervisor.list, (list) => list.length === 0))
      assert.deepStrictEqual(yield* supervisor.list, [])
      assertEveryIdOrder(events)
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("cancel of a nested group by path: returns after its child is force-aborted; the parent does not give up", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.group("h", [TaskSpec.make("x", stubborn)]), TaskSpec.make("y", neverEnding)])
          .pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* settle
      const canceling = yield* Effect.fork(supervisor.cancel("g/h"))
      yield* advance("1999 millis")
      assert.isTrue(Option.isNone(yield* poll(canceling)))
      yield* advance("1 millis")
      yield* settleUntilDone(canceling, "the cancel to return")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => `${e.task}:${e.outcome._tag}`), [
        "g/h/x:ForceAborted",
        "g/h:Canceled"
      ])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/y:Running"])
    }))

  it.scoped("oneForAll: a sibling removed by a caller while the group is stopping it for a restart", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "5 seconds" })
      const a = yield* child("a", "1 second")
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [a, TaskSpec.make("b", slowToStop("2 seconds"))], { strategy: "oneForAll" }).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      yield* advance("1500 millis")
      assert.isTrue(yield* supervisor.remove("g/b"))
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => `${e.task}:${e.outcome._tag}`), ["g/b:Canceled"])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/a:Running"])
    }))

  it.scoped("a group with its own restart policy piped still takes no default timeout", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ defaults: { timeout: "1 second" } })
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("x", neverEnding).pipe(TaskSpec.withTimeout(null))]).pipe(
          TaskSpec.withRestart(RestartPolicy.always()),
          TaskSpec.withBackoff(BackoffPolicy.constant("1 second")),
          TaskSpec.withMaxRetries(3)
        )
      )
      yield* advance("5 seconds")
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "g"), [])
      assert.strictEqual(ofTag(events, "AttemptStarting", "g").length, 1)
    }))
})

describe("stops, removals and restarts under way", () => {
  it.scoped("cancel of a group whose last child outlives the grace: cancel returns only after every child ended", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", slowToStop("5 seconds"))])
      )
      yield* settle
      const canceling = yield* Effect.fork(supervisor.cancel(handle.id))
      yield* advance("2 seconds")
      assert.isTrue(yield* Fiber.join(canceling))
      const finished = ofTag(events, "TaskFinished").map((e) => e.task)
      assert.deepStrictEqual(finished, ["g/b", "g/a", "g"], "children finish before their group")
    }))

  it.scoped("cancel of a group whose child outlives the grace, then the same group again: it starts once the last child ended", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* recordingSupervisor({ grace: "2 seconds" })
      const make = () =>
        TaskSpec.group("g", [TaskSpec.make("a", slowToStop("1 second")), TaskSpec.make("b", slowToStop("3 seconds"))])
          .pipe(TaskSpec.withRestart(RestartPolicy.never))
      const first = yield* supervisor.add(make())
      yield* settle
      const canceling = yield* Effect.fork(supervisor.cancel(first.id))
      yield* advance("3 seconds")
      yield* Fiber.join(canceling)
      const second = yield* supervisor.add(make())
      yield* settle
      const outcome = yield* outcomeNow(second)
      assert.isUndefined(outcome, outcome && TaskOutcome.reason(outcome))
      yield* shutdownAdvancing(supervisor, "2 seconds")
    }))

  it.scoped("a significant child removed by the operator has not ended by itself: anySignificant keeps the group", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("tail", neverEnding),
          TaskSpec.make("job", neverEnding).pipe(TaskSpec.significant)
        ], { autoShutdown: "anySignificant" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* settle
      assert.isTrue(yield* supervisor.remove("g/job"))
      yield* advance("1 second")
      assert.isUndefined(yield* outcomeNow(handle), "README: a significant child that 'ends by itself'")
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/tail:Running"])
    }))

  it.scoped("oneForAll: a transient child that completed is restarted with its siblings (OTP keeps its spec)", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const b = yield* child("b", "2 seconds")
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.restartable("done", Effect.sleep("1 second")), b], { strategy: "oneForAll" })
      )
      yield* advance("5 seconds")
      assert.deepStrictEqual(
        ofTag(events, "GroupRestarting").map((e) => e.children),
        [["g/done", "g/b"]]
      )
    }))

  it.scoped("oneForAll: a temporary child (restart never) is stopped for good by a sibling's restart, not restarted", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const b = yield* child("b", "2 seconds")
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("once", neverEnding).pipe(TaskSpec.withRestart(RestartPolicy.never)), b], {
          strategy: "oneForAll"
        })
      )
      yield* advance("5 seconds")
      assert.deepStrictEqual(ofTag(events, "GroupRestarting").map((e) => e.children), [["g/b"]])
      const once = ofTag(events, "TaskFinished").filter((e) => e.task === "g/once")
      assert.deepStrictEqual(once.map((e) => e.outcome._tag), ["Canceled"])
      assert.deepStrictEqual(states(yield* supervisor.list), ["g:Running", "g/b:Running"])
    }))

  it.scoped("oneForAll: a sibling crashing while the group stops the others for a restart counts as that restart", () =>
    Effect.gen(function*() {
      const { events, handle, supervisor } = yield* crashDuringRestart("oneForAll", "1 second", "1500 millis")
      const outcome = yield* outcomeNow(handle)
      assert.isUndefined(outcome, reasonOf(outcome))
      assert.strictEqual(ofTag(events, "GroupRestarting").length, 1)
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))
})

/**
 * A restForOne group of x (crashes at 1.5 s, 10 s backoff), a (crashes at
 * 1 s, 100 ms backoff, then again `aAgain` into its second run), b (never
 * ends) and c (takes 2 s to stop): a's restart is still stopping c when x's
 * is queued behind it.
 */
const queuedBehindSlowRestart = (aAgain: Duration.DurationInput) =>
  Effect.gen(function*() {
    const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
    const x = yield* crashesOnRuns("x", ["1500 millis"], BackoffPolicy.constant("10 seconds"))
    const a = yield* crashesOnRuns("a", ["1 second", aAgain], BackoffPolicy.constant("100 millis"))
    const handle = yield* supervisor.add(
      TaskSpec.group("g", [x, a, TaskSpec.make("b", neverEnding), TaskSpec.make("c", slowToStop("2 seconds"))], {
        strategy: "restForOne"
      }).pipe(TaskSpec.withRestart(RestartPolicy.never))
    )
    return { events, handle, supervisor }
  })
describe("restarts queued behind a slow one", () => {
  it.scoped("restForOne: a restart queued behind a slow one: start order kept, and the early child is not left gated", () =>
    Effect.gen(function*() {
      // a's restart stops c (1 s .. 3 s) and a waits at its gate from 1.1 s; x's restart is queued behind it and
      // covers a, b, c
      const { events, handle, supervisor } = yield* queuedBehindSlowRestart("5 seconds")
      yield* advance("4 seconds")
      const restarts = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(restarts.map((e) => e.child), ["g/a", "g/x"])
      // README: all start again in start order: x first (after its 10 s backoff), then a, b, c
      const early = startsAfter(events, "g", restarts[1].seq)
      yield* advance("30 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      // whatever the order, a's second crash must restart b and c and a must run again
      assert.deepStrictEqual(
        states(yield* supervisor.list),
        ["g:Running", "g/x:Running", "g/a:Running", "g/b:Running", "g/c:Running"],
        ofTag(events, "GroupRestarting").map((e) => `${e.child}@${e.at}`).join(", ")
      )
      assert.deepStrictEqual(early, [], `started before x: ${early.join(", ")}`)
      assert.deepStrictEqual(startsAfter(events, "g", restarts[1].seq).slice(0, 4), ["x", "a", "b", "c"])
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("restForOne: a child held for a queued restart is not started out of turn with a closed gate: its next crash restarts it", () =>
    Effect.gen(function*() {
      // as above, but a's second crash comes 15 s into its run (at 18 s), after x (11.5 s), b and c started again
      const { events, handle, supervisor } = yield* queuedBehindSlowRestart("15 seconds")
      yield* advance("15 seconds")
      assert.deepStrictEqual(
        states(yield* supervisor.list),
        ["g:Running", "g/x:Running", "g/a:Running", "g/b:Running", "g/c:Running"]
      )
      yield* advance("60 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      const timeline = ofTag(events, "GroupRestarting").map((e) => `${e.child}@${e.at}`).join(", ")
      assert.deepStrictEqual(
        states(yield* supervisor.list),
        ["g:Running", "g/x:Running", "g/a:Running", "g/b:Running", "g/c:Running"],
        `restarts: ${timeline}; a attempts: ${ofTag(events, "AttemptStarting", "g/a").map((e) => e.at).join(", ")}`
      )
      assert.strictEqual(ofTag(events, "GroupRestarting").length, 3, timeline)
      yield* shutdownAdvancing(supervisor, "10 seconds")
    }))

  it.scoped("restForOne (fast-check's case): an always child ends as an earlier one crashes, a temporary sibling slow to stop", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* recordingSupervisor({ grace: "3 seconds" })
      const runs = yield* Ref.make(0)
      // e fails at 500 ms, then succeeds 500 ms into each later run; p (always) succeeds every 500 ms;
      // t (temporary) takes 1.5 s to stop
      const e = TaskSpec.make(
        "e",
        Effect.flatMap(
          Ref.updateAndGet(runs, (n) => n + 1),
          (run) => run === 1 ? Effect.zipRight(Effect.sleep(500), Effect.fail("e crashed")) : neverEnding
        )
      ).pipe(TaskSpec.withBackoff(BackoffPolicy.constant(100)))
      const p = TaskSpec.make("p", Effect.sleep(500)).pipe(TaskSpec.withRestart(RestartPolicy.always()))
      const t = TaskSpec.make("t", slowToStop(1500)).pipe(TaskSpec.withRestart(RestartPolicy.never))
      yield* supervisor.add(
        TaskSpec.group("g", [e, p, t], { strategy: "restForOne" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("10 seconds")
      const restarts = ofTag(events, "GroupRestarting").map((r) => `${r.child}:${r.children.join(",")}@${r.at}`)
      // p restarts every 500 ms from 2 s on: it must keep running
      assert.deepStrictEqual(
        states(yield* supervisor.list).map((s) => s.replace("BackingOff", "Running")),
        ["g:Running", "g/e:Running", "g/p:Running"],
        `restarts: ${restarts.join(", ")}; p attempts at ${ofTag(events, "AttemptStarting", "g/p").map((x) => x.at)}`
      )
      const second = ofTag(events, "GroupRestarting")[1]
      assert.deepStrictEqual(startsAfter(events, "g", second.seq).slice(0, 2).map((x) => x.split("@")[0]), ["e", "p"])
    }))
})

/**
 * A restForOne group of a, b, the `middle` children, c and d: c crashes at 1 s, and its restart stops d (1 s .. 6 s);
 * a crashes at 2 s, and its restart, queued behind c's, covers every child, its stop of b taking 5 s (6 s .. 11 s).
 */
const queuedRestarts = (middle: ReadonlyArray<TaskSpec.TaskSpec<never, never>>) =>
  Effect.gen(function*() {
    const { events, supervisor } = yield* recordingSupervisor({ grace: "10 seconds" })
    const a = yield* crashesOnRuns("a", ["2 seconds"])
    const c = yield* crashesOnRuns("c", ["1 second"])
    const handle = yield* supervisor.add(
      TaskSpec.group("g", [
        a,
        TaskSpec.make("b", slowToStop("5 seconds")),
        ...middle,
        c,
        TaskSpec.make("d", slowToStop("5 seconds"))
      ], { strategy: "restForOne" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
    )
    return { events, handle, supervisor }
  })

describe("a restart's stops do not start the children an earlier restart still holds", () => {
  it.scoped("restForOne: a temporary child stopped by a queued restart does not open an earlier restart's held child out of turn", () =>
    Effect.gen(function*() {
      // a's restart also covers t (temporary: stopped for good)
      const { events, handle, supervisor } = yield* queuedRestarts([
        TaskSpec.make("t", neverEnding).pipe(TaskSpec.withRestart(RestartPolicy.never))
      ])
      yield* advance("20 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      const restarts = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(restarts.map((e) => e.child), ["g/c", "g/a"])
      assert.deepStrictEqual(restarts[1].children, ["g/a", "g/b", "g/c", "g/d"])
      // README: the restarted children start again in start order, once the restart has stopped them all
      const starts = startsAfter(events, "g", restarts[1].seq, true)
      assert.deepStrictEqual(starts.map((s) => s.split("@")[0]), ["a", "b", "c", "d"], starts.join(", "))
      assert.deepStrictEqual(
        states(yield* supervisor.list),
        ["g:Running", "g/a:Running", "g/b:Running", "g/c:Running", "g/d:Running"]
      )
      yield* shutdownAdvancing(supervisor, "20 seconds")
    }))

  it.scoped("restForOne: a child paused during a queued restart does not open an earlier restart's held child out of turn", () =>
    Effect.gen(function*() {
      // a's restart is still stopping b (6 s .. 11 s) when the operator pauses a, held at its gate
      const { events, handle, supervisor } = yield* queuedRestarts([])
      yield* advance("7 seconds")
      assert.isTrue(yield* supervisor.pause("g/a"))
      yield* advance("8 seconds")
      assert.isTrue(yield* supervisor.resume("g/a"))
      yield* advance("5 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      const restarts = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual(restarts.map((e) => e.child), ["g/c", "g/a"])
      // a, paused, goes when resumed; the others start in start order once the restart has stopped them all
      const starts = startsAfter(events, "g", restarts[1].seq, true)
      assert.deepStrictEqual(starts, ["b@11000", "c@11000", "d@11000", "a@15000"], starts.join(", "))
      yield* shutdownAdvancing(supervisor, "20 seconds")
    }))
})
