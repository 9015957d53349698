import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as SupervisorError from "../src/SupervisorError.js"
import { assertDuration, assertDurationBetween } from "./utils/duration.js"
import { quantileRandom } from "./utils/random.js"

const SEEDS = Array.from({ length: 200 }, (_, i) => i)

/** `delayForRetry(policy, index)` for every seed in `SEEDS`. */
const delaysOverSeeds = (policy: BackoffPolicy.BackoffPolicy, index: number) =>
  Effect.forEach(SEEDS, (seed) =>
    BackoffPolicy.delayForRetry(policy, index).pipe(
      Effect.withRandom(Random.make(seed))
    ))

/** `delayForRetry` with a `Random` that draws the `r`-quantile of its range (0 and 1 pin the ends of a jitter range). */
const delayWithDraw = (policy: BackoffPolicy.BackoffPolicy, index: number, r: number) =>
  BackoffPolicy.delayForRetry(policy, index).pipe(Effect.withRandom(quantileRandom(r)))

const distinct = (durations: ReadonlyArray<Duration.Duration>) => new Set(durations.map(Duration.toMillis)).size

describe("BackoffPolicy", () => {
  describe("delayForRetry reference values (taskvisor §3.2)", () => {
    it.effect("exponential(100ms): 0 → 100ms, 1 → 200ms, 2 → 400ms, 20 → 30s", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis")
        assertDuration(policy.max, "30 seconds", "max")
        assert.strictEqual(policy.factor, 2)
        assert.strictEqual(policy.jitter, "none")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), "100 millis")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 1), "200 millis")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 2), "400 millis")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 20), "30 seconds")
      }))

    it.effect("exponential(100ms).withMax(10s): index 10 → 10s", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withMax("10 seconds"))
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 10), "10 seconds")
        // 100ms × 2^6 = 6.4s is still below the cap
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 6), "6400 millis")
      }))

    it.effect("constant(500ms): 500ms for every index", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.constant("500 millis")
        assert.strictEqual(policy.factor, 1)
        for (const index of [0, 1, 2, 5, 20, 100, 2 ** 32]) {
          assertDuration(yield* BackoffPolicy.delayForRetry(policy, index), "500 millis", `index ${index}`)
        }
      }))

    it.effect("constant(60s): 60s, the max is not clamped to 30s", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.constant("60 seconds")
        assertDuration(policy.max, "60 seconds")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), "60 seconds")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 7), "60 seconds")
      }))

    it.effect("constant(10s).withMax(5s): first becomes 5s", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.constant("10 seconds").pipe(BackoffPolicy.withMax("5 seconds"))
        assertDuration(policy.first, "5 seconds")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), "5 seconds")
      }))

    it.effect("make(100ms, 5s, 1, none).withFloor(999s): floor 5s, index 0 → 5s", () =>
      Effect.gen(function*() {
        const base = yield* BackoffPolicy.make({ first: "100 millis", max: "5 seconds", factor: 1, jitter: "none" })
        assertDuration(yield* BackoffPolicy.delayForRetry(base, 0), "100 millis", "before the floor")
        const policy = BackoffPolicy.withFloor(base, "999 seconds")
        assertDuration(policy.floor, "5 seconds")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), "5 seconds")
      }))

    it.effect("make(500µs, 1s, 1, full): 1ms for every index (the 1 ms safety floor)", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({
          first: Duration.micros(500n),
          max: "1 second",
          factor: 1,
          jitter: "full"
        })
        for (const index of [0, 1, 2, 10, 1000]) {
          for (const d of yield* delaysOverSeeds(policy, index)) {
            assertDuration(d, "1 millis", `index ${index}`)
          }
        }
      }))

    it.effect("make(500µs, 800µs, 1, none): the 1 ms floor is capped at max", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({
          first: Duration.micros(500n),
          max: Duration.micros(800n),
          factor: 1,
          jitter: "none"
        })
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), Duration.micros(800n))
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 3), Duration.micros(800n))
      }))

    it.effect("make(0, 1s, 2): 0 for every index, including a huge one", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({ first: 0, max: "1 second", factor: 2 })
        for (const index of [0, 1, 2, 31, 1000, 2 ** 31 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
          assertDuration(yield* BackoffPolicy.delayForRetry(policy, index), Duration.zero, `index ${index}`)
        }
      }))

    it.effect("make(0, 1s, 2).withFloor(200ms): a zero base still honours the user floor", () =>
      Effect.gen(function*() {
        const policy = (yield* BackoffPolicy.make({ first: 0, max: "1 second", factor: 2 })).pipe(
          BackoffPolicy.withFloor("200 millis")
        )
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 0), "200 millis")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 50), "200 millis")
      }))

    it.effect("overflow clamps to max (factor 10, index 1000; exponential at 2^32)", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({ first: "1 millis", max: "7 seconds", factor: 10 })
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 1000), "7 seconds")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 2 ** 32), "7 seconds")
        assertDuration(
          yield* BackoffPolicy.delayForRetry(BackoffPolicy.exponential("100 millis"), 2 ** 32),
          "30 seconds"
        )
      }))

    it.effect("is stateless: the same index gives the same delay every call", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis")
        const a = yield* BackoffPolicy.delayForRetry(policy, 3)
        yield* BackoffPolicy.delayForRetry(policy, 9)
        const b = yield* BackoffPolicy.delayForRetry(policy, 3)
        assertDuration(a, "800 millis")
        assertDuration(b, "800 millis")
      }))
  })

  describe("defaultPolicy", () => {
    it("is 200ms doubling up to 30s with equal jitter and no floor", () => {
      const p = BackoffPolicy.defaultPolicy
      assert.isTrue(BackoffPolicy.isBackoffPolicy(p))
      assertDuration(p.first, "200 millis")
      assertDuration(p.max, "30 seconds")
      assert.strictEqual(p.factor, 2)
      assert.strictEqual(p.jitter, "equal")
      assertDuration(p.floor, Duration.zero)
    })

    const ranges: ReadonlyArray<readonly [number, Duration.DurationInput, Duration.DurationInput]> = [
      [0, "100 millis", "200 millis"],
      [1, "200 millis", "400 millis"],
      [2, "400 millis", "800 millis"],
      [20, "15 seconds", "30 seconds"]
    ]
    for (const [index, lower, upper] of ranges) {
      it.effect(`index ${index} ∈ [${lower}, ${upper}] over many seeds`, () =>
        Effect.gen(function*() {
          const delays = yield* delaysOverSeeds(BackoffPolicy.defaultPolicy, index)
          for (const d of delays) assertDurationBetween(d, lower, upper, `index ${index}`)
          assert.isAbove(distinct(delays), 1, "jitter must vary with the seed")
        }))
    }
  })

  describe("jitter", () => {
    it.effect("equal: always in [base/2, base]", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withJitter("equal"))
        for (const [index, base] of [[0, 100], [3, 800], [12, 30_000]] as const) {
          const delays = yield* delaysOverSeeds(policy, index)
          for (const d of delays) assertDurationBetween(d, base / 2, base, `index ${index}`)
          assert.isAbove(distinct(delays), 1)
        }
        // the ends of the range are reachable
        assertDuration(yield* delayWithDraw(policy, 3, 0), "400 millis")
        assertDuration(yield* delayWithDraw(policy, 3, 1), "800 millis")
      }))

    it.effect("full: in [0, base], but never under the 1 ms floor when base > 0", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withJitter("full"))
        for (const [index, base] of [[0, 100], [4, 1600], [20, 30_000]] as const) {
          const delays = yield* delaysOverSeeds(policy, index)
          for (const d of delays) assertDurationBetween(d, "1 millis", base, `index ${index}`)
          assert.isAbove(distinct(delays), 1)
        }
        assertDuration(yield* delayWithDraw(policy, 0, 0), "1 millis", "a zero draw hits the 1 ms floor")
        assertDuration(yield* delayWithDraw(policy, 0, 0.5), "50 millis")
        assertDuration(yield* delayWithDraw(policy, 0, 1), "100 millis")
      }))

    it.effect("full with a user floor: never below the floor", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(
          BackoffPolicy.withJitter("full"),
          BackoffPolicy.withFloor("40 millis")
        )
        for (const d of yield* delaysOverSeeds(policy, 0)) assertDurationBetween(d, "40 millis", "100 millis")
        assertDuration(yield* delayWithDraw(policy, 0, 0), "40 millis")
      }))

    it.effect("randomizedBand: in [first, min(3 × base, max)]", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({
          first: "100 millis",
          max: "5 seconds",
          factor: 2,
          jitter: "randomizedBand"
        })
        // base: 100, 200, 400, 1600, then capped at 5000; upper: 300, 600, 1200, 4800, 5000
        for (const [index, upper] of [[0, 300], [1, 600], [2, 1200], [4, 4800], [10, 5000]] as const) {
          const delays = yield* delaysOverSeeds(policy, index)
          for (const d of delays) assertDurationBetween(d, "100 millis", upper, `index ${index}`)
          assert.isAbove(distinct(delays), 1)
          assertDuration(yield* delayWithDraw(policy, index, 0), "100 millis", `lower end at index ${index}`)
          assertDuration(yield* delayWithDraw(policy, index, 1), upper, `upper end at index ${index}`)
        }
      }))

    it.effect("randomizedBand can exceed the base delay", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withJitter("randomizedBand"))
        const delays = yield* delaysOverSeeds(policy, 0)
        assert.isTrue(delays.some((d) => Duration.greaterThan(d, Duration.millis(100))))
      }))

    it.effect("none: exactly the base, whatever Random draws", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis")
        assertDuration(yield* delayWithDraw(policy, 2, 0), "400 millis")
        assertDuration(yield* delayWithDraw(policy, 2, 1), "400 millis")
      }))

    it.effect("a seeded Random gives the same sequence twice", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.defaultPolicy.pipe(BackoffPolicy.withJitter("full"))
        const sequence = (seed: number) =>
          Effect.forEach([0, 1, 2, 3, 4, 5, 6, 7], (i) => BackoffPolicy.delayForRetry(policy, i)).pipe(
            Effect.withRandom(Random.make(seed))
          )
        const a = yield* sequence(42)
        const b = yield* sequence(42)
        const c = yield* sequence(43)
        assert.deepStrictEqual(a.map(Duration.toMillis), b.map(Duration.toMillis))
        assert.notDeepEqual(a.map(Duration.toMillis), c.map(Duration.toMillis))
      }))
  })

  describe("validation", () => {
    const invalid: ReadonlyArray<{
      readonly label: string
      readonly options: Parameters<typeof BackoffPolicy.make>[0]
      readonly mentions: RegExp
    }> = [
      { label: "factor NaN", options: { first: 100, max: 1000, factor: NaN }, mentions: /factor/ },
      { label: "factor Infinity", options: { first: 100, max: 1000, factor: Infinity }, mentions: /factor/ },
      { label: "factor 0.5", options: { first: 100, max: 1000, factor: 0.5 }, mentions: /factor/ },
      { label: "factor 0", options: { first: 100, max: 1000, factor: 0 }, mentions: /factor/ },
      { label: "factor -1", options: { first: 100, max: 1000, factor: -1 }, mentions: /factor/ },
      { label: "first > max", options: { first: "2 seconds", max: "1 second", factor: 2 }, mentions: /first.*max/ },
      { label: "negative first", options: { first: -1, max: 1000, factor: 2 }, mentions: /first/ },
      {
        label: "negative first as a duration string",
        options: { first: "-1 seconds", max: 1000, factor: 2 },
        mentions: /first/
      },
      {
        label: "negative first in nanoseconds (bigint)",
        options: { first: -1n, max: 1000, factor: 2 },
        mentions: /first/
      },
      { label: "NaN first", options: { first: NaN, max: 1000, factor: 2 }, mentions: /first/ },
      { label: "infinite max (number)", options: { first: 100, max: Infinity, factor: 2 }, mentions: /max/ },
      { label: "infinite max (Duration)", options: { first: 100, max: Duration.infinity, factor: 2 }, mentions: /max/ },
      {
        label: "malformed first",
        options: { first: "soon" as Duration.DurationInput, max: 1000, factor: 2 },
        mentions: /first/
      },
      {
        label: "unknown jitter",
        options: { first: 100, max: 1000, factor: 2, jitter: "decorrelated" as BackoffPolicy.Jitter },
        mentions: /jitter/
      }
    ]

    for (const { label, mentions, options } of invalid) {
      it.effect(`make rejects ${label} with InvalidBackoff`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(BackoffPolicy.make(options))
          assert.strictEqual(error._tag, "InvalidBackoff")
          assert.instanceOf(error, SupervisorError.InvalidBackoff)
          assert.isTrue(SupervisorError.isSupervisorError(error))
          assert.match(error.message, mentions)
          assert.match(error.message, /^invalid backoff: /)
        }))

      it(`unsafeMake throws InvalidBackoff for ${label}`, () => {
        let thrown: unknown = undefined
        try {
          BackoffPolicy.unsafeMake(options)
        } catch (error) {
          thrown = error
        }
        assert.instanceOf(thrown, SupervisorError.InvalidBackoff)
        assert.isTrue(SupervisorError.isSupervisorError(thrown))
        assert.strictEqual((thrown as SupervisorError.InvalidBackoff)._tag, "InvalidBackoff")
        assert.match((thrown as SupervisorError.InvalidBackoff).message, mentions)
      })
    }

    it.effect("valid input succeeds; jitter defaults to none and floor to zero", () =>
      Effect.gen(function*() {
        const policy = yield* BackoffPolicy.make({ first: "250 millis", max: "4 seconds", factor: 1.5 })
        assert.isTrue(BackoffPolicy.isBackoffPolicy(policy))
        assertDuration(policy.first, "250 millis")
        assertDuration(policy.max, "4 seconds")
        assert.strictEqual(policy.factor, 1.5)
        assert.strictEqual(policy.jitter, "none")
        assertDuration(policy.floor, Duration.zero)
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 1), "375 millis")
      }))

    it.effect("edge values are valid: factor 1, first = max, first 0", () =>
      Effect.gen(function*() {
        const a = yield* BackoffPolicy.make({ first: "1 second", max: "1 second", factor: 1, jitter: "equal" })
        assert.strictEqual(a.jitter, "equal")
        const b = yield* BackoffPolicy.make({ first: 0, max: 0, factor: 1 })
        assertDuration(yield* BackoffPolicy.delayForRetry(b, 3), Duration.zero)
        const c = BackoffPolicy.unsafeMake({ first: 100, max: 200, factor: 3, jitter: "randomizedBand" })
        assert.strictEqual(c.jitter, "randomizedBand")
        assert.strictEqual(c.factor, 3)
      }))
  })

  describe("builders", () => {
    it("withMax lowers first and floor to the new max", () => {
      const policy = BackoffPolicy.constant("10 seconds").pipe(
        BackoffPolicy.withFloor("8 seconds"),
        BackoffPolicy.withMax("5 seconds")
      )
      assertDuration(policy.max, "5 seconds")
      assertDuration(policy.first, "5 seconds")
      assertDuration(policy.floor, "5 seconds")
    })

    it("withMax keeps first and floor when they are below the new max", () => {
      const policy = BackoffPolicy.exponential("100 millis").pipe(
        BackoffPolicy.withFloor("50 millis"),
        BackoffPolicy.withMax("1 minute")
      )
      assertDuration(policy.max, "1 minute")
      assertDuration(policy.first, "100 millis")
      assertDuration(policy.floor, "50 millis")
      assert.strictEqual(policy.factor, 2)
    })

    it("withFloor caps the floor at max", () => {
      const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withFloor("1 minute"))
      assertDuration(policy.floor, "30 seconds")
      const lower = BackoffPolicy.withFloor(policy, "20 millis")
      assertDuration(lower.floor, "20 millis")
    })

    it("withJitter sets only the jitter", () => {
      const policy = BackoffPolicy.withJitter(BackoffPolicy.exponential("100 millis"), "full")
      assert.strictEqual(policy.jitter, "full")
      assertDuration(policy.first, "100 millis")
      assertDuration(policy.max, "30 seconds")
      assert.strictEqual(policy.factor, 2)
    })

    it("builders do not mutate their input", () => {
      const original = BackoffPolicy.exponential("100 millis")
      BackoffPolicy.withMax(original, "50 millis")
      BackoffPolicy.withFloor(original, "10 millis")
      BackoffPolicy.withJitter(original, "equal")
      assertDuration(original.first, "100 millis")
      assertDuration(original.max, "30 seconds")
      assertDuration(original.floor, Duration.zero)
      assert.strictEqual(original.jitter, "none")
    })

    it("dual API: data-first and data-last give equal results", () => {
      const p = BackoffPolicy.defaultPolicy
      assert.deepStrictEqual(
        BackoffPolicy.withMax(p, "1 second").toJSON(),
        p.pipe(BackoffPolicy.withMax("1 second")).toJSON()
      )
      assert.deepStrictEqual(
        BackoffPolicy.withFloor(p, "300 millis").toJSON(),
        p.pipe(BackoffPolicy.withFloor("300 millis")).toJSON()
      )
      assert.deepStrictEqual(
        BackoffPolicy.withJitter(p, "randomizedBand").toJSON(),
        p.pipe(BackoffPolicy.withJitter("randomizedBand")).toJSON()
      )
      assertDuration(BackoffPolicy.withMax(p, "1 second").max, "1 second")
    })

    it.effect("dual delayForRetry: data-first and data-last agree", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis")
        assertDuration(yield* policy.pipe(BackoffPolicy.delayForRetry(3)), "800 millis")
        assertDuration(yield* BackoffPolicy.delayForRetry(policy, 3), "800 millis")
      }))

    it("toJSON and toString describe the policy", () => {
      const json = BackoffPolicy.exponential("100 millis").toJSON() as Record<string, unknown>
      assert.strictEqual(json._id, "BackoffPolicy")
      assert.strictEqual(json.factor, 2)
      assert.strictEqual(json.jitter, "none")
      assert.include(String(BackoffPolicy.defaultPolicy), "BackoffPolicy")
      assert.include(String(BackoffPolicy.defaultPolicy), "equal")
    })

    it("a policy built from an invalid value is still a policy and shows why it cannot run", () => {
      const policy = BackoffPolicy.exponential(-1).pipe(BackoffPolicy.withJitter("full"))
      assert.isTrue(BackoffPolicy.isBackoffPolicy(policy))
      assert.strictEqual(policy.jitter, "full")
      const json = policy.toJSON() as Record<string, unknown>
      assert.strictEqual(json.invalid, "first must not be negative, got -1")
      assert.include(String(policy), "first must not be negative, got -1")
      assert.notProperty(BackoffPolicy.exponential(1).toJSON(), "invalid")
    })
  })

  describe("toSchedule", () => {
    it.effect("Schedule.delays pins exponential(100ms).withMax(1s): 100, 200, 400, 800, 1000, 1000 ms", () =>
      Effect.gen(function*() {
        const schedule = BackoffPolicy.toSchedule(
          BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withMax("1 second"))
        )
        const delays = yield* Schedule.run(Schedule.delays(schedule), 0, [1, 2, 3, 4, 5, 6])
        assert.deepStrictEqual(Chunk.toReadonlyArray(delays).map(Duration.toMillis), [100, 200, 400, 800, 1000, 1000])
      }))

    it.effect("outputs the delay of each recurrence", () =>
      Effect.gen(function*() {
        const schedule = BackoffPolicy.toSchedule(BackoffPolicy.constant("250 millis"))
        const outputs = yield* Schedule.run(schedule, 1_000, ["a", "b", "c"])
        assert.deepStrictEqual(Chunk.toReadonlyArray(outputs).map(Duration.toMillis), [250, 250, 250])
      }))

    it.effect("drives retries on the TestClock at 100, 300, 700, 1500, 2500, 3500 ms", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.exponential("100 millis").pipe(BackoffPolicy.withMax("1 second"))
        const times: Array<number> = []
        const attempt = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          times.push(now)
          return Effect.fail("boom")
        })
        const fiber = yield* Effect.fork(
          Effect.retry(attempt, BackoffPolicy.toSchedule(policy).pipe(Schedule.intersect(Schedule.recurs(6))))
        )
        yield* TestClock.adjust("99 millis")
        assert.deepStrictEqual(times, [0], "no retry before the first delay elapses")
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(times, [0, 100])
        yield* TestClock.adjust("10 seconds")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error, "boom")
        assert.deepStrictEqual(times, [0, 100, 300, 700, 1500, 2500, 3500])
      }))

    it.effect("a seeded jittered schedule follows delayForRetry index by index", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.defaultPolicy
        const fromSchedule = yield* Schedule.run(Schedule.delays(BackoffPolicy.toSchedule(policy)), 0, [1, 2, 3, 4, 5])
          .pipe(
            Effect.withRandom(Random.make("seed"))
          )
        const direct = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => BackoffPolicy.delayForRetry(policy, i)).pipe(
          Effect.withRandom(Random.make("seed"))
        )
        const scheduled = Chunk.toReadonlyArray(fromSchedule).map(Duration.toMillis)
        assert.strictEqual(scheduled.length, 5)
        direct.forEach((d, i) => assert.closeTo(scheduled[i], Duration.toMillis(d), 1e-6, `index ${i}`)) // each delay sits in its equal-jitter band
        ;[[100, 200], [200, 400], [400, 800], [800, 1600], [1600, 3200]].forEach(([lo, hi], i) => {
          assert.isAtLeast(scheduled[i], lo)
          assert.isAtMost(scheduled[i], hi)
        })
      }))
  })
})
