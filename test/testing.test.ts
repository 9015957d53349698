/**
 * The test kit (`effect-taskvisor/testing`) tested on itself: each scripted step, the clock helpers and their bound,
 * `expectEvents` in its three modes and its diff, and a recorder that keeps every event in order, a burst that
 * overflows a subscriber included.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import { Bus } from "../src/internal/events/bus.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as Subscriber from "../src/Subscriber.js"
import type { ConfigError } from "../src/SupervisorError.js"
import * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import * as Testing from "../src/testing.js"

/** What an `expectEvents` that does not hold fails with (a `ConfigError` is a defect here). */
const mismatch = <R>(check: Effect.Effect<void, Testing.EventsMismatch | ConfigError, R>) =>
  Effect.flatMap(
    Effect.flip(check),
    (error) => error._tag === "EventsMismatch" ? Effect.succeed(error) : Effect.die(error)
  )

const second = BackoffPolicy.constant("1 second")

/** The lines of the task's events from its first attempt on, without seq (a compact picture of one run). */
const story = (task: string) =>
  Effect.map(
    Testing.eventsOf(task),
    (events) =>
      events.filter((e) => e._tag !== "TaskAddRequested" && e._tag !== "TaskAdded").map((e) =>
        Testing.formatEvent(e).replace(/^#\d+ /, "")
      )
  )

describe("scripted steps", () => {
  it.effect("attempt i runs step i, the last step repeats; fail, die, exitCode, takes and succeed", () =>
    Effect.gen(function*() {
      const body = Testing.attempts(
        Testing.fail("refused"),
        Testing.die("bug"),
        Testing.exitCode(3),
        Testing.takes("2 seconds", Testing.succeed())
      )
      const handle = yield* TaskSupervisor.add(TaskSpec.restartable("script", body).pipe(TaskSpec.withBackoff(second)))
      assert.strictEqual((yield* Testing.awaitOutcome(handle))._tag, "Completed")
      assert.deepStrictEqual(yield* story("script"), [
        "@0ms script AttemptStarting attempt=1",
        "@0ms script AttemptFailed attempt=1 duration=0 reason=\"refused\"",
        "@0ms script BackoffScheduled attempt=1 delay=1s source=\"Failure\" reason=\"refused\"",
        "@1000ms script AttemptStarting attempt=2",
        "@1000ms script AttemptFailed attempt=2 duration=0 reason=\"task panicked: bug\"",
        "@1000ms script BackoffScheduled attempt=2 delay=1s source=\"Failure\" reason=\"task panicked: bug\"",
        "@2000ms script AttemptStarting attempt=3",
        "@2000ms script AttemptFailed attempt=3 duration=0 reason=\"ScriptedExit: exited with code 3\" exitCode=3",
        "@2000ms script BackoffScheduled attempt=3 delay=1s source=\"Failure\" reason=\"ScriptedExit: exited with code 3\"",
        "@3000ms script AttemptStarting attempt=4",
        "@5000ms script AttemptSucceeded attempt=4 duration=2s",
        "@5000ms script TaskFinished outcome=Completed",
        "@5000ms script TaskRemoved"
      ])
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("succeed returns its value; outside a task the first step runs; the last step repeats", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Testing.attempts(Testing.succeed(42), Testing.fail("never")), 42)
      const handle = yield* TaskSupervisor.add(
        TaskSpec.make("repeating", Testing.attempts(Testing.succeed(), Testing.fail("again")), {
          restart: RestartPolicy.always({ interval: "1 second" }),
          backoff: second,
          maxRetries: 2
        })
      )
      const outcome = yield* Testing.awaitOutcome(handle)
      assert.strictEqual(TaskOutcome.reason(outcome), "retry limit reached after 2 of 2 retries: again")
      assert.deepStrictEqual(
        (yield* Testing.eventsOf("repeating")).filter((e) =>
          e._tag.startsWith("Attempt") && e._tag !== "AttemptStarting"
        )
          .map((e) => e._tag),
        ["AttemptSucceeded", "AttemptFailed", "AttemptFailed", "AttemptFailed"]
      )
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("failTimes(n, error) fails n attempts, then succeeds (or runs its `then`); exitCode reaches the outcome", () =>
    Effect.gen(function*() {
      const flaky = yield* TaskSupervisor.add(
        TaskSpec.restartable("flaky", Testing.failTimes(2, "503")).pipe(TaskSpec.withBackoff(second))
      )
      const broken = yield* TaskSupervisor.add(
        TaskSpec.restartable("broken", Testing.failTimes(1, "503", Testing.exitCode(7))).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withMaxRetries(1)
        )
      )
      assert.strictEqual((yield* Testing.awaitOutcome(flaky))._tag, "Completed")
      const outcome = yield* Testing.awaitOutcome(broken)
      assert.deepStrictEqual([outcome._tag, TaskOutcome.exitCode(outcome)], ["Failed", 7])
      const failure = yield* Effect.flip(Testing.exitCode(7))
      assert.isTrue(Testing.isTestingError(failure))
      assert.deepStrictEqual([failure._tag, failure.exitCode, failure.message], [
        "ScriptedExit",
        7,
        "exited with code 7"
      ])
      yield* Testing.expectEvents(["AttemptFailed", "AttemptFailed", "AttemptSucceeded"], {
        task: "flaky",
        mode: "subsequence"
      })
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("failTimes costs nothing per failure (Infinity: always), and a count that is no whole number dies saying so", () =>
    Effect.gen(function*() {
      const always = yield* TaskSupervisor.add(
        TaskSpec.restartable("always", Testing.failTimes(Infinity, "503")).pipe(
          TaskSpec.withBackoff(second),
          TaskSpec.withMaxRetries(3)
        )
      )
      assert.strictEqual((yield* Testing.awaitOutcome(always))._tag, "Failed")
      // built at once and small, however many failures it scripts
      const many = Testing.failTimes(1e9, "503")
      assert.strictEqual(yield* Effect.flip(many), "503")
      for (const n of [-1, Number.NaN, 1.5, "2" as unknown as number]) {
        const defect = yield* Effect.sandbox(Testing.failTimes(n, "503")).pipe(Effect.flip, Effect.map(Cause.pretty))
        assert.include(defect, `Testing.failTimes needs a whole number of failures (>= 0, or Infinity), got ${n}`)
      }
      const none = yield* Effect.sandbox(Testing.attempts(...([] as unknown as [Testing.Step]))).pipe(
        Effect.flip,
        Effect.map(Cause.pretty)
      )
      assert.include(none, "Testing.attempts needs at least one step")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("hang runs until stopped; ignoresInterruption(d) goes on for d after the stop and returns", () =>
    Effect.gen(function*() {
      const hanging = yield* TaskSupervisor.add(TaskSpec.once("hanging", Testing.hang))
      const stubborn = yield* TaskSupervisor.add(TaskSpec.once("stubborn", Testing.ignoresInterruption("3 seconds")))
      yield* Testing.settle
      assert.deepStrictEqual((yield* TaskSupervisor.list).map((t) => t.state), ["Running", "Running"])
      yield* TaskSupervisor.remove(hanging.id)
      yield* TaskSupervisor.remove(stubborn.id)
      assert.strictEqual((yield* Testing.awaitOutcome(hanging))._tag, "Canceled")
      assert.strictEqual((yield* Testing.awaitOutcome("stubborn"))._tag, "Canceled")
      const [canceled] = (yield* Testing.eventsOf("stubborn")).filter((e) => e._tag === "AttemptCanceled")
      assert.deepStrictEqual([canceled.at, (yield* Testing.eventsOf("hanging")).at(-1)?.at], [3000, 0])
    }).pipe(Effect.provide(Testing.layer({ grace: "1 minute" }))))

  it.effect("progress feeds the watchdog: `times` ticks, then the attempt stalls one period after the last", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(
        TaskSpec.restartable("worker", Testing.progress("1 second", { times: 3 })).pipe(
          TaskSpec.withWatchdog("5 seconds"),
          TaskSpec.withMaxRetries(0)
        )
      )
      const alive = yield* TaskSupervisor.add(
        TaskSpec.restartable("alive", Testing.progress("1 second")).pipe(TaskSpec.withWatchdog("2 seconds"))
      )
      yield* Testing.awaitOutcome("worker")
      yield* Testing.expectEvents([{ _tag: "AttemptStalled", sinceProgress: "5 seconds", duration: "8 seconds" }], {
        task: "worker",
        mode: "subsequence"
      })
      assert.strictEqual(yield* TaskSupervisor.isAlive(alive.name), true)
      yield* Testing.expectEvents(["TaskAddRequested", "TaskAdded", "AttemptStarting"], { task: "alive" })
    }).pipe(Effect.provide(Testing.layer())))
})

describe("the clock", () => {
  it.effect("advanceUntil jumps to each next wake-up, returns the events once the condition holds", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("late", Testing.takes("90 minutes", Testing.succeed())))
      const events = yield* Testing.advanceUntil((all) => all.some((e) => e._tag === "TaskFinished"), {
        limit: "2 hours"
      })
      assert.isTrue(events.some((e) => e._tag === "TaskFinished"))
      assert.strictEqual(yield* TestClock.currentTimeMillis, 90 * 60_000, "no further than needed")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("with a `step`, the clock moves by it: the condition is seen at the first step past the event", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("soon", Testing.takes("2500 millis", Testing.succeed())))
      yield* Testing.advanceUntil((all) => all.some((e) => e._tag === "AttemptSucceeded"), { step: "1 second" })
      assert.strictEqual(yield* TestClock.currentTimeMillis, 3000)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("past its limit, AdvanceTimeout names what was awaited and lists the events seen", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.restartable("flaky", Testing.fail("503")).pipe(TaskSpec.withBackoff(second)))
      const error = yield* Effect.flip(
        Testing.advanceUntil((all) => all.some((e) => e._tag === "TaskFinished"), {
          limit: "1500 millis",
          what: "the importer to give up"
        })
      )
      assert.isTrue(Testing.isTestingError(error))
      assert.strictEqual(error._tag, "AdvanceTimeout")
      assert.strictEqual(yield* TestClock.currentTimeMillis, 1500, "never past the limit")
      assert.strictEqual(
        error.message,
        [
          "the importer to give up did not happen after 1500 ms of TestClock time within its limit; events so far:",
          "  #1 @0ms flaky TaskAddRequested",
          "  #2 @0ms flaky TaskAdded",
          "  #3 @0ms flaky AttemptStarting attempt=1",
          "  #4 @0ms flaky AttemptFailed attempt=1 duration=0 reason=\"503\"",
          "  #5 @0ms flaky BackoffScheduled attempt=1 delay=1s source=\"Failure\" reason=\"503\"",
          "  #6 @1000ms flaky AttemptStarting attempt=2",
          "  #7 @1000ms flaky AttemptFailed attempt=2 duration=0 reason=\"503\"",
          "  #8 @1000ms flaky BackoffScheduled attempt=2 delay=1s source=\"Failure\" reason=\"503\""
        ].join("\n")
      )
    }).pipe(Effect.provide(Testing.layer())))

  it("a long AdvanceTimeout message lists the last 200 events and counts the earlier ones", () => {
    const seen = Array.from({ length: 250 }, (_, i) => `#${i + 1}`)
    const lines = new Testing.AdvanceTimeout({ what: "x", elapsed: 0, stopped: "Limit", seen }).message.split("\n")
    assert.deepStrictEqual([lines.length, lines[1], lines[2], lines.at(-1)], [
      202,
      "  (50 earlier events)",
      "  #51",
      "  #250"
    ])
  })

  it.effect("with nothing left to wake up, AdvanceTimeout says so at once; awaitOutcome of a name never added too", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("parked", Testing.hang))
      const idle = yield* Effect.flip(Testing.awaitOutcome("parked"))
      assert(idle._tag === "AdvanceTimeout")
      assert.deepStrictEqual([idle.stopped, idle.elapsed], ["Idle", 0])
      // with a step too: no fiber asleep, so nothing can happen however far the clock moves
      const stepped = yield* Effect.flip(Testing.advanceUntil(() => false, { step: "1 second", limit: "2 minutes" }))
      assert(stepped._tag === "AdvanceTimeout")
      assert.deepStrictEqual([stepped.stopped, stepped.elapsed], ["Idle", 0])
      assert.match(idle.message, /^the outcome of parked did not happen .* nothing is scheduled to wake up/)
      const never = yield* Effect.flip(Testing.awaitOutcome("ghost", { limit: "1 second" }))
      assert.strictEqual(never._tag, "AdvanceTimeout")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("a limit that is no finite duration, or a step not longer than zero, is a ConfigError naming it", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("ticking", Effect.forever(Effect.sleep("1 second"))))
      const refused = (options: Testing.AdvanceOptions) =>
        Effect.map(
          Effect.flip(Testing.advanceUntil(() => false, options)),
          (error) => error._tag === "ConfigError" ? `${error.field}: ${error.reason}` : error._tag
        )
      assert.deepStrictEqual([
        yield* refused({ step: 0 }),
        yield* refused({ step: -5 }),
        yield* refused({ step: Number.NaN }),
        yield* refused({ step: "x" as Duration.DurationInput }),
        yield* refused({ limit: -1 }),
        yield* refused({ limit: Infinity }),
        yield* refused({ limit: "abc" as Duration.DurationInput })
      ], [
        "step: must be longer than zero",
        "step: must not be negative, got -5",
        "step: must be a duration, got NaN",
        "step: must be a duration, got \"x\"",
        "limit: must not be negative, got -1",
        "limit: must be finite",
        "limit: must be a duration, got \"abc\""
      ])
      assert.strictEqual(yield* TestClock.currentTimeMillis, 0, "nothing moved")
      const outcome = yield* Effect.flip(Testing.awaitOutcome("ticking", { step: 0 }))
      assert.strictEqual(outcome._tag, "ConfigError")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("a condition that throws fails with ConditionFailed, carrying what it threw", () =>
    Effect.gen(function*() {
      const boom = new Error("no such field")
      const error = yield* Effect.flip(Testing.advanceUntil(() => {
        throw boom
      }, { what: "the import" }))
      assert.strictEqual(error._tag, "ConditionFailed")
      assert.isTrue(Testing.isTestingError(error))
      assert.strictEqual(error.message, "the condition for the import threw: no such field")
      assert.strictEqual((error as Testing.ConditionFailed).cause, boom)
    }).pipe(Effect.provide(Testing.layer())))
})

describe("expectEvents", () => {
  const twoTasks = Effect.gen(function*() {
    const flaky = yield* TaskSupervisor.add(
      TaskSpec.restartable("flaky", Testing.failTimes(1, "503")).pipe(TaskSpec.withBackoff(second))
    )
    yield* TaskSupervisor.add(TaskSpec.once("other", Testing.succeed()))
    yield* Testing.awaitOutcome(flaky)
    yield* Testing.awaitOutcome("other")
    return flaky
  })

  const flakyEvents: ReadonlyArray<Testing.Expected> = [
    "TaskAddRequested",
    "TaskAdded",
    "AttemptStarting",
    { _tag: "AttemptFailed", reason: "503", attempt: 1 },
    { _tag: "BackoffScheduled", delay: "1 second", source: "Failure" },
    "AttemptStarting",
    "AttemptSucceeded",
    "TaskFinished",
    "TaskRemoved"
  ]

  it.effect("exact, prefix and subsequence, of a task by name or by id, ignoring the other tasks", () =>
    Effect.gen(function*() {
      const flaky = yield* twoTasks
      yield* Testing.expectEvents(flakyEvents, { task: "flaky" })
      yield* Testing.expectEvents(flakyEvents, { task: flaky.id, mode: "exact" })
      yield* Testing.expectEvents(flakyEvents.slice(0, 4), { task: "flaky", mode: "prefix" })
      yield* Testing.expectEvents(["AttemptFailed", { _tag: "TaskFinished", outcome: { _tag: "Completed" } }], {
        task: "flaky",
        mode: "subsequence"
      })
      yield* Testing.expectEvents([{ _tag: "TaskAdded", task: "flaky" }, { _tag: "TaskAdded", task: "other" }], {
        mode: "subsequence"
      })
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("a mismatch fails with EventsMismatch, lining up expected and seen", () =>
    Effect.gen(function*() {
      yield* twoTasks
      const wrong = yield* Effect.flip(
        Testing.expectEvents(["TaskAddRequested", "TaskAdded", "AttemptStarting", "AttemptSucceeded"], {
          task: "flaky",
          mode: "prefix"
        })
      )
      assert.isTrue(Testing.isTestingError(wrong))
      assert.strictEqual(
        wrong.message,
        [
          "the events of flaky do not match (prefix), expected | seen:",
          "  = TaskAddRequested | #1 @0ms flaky TaskAddRequested",
          "  = TaskAdded        | #2 @0ms flaky TaskAdded",
          "  = AttemptStarting  | #3 @0ms flaky AttemptStarting attempt=1",
          "  ≠ AttemptSucceeded | #4 @0ms flaky AttemptFailed attempt=1 duration=0 reason=\"503\""
        ].join("\n")
      )
      const short = yield* mismatch(Testing.expectEvents(flakyEvents.slice(0, 8), { task: "flaky" }))
      assert.match(short.diff.at(-1)!, /^\+ +\| #\d+ @1000ms flaky TaskRemoved$/)
      const long = yield* mismatch(Testing.expectEvents([...flakyEvents, "TaskAdded"], { task: "flaky" }))
      assert.match(long.diff.at(-1)!, /^- TaskAdded +\| \(none\)$/)
      const field = yield* mismatch(
        Testing.expectEvents([{ _tag: "BackoffScheduled", delay: "2 seconds" }], { task: "flaky", mode: "subsequence" })
      )
      assert.deepStrictEqual(field.diff, [
        "- BackoffScheduled delay=\"2 seconds\" | (not found after the events above)"
      ])
      const order = yield* mismatch(
        Testing.expectEvents(["AttemptSucceeded", "AttemptFailed"], { task: "flaky", mode: "subsequence" })
      )
      assert.deepStrictEqual(order.diff.map((l) => l.slice(0, 1)), ["=", "-"])
    }).pipe(Effect.provide(Testing.layer())))
})

describe("expectEvents, given fields and bad input", () => {
  it.effect("a field given as an object that is not plain (an Error, a Date) is compared whole, not by its no fields", () =>
    Effect.gen(function*() {
      const cause = new Error("503")
      yield* TaskSupervisor.add(TaskSpec.once("t", Testing.fail(cause)))
      yield* Testing.awaitOutcome("t")
      const outcome = (cause: unknown) => [{ _tag: "TaskFinished", outcome: { _tag: "Failed", cause } } as never]
      const error = yield* mismatch(
        Testing.expectEvents(outcome(new Error("nope")), { task: "t", mode: "subsequence" })
      )
      assert.match(error.diff[0], /^- TaskFinished/)
      const dated = yield* mismatch(Testing.expectEvents(outcome(new Date(0)), { task: "t", mode: "subsequence" }))
      assert.match(dated.diff[0], /^- TaskFinished/)
      // an Equal value is compared as Equal does: the cause the task failed with
      yield* Testing.expectEvents(outcome(Cause.fail(cause)), { task: "t", mode: "subsequence" })
      for (const code of [0, -1, 256, 1.5, Number.NaN]) {
        const defect = yield* Effect.sandbox(Testing.exitCode(code)).pipe(Effect.flip, Effect.map(Cause.pretty))
        assert.include(defect, `Testing.exitCode needs an exit code from 1 to 255 (0 is success), got ${code}`)
      }
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("a field given as an array must be the whole array", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("a", Testing.ignoresInterruption("1 hour")))
      yield* TaskSupervisor.add(TaskSpec.once("b", Testing.ignoresInterruption("1 hour")))
      yield* Testing.settle
      yield* Effect.fork(TaskSupervisor.shutdown)
      yield* Testing.advanceUntil((events) => events.some((e) => e._tag === "GraceExceeded"))
      yield* Testing.expectEvents([{ _tag: "GraceExceeded", stuck: ["a", "b"] }], { mode: "subsequence" })
      for (const stuck of [[], ["a"], ["a", "b", "c"], ["b", "a"]]) {
        const error = yield* mismatch(Testing.expectEvents([{ _tag: "GraceExceeded", stuck }], { mode: "subsequence" }))
        assert.match(error.diff[0], /^- GraceExceeded stuck=/, JSON.stringify(stuck))
      }
    }).pipe(Effect.provide(Testing.layer({ grace: "1 second" }))))

  it.effect("a list that names no event kind, a mode or a task of the wrong kind is a ConfigError naming it", () =>
    Effect.gen(function*() {
      yield* TaskSupervisor.add(TaskSpec.once("job", Effect.void))
      const circular: Record<string, unknown> = {}
      circular.self = circular
      const refused = (expected: unknown, options?: unknown) =>
        Effect.map(
          Effect.flip(Testing.expectEvents(expected as Array<Testing.Expected>, options as Testing.ExpectOptions)),
          (error) => error._tag === "ConfigError" ? `${error.field}: ${error.reason}` : error._tag
        )
      assert.deepStrictEqual([
        yield* refused("TaskAdded"),
        yield* refused(["TaskAdded", "AttemptStarted"]),
        yield* refused([null]),
        yield* refused([{ attempt: 1 }]),
        yield* refused([{ _tag: "$is" }]),
        yield* refused(["TaskAdded"], { mode: "exactly" }),
        yield* refused(["TaskAdded"], { task: {} }),
        // a value that has no JSON is shown all the same, and only compared
        yield* refused([{ _tag: "TaskAdded", task: circular }, { _tag: "TaskAdded", id: 1n }], { mode: "prefix" })
      ], [
        "expected: must be an array of events",
        "expected[1]: must be an event kind, or an object with an event kind as _tag, got \"AttemptStarted\"",
        "expected[0]: must be an event kind, or an object with an event kind as _tag, got null",
        "expected[0]: must be an event kind, or an object with an event kind as _tag, got {\"attempt\":1}",
        "expected[0]: must be an event kind, or an object with an event kind as _tag, got \"$is\"",
        "mode: must be exact, prefix or subsequence, got \"exactly\"",
        "task: must be a task's name or id",
        "EventsMismatch"
      ])
    }).pipe(Effect.provide(Testing.layer())))
})

describe("the recorder", () => {
  it.effect("keeps every event in seq order, none dropped, through a burst that overflows a subscriber", () =>
    Effect.gen(function*() {
      const delivered: Array<number> = []
      const slow = Subscriber.make({
        name: "slow",
        capacity: 4,
        onEvent: (event) => Effect.sync(() => void delivered.push(event.seq))
      })
      const specs = Array.from({ length: 300 }, (_, i) => TaskSpec.once(`t${i}`, Testing.succeed()))
      yield* Effect.provide(
        Effect.gen(function*() {
          yield* TaskSupervisor.run(specs)
          const events = yield* Testing.events
          assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), "every seq, in order")
          assert.strictEqual(events.filter((e) => e._tag === "TaskFinished").length, 300)
          assert.isTrue(events.some((e) => e._tag === "SubscriberOverflow"), "the subscriber lost some")
          assert.isBelow(delivered.length, events.length)
          for (let i = 1; i < events.length; i++) assert.isAtLeast(events[i].at, events[i - 1].at)
        }),
        Testing.layer({ subscribers: [slow] })
      )
    }))

  it.effect("records from the first event, as it is published, before any subscriber has it", () =>
    Effect.gen(function*() {
      const delivered: Array<number> = []
      const subscriber = Subscriber.make({
        name: "late",
        onEvent: (event) => Effect.sync(() => void delivered.push(event.seq))
      })
      yield* Effect.provide(
        Effect.gen(function*() {
          yield* TaskSupervisor.add(TaskSpec.once("first", Testing.hang))
          // no yield since add: the admission is recorded already, and not delivered yet
          assert.deepStrictEqual(Testing.kinds(yield* Testing.events).slice(0, 2), ["TaskAddRequested", "TaskAdded"])
          assert.deepStrictEqual(delivered, [])
          yield* Testing.settle
          assert.deepStrictEqual(delivered, (yield* Testing.events).map((e) => e.seq))
        }),
        Testing.layer({ subscribers: [subscriber] })
      )
    }))

  it.effect("keeps the events of the shutdown that closing the layer's scope runs", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Testing.layer({ grace: "1 second" }), scope)
      yield* TaskSupervisor.add(TaskSpec.once("stuck", Testing.ignoresInterruption("1 hour"))).pipe(
        Effect.provide(context)
      )
      yield* Testing.settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Testing.settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      const kinds = Testing.kinds(yield* Context.get(context, Testing.Recorder).events)
      assert.includeMembers([...kinds], ["ShutdownRequested", "GraceExceeded", "TaskFinished"])
    }))

  it.effect("the bus's observe hook: each event in seq order as it is published, from then on, after the bus closed too", () =>
    Effect.gen(function*() {
      const bus = new Bus(yield* Effect.clock, yield* Effect.runtime<never>(), 16, false)
      bus.emit("ShutdownRequested", {})
      const seen: Array<string> = []
      bus.observe((event) => void seen.push(`${event.seq} ${event._tag}`))
      bus.emit("AllStoppedWithinGrace", {})
      yield* bus.close(Duration.seconds(1))
      bus.emit("ShutdownRequested", {})
      assert.deepStrictEqual(seen, ["2 AllStoppedWithinGrace", "3 ShutdownRequested"])
    }))
})
