/**
 * Fault injection (`effect-taskvisor/testing`): a plan makes chosen attempts
 * of named tasks fail, die, hang, start late or stop slowly, and each goes
 * through the task's timeout, retries, events and outcome as a real failure
 * would; probabilities are drawn from the plan's seed; other tasks, and a
 * supervisor built without the layer, are untouched; a bad plan fails the
 * layer as it is built, naming the field.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import { SupervisorRegistry } from "../src/internal/supervisor/taskSupervisor.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type * as SupervisorError from "../src/SupervisorError.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import * as Testing from "../src/testing.js"
import { Fault, FaultInjection, type FaultPlan, faults, InjectedFault, isInjectedFault } from "../src/testing.js"
import { narrow, settledOutcome } from "./utils/controller.js"
import { expectTaskEvents, ms, ofTag, ofTask, settleUntilRemoved } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { recording } from "./utils/recorder.js"
import { counting, neverEnding } from "./utils/tasks.js"

class Unreachable extends Data.TaggedError("Unreachable")<{ readonly message: string }> {}

const tenMillis = BackoffPolicy.constant("10 millis")

/** The supervisor layer over `plan` (none: built without fault injection) and a config, with a recording subscriber. */
const supervisorUnder = (plan: FaultPlan | undefined, config: SupervisorConfig.Input = {}) => {
  const recorder = recording()
  const base = TaskSupervisor.layer.pipe(Layer.provide(Subscriber.layer(recorder.subscriber)))
  const layer = plan === undefined ? base : base.pipe(Layer.provide(faults(plan)))
  return Effect.map(
    Layer.build(layer.pipe(Layer.provide(SupervisorConfig.layer(config)))),
    (context) => ({
      context,
      supervisor: Context.get(context, TaskSupervisor.TaskSupervisor),
      events: recorder.events
    })
  )
}

/** The number of each attempt of `task` that ended with `tag`. */
const attemptsEnded = (
  events: ReadonlyArray<SupervisorEvent>,
  tag: "AttemptFailed" | "AttemptSucceeded",
  task: string
) => ofTag(events, tag, task).map((e) => e.attempt)

describe("injected faults", () => {
  it.effect("the kit's layer takes a plan: its supervisor injects it, and its recorder sees the faults", () =>
    Effect.gen(function*() {
      const handle = yield* TaskSupervisor.add(
        TaskSpec.restartable("importer", Effect.void).pipe(TaskSpec.withBackoff(tenMillis))
      )
      assert.strictEqual((yield* Testing.awaitOutcome(handle))._tag, "Completed")
      yield* Testing.expectEvents([
        { _tag: "AttemptFailed", attempt: 1, reason: "InjectedFault: injected into attempt 1 of 'importer'" },
        { _tag: "AttemptFailed", attempt: 2 },
        { _tag: "AttemptSucceeded", attempt: 3 }
      ], { task: "importer", mode: "subsequence" })
    }).pipe(
      Effect.provide(
        Testing.layer({ faults: { rules: [{ task: "importer", attempts: [1, 2], fault: Fault.fail() }] } })
      )
    ))

  it.scoped("attempts 1 and 2 fail with InjectedFault, then the task's own effect runs and succeeds", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [{ task: "importer", attempts: [1, 2], fault: Fault.fail() }]
      })
      const { runs, task } = yield* counting(Effect.void)
      const handle = yield* supervisor.add(TaskSpec.restartable("importer", task).pipe(TaskSpec.withBackoff(tenMillis)))
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 0, "the first attempt failed without running the body")
      yield* advance("10 millis")
      yield* advance("10 millis")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* settleUntilRemoved(events, "importer")
      expectTaskEvents(events, "importer", [
        "AttemptStarting",
        "AttemptFailed",
        "BackoffScheduled",
        "AttemptStarting",
        "AttemptFailed",
        "BackoffScheduled",
        "AttemptStarting",
        "AttemptSucceeded"
      ])
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "importer").map((e) => e.reason), [
        "InjectedFault: injected into attempt 1 of 'importer'",
        "InjectedFault: injected into attempt 2 of 'importer'"
      ])
    }))

  it.scoped("the outcome's cause holds the InjectedFault, or the error the plan names", () =>
    Effect.gen(function*() {
      const named = new Unreachable({ message: "database unreachable" })
      const { supervisor } = yield* supervisorUnder({
        rules: [
          { task: "injected", fault: Fault.fail() },
          { task: "named", fault: Fault.fail(named) }
        ]
      })
      const injected = narrow(yield* (yield* supervisor.add(TaskSpec.once("injected", Effect.void))).await, "Failed")
      const error = Cause.squash(injected.cause)
      assert.isTrue(isInjectedFault(error))
      assert.deepStrictEqual(error, new InjectedFault({ task: "injected", attempt: 1 }))
      const failed = narrow(yield* (yield* supervisor.add(TaskSpec.once("named", Effect.void))).await, "Failed")
      assert.strictEqual(Cause.squash(failed.cause), named)
      assert.strictEqual(failed.reason, "Unreachable: database unreachable")
    }))

  it.scoped("die: the attempt panics with an InjectedFault (or the defect named), retried like any defect", () =>
    Effect.gen(function*() {
      const defect = new Error("segfault")
      const { events, supervisor } = yield* supervisorUnder({
        rules: [
          { task: "crashy", attempts: [1], fault: Fault.die() },
          { task: "crashy", attempts: [2], fault: Fault.die(defect) }
        ]
      })
      const { runs, task } = yield* counting(Effect.void)
      const handle = yield* supervisor.add(TaskSpec.restartable("crashy", task).pipe(TaskSpec.withBackoff(tenMillis)))
      yield* advance("10 millis")
      yield* advance("10 millis")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* settleUntilRemoved(events, "crashy")
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "crashy").map((e) => e.reason), [
        "task panicked: InjectedFault: injected into attempt 1 of 'crashy'",
        "task panicked: segfault"
      ])
      const once = narrow(
        yield* (yield* supervisor.add(TaskSpec.once("crashy", Effect.void))).await,
        "Failed"
      )
      assert.isTrue(isInjectedFault([...Cause.defects(once.cause)][0]))
    }))

  it.scoped("hang: the attempt never ends by itself, and the task's timeout ends it as it would a real hang", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [{ task: "stuck", attempts: [1], fault: Fault.hang }]
      })
      const { runs, task } = yield* counting(Effect.void)
      const handle = yield* supervisor.add(
        TaskSpec.restartable("stuck", task).pipe(TaskSpec.withTimeout("1 second"), TaskSpec.withBackoff(tenMillis))
      )
      yield* advance("999 millis")
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "stuck"), [])
      yield* advance("1 milli")
      const timedOut = ofTag(events, "AttemptTimedOut", "stuck")
      assert.deepStrictEqual(timedOut.map((e) => [e.attempt, ms(e.duration)]), [[1, 1000]])
      yield* advance("10 millis")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
      assert.strictEqual(yield* Ref.get(runs), 1)
    }))

  it.scoped("delay: the task's effect starts late, the wait counting against its timeout", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [
          { task: "slow", attempts: [1], fault: Fault.delay("2 seconds") },
          { task: "slow", attempts: [2], fault: Fault.delay("500 millis") }
        ]
      })
      const { runs, task } = yield* counting(Effect.void)
      const handle = yield* supervisor.add(
        TaskSpec.restartable("slow", task).pipe(TaskSpec.withTimeout("1 second"), TaskSpec.withBackoff(tenMillis))
      )
      yield* advance("1 second")
      assert.strictEqual(yield* Ref.get(runs), 0, "the first attempt timed out before its effect started")
      yield* advance("10 millis")
      yield* advance("499 millis")
      assert.strictEqual(yield* Ref.get(runs), 0)
      yield* advance("1 milli")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* settleUntilRemoved(events, "slow")
      assert.deepStrictEqual(ofTag(events, "AttemptSucceeded", "slow").map((e) => [e.attempt, ms(e.duration)]), [
        [2, 500]
      ])
    }))

  it.scoped("rules selecting the same attempt all apply, the first outermost: a delay then a failure fails late", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [
          { task: "late", fault: Fault.delay("300 millis") },
          { task: "late", fault: Fault.fail() }
        ]
      })
      const handle = yield* supervisor.add(TaskSpec.once("late", Effect.void))
      yield* advance("300 millis")
      narrow(yield* settledOutcome(handle), "Failed")
      yield* settleUntilRemoved(events, "late")
      assert.deepStrictEqual(ofTag(events, "AttemptFailed", "late").map((e) => ms(e.duration)), [300])
    }))
})

describe("ignoresInterruption", () => {
  it.scoped("a stop takes as long as the fault says, and the task ends Canceled", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder(
        { rules: [{ task: "stubborn", fault: Fault.ignoresInterruption("3 seconds") }] },
        { grace: "10 seconds" }
      )
      const handle = yield* supervisor.add(TaskSpec.restartable("stubborn", neverEnding))
      yield* settle
      assert.isTrue(yield* supervisor.remove(handle.id))
      yield* advance("2999 millis")
      assert.isTrue(yield* supervisor.isAlive("stubborn"), "still stopping")
      yield* advance("1 milli")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Canceled")
      yield* settleUntilRemoved(events, "stubborn")
      assert.deepStrictEqual(ofTag(events, "AttemptCanceled", "stubborn").map((e) => ms(e.duration)), [3000])
    }))

  it.scoped("past the grace, the stop ends the task ForceAborted", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorUnder(
        { rules: [{ task: "stubborn", fault: Fault.ignoresInterruption("5 seconds") }] },
        { grace: "1 second" }
      )
      const handle = yield* supervisor.add(TaskSpec.restartable("stubborn", neverEnding))
      yield* settle
      assert.isTrue(yield* supervisor.remove(handle.id))
      yield* advance("1 second")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "ForceAborted")
      // the abandoned attempt ends by itself
      yield* advance("4 seconds")
    }))

  it.scoped("the task's timeout waits for it too, then the attempt times out", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [{ task: "stubborn", attempts: [1], fault: Fault.ignoresInterruption("2 seconds") }]
      })
      const handle = yield* supervisor.add(
        TaskSpec.once("stubborn", neverEnding).pipe(TaskSpec.withTimeout("1 second"))
      )
      yield* advance("1 second")
      yield* advance("1999 millis")
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "stubborn"), [])
      yield* advance("1 milli")
      narrow(yield* settledOutcome(handle), "Failed")
      yield* settleUntilRemoved(events, "stubborn")
      assert.deepStrictEqual(ofTag(events, "AttemptTimedOut", "stubborn").map((e) => ms(e.duration)), [3000])
    }))
})

/** The attempts out of the first 20 of a task that a plan with a probability of 0.5 and `seed` fails. */
const failedUnder = (seed: number) =>
  Effect.scoped(Effect.gen(function*() {
    const { events, supervisor } = yield* supervisorUnder({
      seed,
      rules: [{ task: "flaky", attempts: { probability: 0.5 }, fault: Fault.fail() }]
    })
    yield* supervisor.add(
      TaskSpec.make("flaky", Effect.void, {
        restart: RestartPolicy.always({ interval: "1 second" }),
        backoff: BackoffPolicy.constant("1 second")
      })
    )
    for (let i = 0; i < 19; i++) yield* advance("1 second")
    assert.strictEqual(ofTag(events, "AttemptStarting", "flaky").length, 20)
    yield* supervisor.shutdown
    return attemptsEnded(events, "AttemptFailed", "flaky").filter((attempt) => attempt <= 20)
  }))

describe("probability", () => {
  it.effect("the attempts chosen are the same for a seed, run after run, and differ by seed", () =>
    Effect.gen(function*() {
      const first = yield* failedUnder(7)
      assert.isAbove(first.length, 0)
      assert.isBelow(first.length, 20)
      assert.deepStrictEqual(yield* failedUnder(7), first)
      assert.notDeepEqual(yield* failedUnder(8), first)
    }))

  it.scoped("probability 0 selects no attempt and 1 every attempt", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorUnder({
        rules: [
          { task: "never", attempts: { probability: 0 }, fault: Fault.fail() },
          { task: "always", attempts: { probability: 1 }, fault: Fault.fail() }
        ]
      })
      assert.strictEqual((yield* (yield* supervisor.add(TaskSpec.once("never", Effect.void))).await)._tag, "Completed")
      assert.strictEqual((yield* (yield* supervisor.add(TaskSpec.once("always", Effect.void))).await)._tag, "Failed")
    }))
})

describe("which attempts and tasks", () => {
  it.scoped("every, from, a predicate on the name; other tasks run as they are", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder({
        rules: [
          { task: "every-third", attempts: { every: 3 }, fault: Fault.fail() },
          { task: "from-fourth", attempts: { from: 4 }, fault: Fault.fail() },
          { task: (name) => name.startsWith("import-"), attempts: [1], fault: Fault.fail() }
        ]
      })
      const always = {
        restart: RestartPolicy.always({ interval: "1 second" }),
        backoff: BackoffPolicy.constant("1 second")
      }
      for (const name of ["every-third", "from-fourth", "import-eu", "export-eu"]) {
        yield* supervisor.add(TaskSpec.make(name, Effect.void, always))
      }
      for (let i = 0; i < 6; i++) yield* advance("1 second")
      yield* supervisor.shutdown
      assert.deepStrictEqual(attemptsEnded(events, "AttemptFailed", "every-third"), [3, 6])
      assert.deepStrictEqual(attemptsEnded(events, "AttemptFailed", "from-fourth"), [4, 5, 6, 7])
      assert.deepStrictEqual(attemptsEnded(events, "AttemptFailed", "import-eu"), [1])
      assert.deepStrictEqual(attemptsEnded(events, "AttemptFailed", "export-eu"), [])
      assert.deepStrictEqual(attemptsEnded(events, "AttemptSucceeded", "export-eu"), [1, 2, 3, 4, 5, 6, 7])
    }))

  it.scoped("a predicate that throws makes the attempt panic, naming the rule; the task's loop goes on", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervisorUnder({
        rules: [{
          task: () => {
            throw new Error("boom")
          },
          fault: Fault.fail()
        }]
      })
      const outcome = narrow(yield* (yield* supervisor.add(TaskSpec.once("any", Effect.void))).await, "Failed")
      assert.include(outcome.reason, "rules[0].task of the fault plan threw: boom")
    }))
})

describe("without the layer", () => {
  /** The events of a task that fails twice then succeeds, as `[tag, attempt, at]`, `at` from its first event's. */
  const run = (plan: FaultPlan | undefined) =>
    Effect.scoped(Effect.gen(function*() {
      const { events, supervisor } = yield* supervisorUnder(plan)
      const script = yield* Ref.make(0)
      const body = Effect.flatMap(
        Ref.updateAndGet(script, (n) => n + 1),
        (n) => n <= 2 ? Effect.fail(new Unreachable({ message: "down" })) : Effect.void
      )
      const handle = yield* supervisor.add(
        TaskSpec.restartable("worker", body).pipe(TaskSpec.withBackoff(tenMillis), TaskSpec.withTimeout("1 second"))
      )
      yield* advance("10 millis")
      yield* advance("10 millis")
      assert.strictEqual((yield* settledOutcome(handle))._tag, "Completed")
      yield* settleUntilRemoved(events, "worker")
      const own = ofTask(events, "worker")
      return own.map((e) => [e._tag, "attempt" in e ? e.attempt : undefined, e.at - own[0].at])
    }))

  it.effect("a task runs the same without it, with an empty plan, and with a plan for other tasks", () =>
    Effect.gen(function*() {
      const plain = yield* run(undefined)
      assert.strictEqual(plain.length, 12)
      assert.deepStrictEqual(yield* run({ rules: [] }), plain)
      assert.deepStrictEqual(yield* run({ seed: 3, rules: [{ task: "other", fault: Fault.hang }] }), plain)
    }))

  it.scoped("a supervisor built without it has no faults to ask: each attempt's effect is its own", () =>
    Effect.gen(function*() {
      const { context } = yield* supervisorUnder(undefined)
      assert.isFalse(Context.getOption(context, FaultInjection)._tag === "Some")
      const registry = Context.get(context, SupervisorRegistry)
      assert.isUndefined((registry as unknown as { readonly env: { readonly faults: unknown } }).env.faults)
    }))
})

describe("a bad plan", () => {
  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ["an attempt number below 1", { rules: [{ task: "t", attempts: [0], fault: Fault.fail() }] }, "rules[0].attempts"],
    ["no attempt listed", { rules: [{ task: "t", attempts: [], fault: Fault.fail() }] }, "rules[0].attempts"],
    [
      "an unknown attempt spec",
      { rules: [{ task: "t", attempts: { sometimes: true }, fault: Fault.hang }] },
      "rules[0].attempts"
    ],
    [
      "two attempt specs at once",
      { rules: [{ task: "t", attempts: { from: 2, every: 2 }, fault: Fault.hang }] },
      "rules[0].attempts"
    ],
    ["every 0", { rules: [{ task: "t", attempts: { every: 0 }, fault: Fault.hang }] }, "rules[0].attempts.every"],
    ["from 1.5", { rules: [{ task: "t", attempts: { from: 1.5 }, fault: Fault.hang }] }, "rules[0].attempts.from"],
    [
      "a probability above 1",
      { rules: [{ task: "t", attempts: { probability: 1.5 }, fault: Fault.hang }] },
      "rules[0].attempts.probability"
    ],
    [
      "a probability below 0",
      { rules: [{ task: "t", attempts: { probability: -0.1 }, fault: Fault.hang }] },
      "rules[0].attempts.probability"
    ],
    [
      "a NaN probability",
      { rules: [{ task: "t", attempts: { probability: NaN }, fault: Fault.hang }] },
      "rules[0].attempts.probability"
    ],
    ["a negative delay", { rules: [{ task: "t", fault: Fault.delay(-1) }] }, "rules[0].fault.duration"],
    [
      "a negative ignoresInterruption",
      { rules: [{ task: "t", fault: Fault.ignoresInterruption("-1 second") }] },
      "rules[0].fault.duration"
    ],
    ["an unknown fault", { rules: [{ task: "t", fault: { _tag: "Explode" } }] }, "rules[0].fault"],
    ["an empty task name", { rules: [{ task: "", fault: Fault.hang }] }, "rules[0].task"],
    [
      "a second rule that is bad",
      { rules: [{ task: "t", fault: Fault.hang }, { task: 3, fault: Fault.hang }] },
      "rules[1].task"
    ],
    ["a seed that is not a whole number", { seed: 0.5, rules: [] }, "seed"],
    ["no rules", { seed: 1 }, "rules"]
  ]

  for (const [what, plan, field] of bad) {
    it.effect(`${what}: the layer fails as it is built, with a ConfigError naming ${field}`, () =>
      Effect.gen(function*() {
        // making the layer checks nothing yet
        const layer = faults(plan as FaultPlan)
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
        assert.isTrue(Exit.isFailure(exit))
        const error = Cause.squash((exit as Exit.Failure<unknown, SupervisorError.ConfigError>).cause)
        assert.strictEqual((error as SupervisorError.ConfigError)._tag, "ConfigError")
        assert.strictEqual((error as SupervisorError.ConfigError).field, `${field} of the fault plan`)
      }))
  }

  it.effect("a supervisor layer over a bad plan fails to build, with the same error", () =>
    Effect.gen(function*() {
      const plan = { rules: [{ task: "t", attempts: { probability: 2 }, fault: Fault.fail() }] }
      const error = yield* Effect.flip(Effect.scoped(supervisorUnder(plan)))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(
        error.message,
        "invalid rules[0].attempts.probability of the fault plan: must be between 0 and 1, got 2"
      )
    }))
})
