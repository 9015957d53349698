/**
 * Groups: supervision trees with OTP's strategies, checked against the
 * semantics of OTP's `supervisor` (the order of stops and starts read from
 * the events), escalation, intensity, `autoShutdown`, paths and stops.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import { TaskFatal } from "../src/TaskError.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { outcomeNow, trackedSupervisor } from "./utils/controller.js"
import { assertSeq, assertTaskOrder, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { supervisorWith } from "./utils/recorder.js"
import { crashingChild, neverEnding, perRun } from "./utils/tasks.js"

const child = crashingChild

const fatal = (reason: string) => new TaskFatal({ reason })

const three = (failing: string) =>
  Effect.all(["a", "b", "c"].map((name) => child(name, name === failing ? "5 seconds" : undefined)))

/** The attempt starts and ends of the group's children, in order, as `start a` / `stop a`. */
const moves = (events: ReadonlyArray<SupervisorEvent>, group: string) =>
  events.flatMap((e) => {
    if (!("group" in e) || e.group !== group) return []
    const name = e.task.slice(group.length + 1)
    switch (e._tag) {
      case "AttemptStarting":
        return [`start ${name}`]
      case "AttemptCanceled":
      case "AttemptFailed":
        return [`stop ${name}`]
      default:
        return []
    }
  })

describe("groups", () => {
  it.scoped("start their children in order, list them by path, and name the group in every child event", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.group("g", yield* three("none")))
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [
        ["g", "Running"],
        ["g/a", "Running"],
        ["g/b", "Running"],
        ["g/c", "Running"]
      ])
      assert.deepStrictEqual(moves(events, "g"), ["start a", "start b", "start c"])
      for (const e of events) {
        if ("task" in e && e.task.startsWith("g/")) assert.strictEqual(e.group, "g", `${e._tag} of ${e.task}`)
      }
      assert.isTrue(yield* supervisor.isAlive("g/b"))
    }))

  it.scoped("oneForOne: only the child that failed restarts, by its own backoff", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.group("g", yield* three("b"), { strategy: "oneForOne" }))
      yield* advance("7 seconds")
      assert.deepStrictEqual(moves(events, "g"), ["start a", "start b", "start c", "stop b", "start b"])
      const [restarting] = ofTag(events, "GroupRestarting")
      assert.deepStrictEqual([restarting.strategy, restarting.child, restarting.children], [
        "OneForOne",
        "g/b",
        ["g/b"]
      ])
      assert.strictEqual(restarting.reason, "b crashed")
    }))

  it.scoped("oneForAll: the others stop in reverse start order, then all start again in start order", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.group("g", yield* three("b"), { strategy: "oneForAll" }))
      yield* advance("7 seconds")
      assert.deepStrictEqual(moves(events, "g"), [
        "start a",
        "start b",
        "start c",
        "stop b",
        "stop c",
        "stop a",
        "start a",
        "start b",
        "start c"
      ])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting")[0].children, ["g/a", "g/b", "g/c"])
      // a and c were restarted by the group, not stopped: same tasks, attempt 2
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.attempt]), [
        ["g", 1],
        ["g/a", 2],
        ["g/b", 2],
        ["g/c", 2]
      ])
      // b's restart waited for its backoff, and c for b
      const starts = ofTag(events, "AttemptStarting").filter((e) => e.attempt === 2)
      assert.deepStrictEqual(starts.map((e) => [e.task, e.at]), [["g/a", 5000], ["g/b", 6000], ["g/c", 6000]])
    }))

  it.scoped("restForOne: the children started after it stop in reverse order and restart after it; the ones before keep running", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const children = yield* Effect.all(
        ["a", "b", "c", "d"].map((name) => child(name, name === "b" ? "5 seconds" : undefined))
      )
      yield* supervisor.add(TaskSpec.group("g", children, { strategy: "restForOne" }))
      yield* advance("7 seconds")
      assert.deepStrictEqual(moves(events, "g"), [
        "start a",
        "start b",
        "start c",
        "start d",
        "stop b",
        "stop d",
        "stop c",
        "start b",
        "start c",
        "start d"
      ])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting")[0].children, ["g/b", "g/c", "g/d"])
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.attempt), [1, 1, 2, 2, 2])
    }))

  it.scoped("a child that gives up ends the group's attempt Failed with its reason, after stopping the others in reverse order", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("a", neverEnding),
          // a transient child whose failure is fatal gives up (a temporary one would simply be gone)
          TaskSpec.make("b", Effect.zipRight(Effect.sleep("1 second"), Effect.fail(fatal("disk full")))),
          TaskSpec.make("c", neverEnding)
        ]).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("2 seconds")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.strictEqual(TaskOutcome.reason(outcome!), "child 'g/b' gave up: disk full")
      const finished = ofTag(events, "TaskFinished").map((e) => e.task)
      assert.deepStrictEqual(finished, ["g/b", "g/c", "g/a", "g"])
      assert.deepStrictEqual(yield* supervisor.list, [])
      assertSeq(events)
      for (const name of ["g", "g/a", "g/b", "g/c"]) assertTaskOrder(events, name)
    }))

  it.scoped("nested groups escalate two levels, each restarting by its own policy", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const leaf = TaskSpec.make("leaf", Effect.zipRight(Effect.sleep("1 second"), Effect.fail(fatal("boom"))))
      // transient with no retry: it gives up at once (a temporary inner group's exit would not escalate)
      const inner = TaskSpec.group("inner", [leaf]).pipe(TaskSpec.withMaxRetries(0))
      const outer = TaskSpec.group("outer", [inner, TaskSpec.make("sibling", neverEnding)]).pipe(
        TaskSpec.withRestart(RestartPolicy.never)
      )
      const handle = yield* supervisor.add(outer)
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), [
        "outer",
        "outer/inner",
        "outer/inner/leaf",
        "outer/sibling"
      ])
      yield* advance("1 second")
      const outcome = yield* outcomeNow(handle)
      assert.strictEqual(
        TaskOutcome.reason(outcome!),
        "child 'outer/inner' gave up: retry limit reached after 0 of 0 retries: child 'outer/inner/leaf' gave up: boom"
      )
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => [e.task, e.outcome._tag]), [
        ["outer/inner/leaf", "Fatal"],
        ["outer/inner", "Failed"],
        ["outer/sibling", "Canceled"],
        ["outer", "Failed"]
      ])
    }))

  it.scoped("a restarting group starts its children afresh", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const flaky = TaskSpec.make("flaky", Effect.zipRight(Effect.sleep("1 second"), Effect.fail(fatal("boom"))))
      yield* supervisor.add(
        TaskSpec.group("g", [TaskSpec.make("steady", neverEnding), flaky]).pipe(
          TaskSpec.withBackoff(BackoffPolicy.constant("10 seconds"))
        )
      )
      yield* advance("12 seconds")
      // the group's first attempt failed at 1 s, its second started at 11 s with new children
      const steady = ofTag(events, "TaskAdded").filter((e) => e.task === "g/steady")
      assert.strictEqual(steady.length, 2)
      assert.notStrictEqual(steady[0].id, steady[1].id)
      assert.deepStrictEqual(ofTag(events, "AttemptStarting").filter((e) => e.task === "g").map((e) => e.at), [
        0,
        11_000
      ])
    }))

  it.scoped("more child restarts than the group's intensity allows end its attempt", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group(
          "g",
          [
            TaskSpec.restartable("crashy", Effect.zipRight(Effect.sleep("1 second"), Effect.fail("boom"))).pipe(
              TaskSpec.withBackoff(BackoffPolicy.constant(0))
            )
          ],
          { intensity: { maxRestarts: 3, within: "10 seconds" } }
        ).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("10 seconds")
      assert.strictEqual(TaskOutcome.reason((yield* outcomeNow(handle))!), "4 restarts within 10s of its children")
      const [exceeded] = ofTag(events, "IntensityExceeded")
      assert.deepStrictEqual([exceeded.task, exceeded.restarts, exceeded.action], ["g", 4, "Fail"])
      assert.strictEqual(exceeded.at, 4000)
    }))

  it.scoped("autoShutdown anySignificant: the group's attempt succeeds when a significant child ends by itself", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group("pipeline", [
          TaskSpec.make("tail", neverEnding),
          TaskSpec.once("load", Effect.sleep("3 seconds")).pipe(TaskSpec.significant)
        ], { autoShutdown: "anySignificant" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("3 seconds")
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Completed")
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => [e.task, e.outcome._tag]), [
        ["pipeline/load", "Completed"],
        ["pipeline/tail", "Canceled"],
        ["pipeline", "Completed"]
      ])
    }))

  it.scoped("a temporary child that fails is gone: its exit never escalates, its siblings keep running (OTP)", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("keeper", neverEnding).pipe(TaskSpec.withRestart(RestartPolicy.always())),
          TaskSpec.make("temp", Effect.zipRight(Effect.sleep("1 second"), Effect.fail("temp crashed"))).pipe(
            TaskSpec.withRestart(RestartPolicy.never)
          )
        ], { strategy: "oneForOne" })
      )
      yield* advance("10 seconds")
      assert.isUndefined(yield* outcomeNow(handle))
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => [e.task, e.outcome._tag]), [["g/temp", "Failed"]])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting"), [])
      assert.deepStrictEqual(moves(events, "g"), ["start keeper", "start temp", "stop temp"])
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state, t.attempt]), [
        ["g", "Running", 1],
        ["g/keeper", "Running", 1]
      ])
    }))

  it.scoped("a significant temporary child that crashes under anySignificant shuts the group down, not fails it", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const handle = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("tail", neverEnding),
          TaskSpec.make("job", Effect.zipRight(Effect.sleep("1 second"), Effect.fail("job crashed"))).pipe(
            TaskSpec.withRestart(RestartPolicy.never),
            TaskSpec.significant
          )
        ], { autoShutdown: "anySignificant" }).pipe(TaskSpec.withRestart(RestartPolicy.never))
      )
      yield* advance("1 second")
      assert.strictEqual((yield* outcomeNow(handle))?._tag, "Completed")
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => [e.task, e.outcome._tag]), [
        ["g/job", "Failed"],
        ["g/tail", "Canceled"],
        ["g", "Completed"]
      ])
    }))

  it.scoped("autoShutdown allSignificant waits for every significant child; never keeps running", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const job = (name: string, seconds: number) =>
        TaskSpec.once(name, Effect.sleep(`${seconds} seconds`)).pipe(TaskSpec.significant)
      const all = yield* supervisor.add(
        TaskSpec.group("all", [job("one", 1), job("two", 2)], { autoShutdown: "allSignificant" }).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      const never = yield* supervisor.add(
        TaskSpec.group("never", [job("one", 1)], { autoShutdown: "never" }).pipe(
          TaskSpec.withRestart(RestartPolicy.never)
        )
      )
      yield* advance("1 second")
      assert.isUndefined(yield* outcomeNow(all))
      yield* advance("1 second")
      assert.strictEqual((yield* outcomeNow(all))?._tag, "Completed")
      assert.isUndefined(yield* outcomeNow(never))
    }))

  it.scoped("cancel of a group stops its children in reverse start order first; shutdown leaves no fiber", () =>
    Effect.gen(function*() {
      const { events, live, supervisor } = yield* trackedSupervisor({ grace: "5 seconds" })
      const handle = yield* supervisor.add(TaskSpec.group("g", yield* three("none")))
      yield* settle
      const canceling = yield* Effect.fork(supervisor.cancel(handle.id))
      yield* settle
      assert.isTrue(yield* Fiber.join(canceling))
      assert.deepStrictEqual(ofTag(events, "TaskFinished").map((e) => e.task), ["g/c", "g/b", "g/a", "g"])
      yield* supervisor.add(TaskSpec.group("h", [TaskSpec.make("x", neverEnding), TaskSpec.make("y", neverEnding)]))
      yield* settle
      yield* supervisor.shutdown
      yield* settle
      assert.deepStrictEqual(ofTag(events, "TaskFinished").slice(4).map((e) => e.task), ["h/y", "h/x", "h"])
      assert.strictEqual(yield* live, 0)
    }))

  it.scoped("a child removed by name ends without a restart; the group keeps the others", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.group("g", yield* three("none"), { strategy: "oneForAll" }))
      yield* settle
      assert.isTrue(yield* supervisor.remove("g/b"))
      yield* advance("1 second")
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), ["g", "g/a", "g/c"])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting"), [])
    }))

  it.scoped("a group reserves its children's paths: a task named like one is refused, even between attempts", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      const { task } = yield* perRun((run) => run === 1 ? Effect.fail(fatal("boom")) : neverEnding)
      // the group's first attempt gives up at once (its child fails fatally); it tries again after 10 s
      const group = yield* supervisor.add(
        TaskSpec.group("g", [
          TaskSpec.make("a", task),
          TaskSpec.group("inner", [TaskSpec.make("x", neverEnding)])
        ]).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("10 seconds")))
      )
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [["g", "BackingOff"]])
      for (const name of ["g/a", "g/inner", "g/inner/x"]) {
        const refused = yield* Effect.flip(supervisor.add(TaskSpec.make(name, neverEnding)))
        assert.strictEqual(refused._tag, "TaskAlreadyExists")
        assert.strictEqual(
          refused.message,
          `task name '${name}' cannot be used: it is reserved for a child of group 'g'`
        )
      }
      yield* settle
      assert.deepStrictEqual(
        ofTag(events, "TaskAddFailed").map((e) => [e.task, e.reason]),
        ["g/a", "g/inner", "g/inner/x"].map((name) => [name, "it is reserved for a child of group 'g'"])
      )
      yield* advance("10 seconds")
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), ["g", "g/a", "g/inner", "g/inner/x"])
      assert.isUndefined(yield* outcomeNow(group))
      // once the group is gone, the paths are free again
      yield* supervisor.cancel("g")
      yield* supervisor.add(TaskSpec.make("g/a", neverEnding))
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), ["g/a"])
    }))

  it.scoped("a group whose child's path a registered task uses is refused at add; that task runs on undisturbed", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith()
      yield* supervisor.add(TaskSpec.make("g/b", neverEnding))
      const group = TaskSpec.group("g", [TaskSpec.make("a", neverEnding), TaskSpec.make("b", neverEnding)])
      const refused = yield* Effect.flip(supervisor.add(group))
      assert.strictEqual(refused._tag, "TaskAlreadyExists")
      assert.strictEqual(
        refused.message,
        "task name 'g' cannot be used: the path of its child 'g/b' is taken by a registered task"
      )
      const batch = yield* Effect.flip(supervisor.run([TaskSpec.make("other", neverEnding), group]))
      assert.strictEqual(batch._tag, "TaskAlreadyExists")
      yield* advance("1 minute")
      assert.deepStrictEqual((yield* supervisor.list).map((t) => [t.name, t.state]), [["g/b", "Running"]])
      assert.deepStrictEqual(ofTag(events, "GroupRestarting"), [])
      assert.deepStrictEqual(ofTag(events, "TaskFinished"), [])
    }))

  it.scoped("one batch cannot hold a group and a task named like its child", () =>
    Effect.gen(function*() {
      const group = TaskSpec.group("g", [TaskSpec.make("a", neverEnding)])
      for (const batch of [[group, TaskSpec.make("g/a", neverEnding)], [TaskSpec.make("g/a", neverEnding), group]]) {
        // `run` is single-shot: a supervisor per batch
        const { supervisor } = yield* supervisorWith()
        const refused = yield* Effect.flip(supervisor.run(batch))
        assert.strictEqual(refused._tag, "TaskAlreadyExists")
        assert.deepStrictEqual(yield* supervisor.list, [])
      }
    }))

  it.scoped("names of children are unique within their group, and children are specs: a ConfigError at admission", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const twice = TaskSpec.group("g", [TaskSpec.make("x", Effect.void), TaskSpec.make("x", Effect.void)])
      const twiceError = yield* Effect.flip(supervisor.add(twice))
      assert.strictEqual(twiceError._tag, "ConfigError")
      assert.strictEqual(
        twiceError.message,
        "invalid children of task 'g': names must be unique within their group: 'x' is used twice"
      )
      const notSpecs = TaskSpec.group("h", [Effect.void as unknown as TaskSpec.TaskSpec<never, never>])
      const notSpecsError = yield* Effect.flip(supervisor.add(notSpecs))
      assert.strictEqual(notSpecsError.message, "invalid children of task 'h': must be task specs")
      // a null child too; the group can be printed before it is refused
      const nullChild = TaskSpec.group("n", [null as unknown as TaskSpec.TaskSpec<never, never>])
      assert.deepStrictEqual(JSON.parse(JSON.stringify(nullChild)).children, [null])
      assert.include(String(nullChild), "\"children\"")
      assert.strictEqual(
        (yield* Effect.flip(supervisor.add(nullChild))).message,
        "invalid children of task 'n': must be task specs"
      )
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))

  it.scoped("a path used twice in a group's tree refuses the group at admission", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const error = yield* Effect.flip(
        supervisor.add(TaskSpec.group("g", [
          TaskSpec.make("a/b", neverEnding),
          TaskSpec.group("a", [TaskSpec.make("b", neverEnding)])
        ]))
      )
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(
        error.message,
        "invalid children of task 'g': the path 'g/a/b' is used twice in the group's tree"
      )
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))

  it.scoped("a child with an invalid setting refuses the group at admission, naming the child's path", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorWith()
      const error = yield* Effect.flip(
        supervisor.add(TaskSpec.group("g", [TaskSpec.make("x", neverEnding).pipe(TaskSpec.withTimeout(-1))]))
      )
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "task 'g/x'")
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))

  it.scoped("the supervisor's default timeout bounds the children's attempts, not the group's; its own timeout does", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorWith({
        defaults: { timeout: "2 seconds", retry: BackoffPolicy.constant("1 second") }
      })
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.restartable("c", neverEnding)]))
      yield* supervisor.add(
        TaskSpec.group("h", [TaskSpec.make("d", neverEnding).pipe(TaskSpec.withTimeout(null))]).pipe(
          TaskSpec.withTimeout("5 seconds")
        )
      )
      yield* advance("6 seconds")
      const timedOut = ofTag(events, "AttemptTimedOut").map((e) => `${e.task}@${e.attempt}`)
      assert.deepStrictEqual(timedOut, ["g/c@1", "g/c@2", "h@1"])
    }))

  it.effect("a group's effect outside a supervisor dies with a message", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(TaskSpec.group("g", []).effect)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "", "group 'g' runs only as a supervised task")
    }))
})
