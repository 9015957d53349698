import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { assertDuration } from "./utils/duration.js"

class Boom {
  readonly _tag = "Boom"
  constructor(readonly fatal: boolean) {}
}

const work = Effect.void
const failing: Effect.Effect<void, Boom> = Effect.fail(new Boom(false))

const assertInherits = (spec: TaskSpec.TaskSpec<any, any>, except: ReadonlyArray<keyof TaskSpec.TaskSpec> = []) => {
  for (const field of ["restart", "retry", "timeout", "maxRetries", "isFatal"] as const) {
    if (!except.includes(field)) assert.isUndefined(spec[field], `${field} should inherit (be undefined)`)
  }
}

describe("TaskSpec", () => {
  describe("constructors", () => {
    it("make inherits every setting", () => {
      const spec = TaskSpec.make("worker", work)
      assert.strictEqual(spec.name, "worker")
      assert.strictEqual(spec.effect, work)
      assertInherits(spec)
    })

    it("make takes explicit options; backoff becomes retry", () => {
      const backoff = BackoffPolicy.constant("1 second")
      const isFatal = (e: Boom) => e.fatal
      const spec = TaskSpec.make("worker", failing, {
        restart: RestartPolicy.never,
        backoff,
        timeout: "5 seconds",
        maxRetries: 3,
        isFatal
      })
      assert.strictEqual(spec.restart, RestartPolicy.never)
      assert.strictEqual(spec.retry, backoff)
      assert.strictEqual(spec.timeout, "5 seconds")
      assert.strictEqual(spec.maxRetries, 3)
      assert.isTrue(spec.isFatal!(new Boom(true)))
      assert.isFalse(spec.isFatal!(new Boom(false)))
    })

    it("make keeps explicit null timeout and maxRetries (distinct from inherit)", () => {
      const spec = TaskSpec.make("worker", work, { timeout: null, maxRetries: null })
      assert.isNull(spec.timeout)
      assert.isNull(spec.maxRetries)
      assert.isUndefined(spec.restart)
    })

    it("once → Never, everything else inherited", () => {
      const spec = TaskSpec.once("job", work)
      assert.strictEqual(spec.name, "job")
      assert.strictEqual(spec.restart?._tag, "Never")
      assertInherits(spec, ["restart"])
    })

    it("once overrides a restart given in options", () => {
      const spec = TaskSpec.once("job", work, { restart: RestartPolicy.always(), maxRetries: 2 })
      assert.strictEqual(spec.restart?._tag, "Never")
      assert.strictEqual(spec.maxRetries, 2)
    })

    it("restartable → OnFailure, everything else inherited", () => {
      const spec = TaskSpec.restartable("consumer", work)
      assert.strictEqual(spec.restart?._tag, "OnFailure")
      assertInherits(spec, ["restart"])
    })

    it("periodic(…, \"2 seconds\") → Always with that interval", () => {
      const spec = TaskSpec.periodic("tick", work, "2 seconds")
      const restart = spec.restart
      assert.strictEqual(restart?._tag, "Always")
      if (restart?._tag !== "Always") return
      assert.isDefined(restart.interval)
      assertDuration(restart.interval!, "2 seconds")
      assertInherits(spec, ["restart"])
    })

    it("periodic(…, 0) → Always with no interval", () => {
      const spec = TaskSpec.periodic("spin", work, 0)
      const restart = spec.restart
      assert.strictEqual(restart?._tag, "Always")
      if (restart?._tag === "Always") assert.isUndefined(restart.interval)
    })

    it("periodic passes its options through", () => {
      const spec = TaskSpec.periodic("tick", work, "1 minute", { timeout: "10 seconds", maxRetries: 1 })
      assert.strictEqual(spec.timeout, "10 seconds")
      assert.strictEqual(spec.maxRetries, 1)
      assert.strictEqual(spec.restart?._tag, "Always")
    })
  })

  describe("combinators (dual)", () => {
    const base = TaskSpec.make("worker", failing, { timeout: "1 second", maxRetries: 5 })

    it("withRestart, both ways", () => {
      const a = TaskSpec.withRestart(base, RestartPolicy.never)
      const b = base.pipe(TaskSpec.withRestart(RestartPolicy.never))
      assert.strictEqual(a.restart?._tag, "Never")
      assert.strictEqual(b.restart?._tag, "Never")
      assert.deepStrictEqual(a.toJSON(), b.toJSON())
      assert.isUndefined(base.restart, "the original spec is unchanged")
    })

    it("withBackoff, both ways", () => {
      const policy = BackoffPolicy.exponential("50 millis")
      const a = TaskSpec.withBackoff(base, policy)
      const b = base.pipe(TaskSpec.withBackoff(policy))
      assert.strictEqual(a.retry, policy)
      assert.strictEqual(b.retry, policy)
      assert.isUndefined(base.retry)
    })

    it("withSchedule, both ways", () => {
      const schedule = Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(3)))
      const a = TaskSpec.withSchedule(base, schedule)
      const b = base.pipe(TaskSpec.withSchedule(schedule))
      assert.strictEqual(a.retry, schedule)
      assert.strictEqual(b.retry, schedule)
    })

    it("withSchedule replaces a backoff and withBackoff replaces a schedule", () => {
      const policy = BackoffPolicy.constant("1 second")
      const schedule = Schedule.recurs(2)
      assert.strictEqual(base.pipe(TaskSpec.withBackoff(policy), TaskSpec.withSchedule(schedule)).retry, schedule)
      assert.strictEqual(base.pipe(TaskSpec.withSchedule(schedule), TaskSpec.withBackoff(policy)).retry, policy)
    })

    it("withTimeout, both ways, including null", () => {
      assert.strictEqual(TaskSpec.withTimeout(base, "3 seconds").timeout, "3 seconds")
      assert.strictEqual(base.pipe(TaskSpec.withTimeout("3 seconds")).timeout, "3 seconds")
      assert.isNull(TaskSpec.withTimeout(base, null).timeout)
      assert.isNull(base.pipe(TaskSpec.withTimeout(null)).timeout)
      assert.strictEqual(TaskSpec.withTimeout(base, 0).timeout, 0)
      assert.strictEqual(base.timeout, "1 second")
    })

    it("withMaxRetries, both ways, including null", () => {
      assert.strictEqual(TaskSpec.withMaxRetries(base, 2).maxRetries, 2)
      assert.strictEqual(base.pipe(TaskSpec.withMaxRetries(2)).maxRetries, 2)
      assert.isNull(TaskSpec.withMaxRetries(base, null).maxRetries)
      assert.isNull(base.pipe(TaskSpec.withMaxRetries(null)).maxRetries)
      assert.strictEqual(TaskSpec.withMaxRetries(base, 0).maxRetries, 0)
      assert.strictEqual(base.maxRetries, 5)
    })

    it("withFatal, both ways", () => {
      const a = TaskSpec.withFatal(base, (e) => e.fatal)
      const b = base.pipe(TaskSpec.withFatal((e: Boom) => e.fatal))
      for (const spec of [a, b]) {
        assert.isDefined(spec.isFatal)
        assert.isTrue(spec.isFatal!(new Boom(true)))
        assert.isFalse(spec.isFatal!(new Boom(false)))
      }
      assert.isUndefined(base.isFatal)
    })

    it("combinators keep every other field", () => {
      const policy = BackoffPolicy.constant("2 seconds")
      const isFatal = (e: Boom) => e.fatal
      const spec = TaskSpec.once("job", failing).pipe(
        TaskSpec.withBackoff(policy),
        TaskSpec.withTimeout("4 seconds"),
        TaskSpec.withMaxRetries(7),
        TaskSpec.withFatal(isFatal)
      )
      assert.strictEqual(spec.name, "job")
      assert.strictEqual(spec.effect, failing)
      assert.strictEqual(spec.restart?._tag, "Never")
      assert.strictEqual(spec.retry, policy)
      assert.strictEqual(spec.timeout, "4 seconds")
      assert.strictEqual(spec.maxRetries, 7)
      assert.strictEqual(spec.isFatal, isFatal)
      const restarted = TaskSpec.withRestart(spec, RestartPolicy.onFailure)
      assert.strictEqual(restarted.retry, policy)
      assert.strictEqual(restarted.timeout, "4 seconds")
      assert.strictEqual(restarted.maxRetries, 7)
      assert.strictEqual(restarted.isFatal, isFatal)
      assert.isTrue(TaskSpec.isTaskSpec(restarted))
    })
  })

  describe("guards and inspection", () => {
    it("isTaskSpec", () => {
      assert.isTrue(TaskSpec.isTaskSpec(TaskSpec.make("a", work)))
      assert.isTrue(TaskSpec.isTaskSpec(TaskSpec.periodic("a", work, "1 second").pipe(TaskSpec.withMaxRetries(1))))
      assert.isFalse(TaskSpec.isTaskSpec({ name: "a", effect: work }))
      assert.isFalse(TaskSpec.isTaskSpec(work))
      assert.isFalse(TaskSpec.isTaskSpec(null))
      assert.isFalse(TaskSpec.isTaskSpec("a"))
    })

    it("toJSON names the task and its settings", () => {
      const json = TaskSpec.once("nightly-report", work, { maxRetries: 2, timeout: null }).toJSON() as Record<
        string,
        unknown
      >
      assert.strictEqual(json._id, "TaskSpec")
      assert.strictEqual(json.name, "nightly-report")
      assert.strictEqual(json.restart, "Never")
      assert.strictEqual(json.maxRetries, 2)
      assert.isNull(json.timeout)
    })

    it("toString names the task", () => {
      const text = String(TaskSpec.restartable("queue-consumer", work))
      assert.include(text, "queue-consumer")
      assert.include(text, "TaskSpec")
    })
  })

  describe("CurrentTask", () => {
    it.effect("outside a task reads id 0, empty name, attempt 0", () =>
      Effect.gen(function*() {
        const current = yield* TaskSpec.CurrentTask
        assert.deepStrictEqual(current, { id: 0, name: "", attempt: 0 })
      }))

    it.effect("can be provided", () =>
      Effect.gen(function*() {
        const current = yield* TaskSpec.CurrentTask.pipe(
          Effect.provideService(TaskSpec.CurrentTask, { id: 3, name: "x", attempt: 2 })
        )
        assert.deepStrictEqual(current, { id: 3, name: "x", attempt: 2 })
      }))
  })
})
