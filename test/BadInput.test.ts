/**
 * The bad-input matrix: every setting, spec field and management call fed
 * values it must refuse (with the exact typed error) or values that look odd
 * but are legitimate (accepted, and shown to work end to end). Every refusal
 * at a running supervisor is also checked to leave the task already running
 * untouched.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigErrors from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorError from "../src/SupervisorError.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import {
  controllerWithSubscribers,
  outcomeNow,
  recordingSupervisor,
  supervisorWithSubscribers
} from "./utils/controller.js"
import { expectTaskEvents, ofId, ofTag } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { kinds, recording, type TestConfig } from "./utils/recorder.js"
import { counting, failNTimes, neverEnding } from "./utils/tasks.js"

const MAX = Number.MAX_SAFE_INTEGER

// ---------------------------------------------------------------------------------------------------------------------
// expected reasons

const negative = (shown: string) => `must not be negative, got ${shown}`
const notADuration = (shown: string) => `must be a duration, got ${shown}`
const infinite = "must be finite"
const notWhole = (shown: string) => `must be a whole number, got ${shown}`
const tooLarge = (shown: string) => `must be at most ${MAX}, got ${shown}`
const belowMin = (min: number, shown: string) =>
  min === 1 ? `must be greater than zero, got ${shown}` : `must be at least ${min}, got ${shown}`

/** Assert a `ConfigError` with exactly this field and reason (and the message built from them). */
const assertConfigError = (error: unknown, field: string, reason: string): void => {
  assert.instanceOf(error, SupervisorError.ConfigError)
  const e = error as SupervisorError.ConfigError
  assert.deepStrictEqual({ tag: e._tag, field: e.field, reason: e.reason }, { tag: "ConfigError", field, reason })
  assert.strictEqual(e.message, `invalid ${field}: ${reason}`)
  assert.isTrue(SupervisorError.isSupervisorError(e))
}

// ---------------------------------------------------------------------------------------------------------------------
// SupervisorConfig fields

type DurationField = "grace" | "subscriberShutdownTimeout" | "defaults.timeout"
type ControllerField = "controller.queueCapacity" | "controller.maxSlotQueue"
type CountField = "maxConcurrent" | "busCapacity" | "defaults.maxRetries" | ControllerField
type Field = DurationField | CountField
type SupervisorField = Exclude<Field, ControllerField>

const durationFields: ReadonlyArray<DurationField> = ["grace", "subscriberShutdownTimeout", "defaults.timeout"]
/** Each count field with its smallest valid value. */
const countFields: ReadonlyArray<readonly [CountField, 0 | 1]> = [
  ["maxConcurrent", 1],
  ["busCapacity", 1],
  ["defaults.maxRetries", 0],
  ["controller.queueCapacity", 1],
  ["controller.maxSlotQueue", 0]
]

const envKeys: Record<Field, string> = {
  grace: "GRACE",
  subscriberShutdownTimeout: "SUBSCRIBER_SHUTDOWN_TIMEOUT",
  "defaults.timeout": "TIMEOUT",
  maxConcurrent: "MAX_CONCURRENT",
  busCapacity: "BUS_CAPACITY",
  "defaults.maxRetries": "MAX_RETRIES",
  "controller.queueCapacity": "CONTROLLER_QUEUE_CAPACITY",
  "controller.maxSlotQueue": "CONTROLLER_MAX_SLOT_QUEUE"
}

/** An `Input` setting only `field` to `value` (deliberately untyped: bad values are the point). */
const inputOf = (field: SupervisorField, value: unknown): SupervisorConfig.Input => {
  switch (field) {
    case "defaults.timeout":
      return { defaults: { timeout: value as Duration.DurationInput } }
    case "defaults.maxRetries":
      return { defaults: { maxRetries: value as number } }
    default:
      return { [field]: value } as SupervisorConfig.Input
  }
}

/** The validated setting of `field`. */
const settingOf = (field: SupervisorField, settings: SupervisorConfig.Settings): unknown => {
  switch (field) {
    case "defaults.timeout":
      return settings.defaults.timeout
    case "defaults.maxRetries":
      return settings.defaults.maxRetries
    default:
      return settings[field]
  }
}

/** The controller's fields are `Controller.layer` options, not supervisor settings. */
const isControllerField = (field: Field): field is ControllerField => field.startsWith("controller.")

const optionsOf = (field: ControllerField, value: unknown): Controller.Options =>
  field === "controller.queueCapacity" ? { queueCapacity: value as number } : { maxSlotQueue: value as number }

/** Build a controller layer over a default supervisor. */
const buildController = (
  layer: Layer.Layer<Controller.Controller, SupervisorError.ConfigError, TaskSupervisor.SupervisorRegistry>
) =>
  Effect.scoped(Effect.asVoid(Layer.build(
    layer.pipe(Layer.provide(TaskSupervisor.layer), Layer.provide(SupervisorConfig.layerDefaults))
  )))

const badDurations: ReadonlyArray<readonly [label: string, value: unknown, reason: string]> = [
  ["-1", -1, negative("-1")],
  ["-0.5", -0.5, negative("-0.5")],
  ["-1n (nanos)", -1n, negative("-1")],
  ["\"-5 seconds\"", "-5 seconds", negative("-5 seconds")],
  ["[-1, 0]", [-1, 0], negative("[-1, 0]")],
  ["-Infinity", -Infinity, negative("-Infinity")],
  ["NaN", NaN, notADuration("NaN")],
  ["[NaN, 0]", [NaN, 0], notADuration("[NaN, 0]")],
  ["[1, NaN]", [1, NaN], notADuration("[1, NaN]")],
  ["Infinity", Infinity, infinite],
  ["[Infinity, 0]", [Infinity, 0], infinite],
  ["Duration.infinity", Duration.infinity, infinite],
  ["\"1e300 millis\"", "1e300 millis", notADuration("\"1e300 millis\"")],
  ["1 followed by 400 zeros millis", `1${"0".repeat(400)} millis`, infinite],
  ["\"soon\"", "soon", notADuration("\"soon\"")],
  ["a unit-less string \"5\"", "5", notADuration("\"5\"")],
  ["\"\"", "", notADuration("\"\"")],
  ["[1]", [1], notADuration("[1]")]
]

/** Odd but valid: zero, fractions of a millisecond and huge finite durations. */
const goodDurations: ReadonlyArray<readonly [label: string, value: Duration.DurationInput]> = [
  ["0", 0],
  ["-0", -0],
  ["0.5 (half a millisecond)", 0.5],
  ["\"1.5 seconds\"", "1.5 seconds"],
  ["1e300", 1e300],
  ["MAX_SAFE_INTEGER + 2", MAX + 2],
  ["10n ** 30n nanos", 10n ** 30n],
  ["[1, 500] (hrtime)", [1, 500]],
  ["\"99999999999999999999 weeks\"", "99999999999999999999 weeks"]
]

const badCounts = (min: 0 | 1): ReadonlyArray<readonly [label: string, value: number, reason: string]> => [
  ...(min === 1 ? [["0", 0, belowMin(1, "0")] as const] : []),
  ["-1", -1, belowMin(min, "-1")],
  ["-1e300", -1e300, belowMin(min, "-1e+300")],
  ["0.5", 0.5, notWhole("0.5")],
  ["1.5", 1.5, notWhole("1.5")],
  ["NaN", NaN, notWhole("NaN")],
  ["Infinity", Infinity, notWhole("Infinity")],
  ["-Infinity", -Infinity, notWhole("-Infinity")],
  ["1e300", 1e300, tooLarge("1e+300")],
  ["MAX_SAFE_INTEGER + 2", MAX + 2, tooLarge(String(MAX + 2))]
]

const goodCounts = (min: 0 | 1): ReadonlyArray<number> => [min, min + 1, 1000, MAX]

/** An env-style provider: keys like `TASKVISOR_GRACE` (as `ConfigProvider.fromEnv` reads them). */
const envProvider = (entries: ReadonlyArray<readonly [string, string]>) =>
  ConfigProvider.fromMap(new Map(entries), { pathDelim: "_" })

/** The settings `layerFromEnv(prefix)` builds from these variables. */
const fromEnv = (entries: ReadonlyArray<readonly [string, string]>, prefix = "TASKVISOR") =>
  Layer.build(SupervisorConfig.layerFromEnv(prefix)).pipe(
    Effect.map(Context.get(SupervisorConfig.SupervisorConfig)),
    Effect.withConfigProvider(envProvider(entries))
  )

/** The error every way of giving `value` to `field` in code fails with; asserts they agree. */
const refusal = (field: Field, value: unknown) =>
  Effect.gen(function*() {
    if (isControllerField(field)) return yield* Effect.flip(buildController(Controller.layer(optionsOf(field, value))))
    const input = inputOf(field, value)
    const fromMake = yield* Effect.flip(SupervisorConfig.make(input))
    const fromLayer = yield* Effect.flip(Effect.scoped(Layer.build(SupervisorConfig.layer(input))))
    const fromSupervisor = yield* Effect.flip(Effect.scoped(Layer.build(
      TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer(input)))
    )))
    assert.deepStrictEqual(fromLayer, fromMake, "layer fails like make")
    assert.deepStrictEqual(fromSupervisor, fromMake, "a supervisor on that layer fails like make")
    return fromMake
  })

/** The variable of `field` set to `value`, read by `layerFromEnv()` and by the raw `config` under another prefix. */
const envRefusal = (field: Field, value: string) =>
  Effect.gen(function*() {
    const key = envKeys[field]
    const env = envProvider([[`TASKVISOR_${key}`, value], [`APP_${key}`, value]])
    const viaLayer = yield* Effect.flip(
      isControllerField(field)
        ? buildController(Controller.layerFromEnv())
        : Effect.scoped(Effect.asVoid(Layer.build(SupervisorConfig.layerFromEnv())))
    ).pipe(Effect.withConfigProvider(env))
    const raw: Effect.Effect<unknown, ConfigErrors.ConfigError> = isControllerField(field)
      ? Config.nested(Controller.config, "APP")
      : Config.nested(SupervisorConfig.config, "APP")
    const viaConfig = yield* Effect.flip(raw).pipe(Effect.withConfigProvider(env))
    assert.instanceOf(viaLayer, SupervisorError.ConfigError)
    assert.strictEqual(viaLayer.variable, `TASKVISOR_${key}`, "layerFromEnv names the variable")
    assert.strictEqual(viaLayer.message, `invalid ${viaLayer.field} (TASKVISOR_${key}): ${viaLayer.reason}`)
    assert.isTrue(ConfigErrors.isInvalidData(viaConfig), "the raw config fails with Effect's InvalidData")
    assert.deepStrictEqual(
      ConfigErrors.isInvalidData(viaConfig) ? [viaConfig.path, viaConfig.message] : [],
      [["APP", key], viaLayer.reason],
      "the raw config names the same path and reason"
    )
    return viaLayer
  })

/** Assert an error from `layerFromEnv`: `assertConfigError` with the variable in the message. */
const assertEnvError = (error: SupervisorError.ConfigError, field: Field, reason: string): void => {
  assert.deepStrictEqual({ field: error.field, reason: error.reason }, { field, reason })
}

describe("bad input: SupervisorConfig and Controller settings", () => {
  for (const field of durationFields) {
    describe(`${field} (a duration)`, () => {
      for (const [label, value, reason] of badDurations) {
        it.effect(`${label} fails with ConfigError naming ${field}`, () =>
          Effect.map(refusal(field, value), (error) => assertConfigError(error, field, reason)))
      }

      for (const [label, value] of goodDurations) {
        it.effect(`${label} is accepted`, () =>
          Effect.gen(function*() {
            const settings = yield* SupervisorConfig.make(inputOf(field, value))
            const setting = settingOf(field, settings)
            const expected = Duration.decode(value)
            if (field === "defaults.timeout" && Duration.isZero(expected)) {
              assert.isUndefined(setting, "a zero default timeout means none")
            } else {
              assert.isTrue(Duration.isDuration(setting) && Duration.equals(setting, expected), String(setting))
            }
          }))
      }
    })
  }

  for (const [field, min] of countFields) {
    describe(`${field} (a whole number >= ${min})`, () => {
      for (const [label, value, reason] of badCounts(min)) {
        it.effect(`${label} fails with ConfigError naming ${field}`, () =>
          Effect.map(refusal(field, value), (error) => assertConfigError(error, field, reason)))
      }

      it.effect(`${goodCounts(min).join(", ")} are accepted`, () =>
        Effect.gen(function*() {
          for (const value of goodCounts(min)) {
            if (isControllerField(field)) {
              yield* buildController(Controller.layer(optionsOf(field, value)))
            } else {
              assert.strictEqual(settingOf(field, yield* SupervisorConfig.make(inputOf(field, value))), value)
            }
          }
        }))
    })
  }

  it.effect("null is the documented 'unlimited' for maxConcurrent and defaults.maxRetries; Infinity is not", () =>
    Effect.gen(function*() {
      const settings = yield* SupervisorConfig.make({ maxConcurrent: null, defaults: { maxRetries: null } })
      assert.isUndefined(settings.maxConcurrent)
      assert.isUndefined(settings.defaults.maxRetries)
      assertConfigError(
        yield* Effect.flip(SupervisorConfig.make({ maxConcurrent: Infinity })),
        "maxConcurrent",
        notWhole("Infinity")
      )
    }))

  it.effect("with several bad fields, the first in declaration order is reported", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SupervisorConfig.make({
        defaults: { maxRetries: NaN },
        busCapacity: 0,
        grace: -1
      }))
      assertConfigError(error, "grace", negative("-1"))
    }))

  describe("layerFromEnv and config", () => {
    const badEnvDurations: ReadonlyArray<readonly [value: string, reason: string]> = [
      ["-1", negative("-1")],
      ["-1.5 seconds", negative("-1.5 seconds")],
      ["NaN", notADuration("\"NaN\"")],
      ["Infinity", infinite],
      ["1e300 millis", notADuration("\"1e300 millis\"")],
      [`1${"0".repeat(400)}`, infinite],
      ["", notADuration("\"\"")],
      ["   ", notADuration("\"   \"")],
      ["5seconds", notADuration("\"5seconds\"")],
      ["5 parsecs", notADuration("\"5 parsecs\"")]
    ]
    const badEnvCounts = (min: 0 | 1): ReadonlyArray<readonly [value: string, reason: string]> => [
      ...(min === 1 ? [["0", belowMin(1, "0")] as const] : []),
      ["-1", belowMin(min, "-1")],
      ["1.5", notWhole("1.5")],
      ["9007199254740993", tooLarge("9007199254740992")],
      [`9${"9".repeat(400)}`, notWhole("Infinity")],
      ["Infinity", notWhole("Infinity")],
      // not a number at all: the text is shown as it was set (an empty variable is not read as 0)
      ["NaN", notWhole("\"NaN\"")],
      ["many", notWhole("\"many\"")],
      ["", notWhole("\"\"")],
      ["  ", notWhole("\"  \"")]
    ]

    for (const field of durationFields) {
      for (const [value, reason] of badEnvDurations) {
        it.effect(`${envKeys[field]}=${JSON.stringify(value.slice(0, 20))} fails naming ${field}`, () =>
          Effect.map(envRefusal(field, value), (error) => assertEnvError(error, field, reason)))
      }
    }
    for (const [field, min] of countFields) {
      for (const [value, reason] of badEnvCounts(min)) {
        it.effect(`${envKeys[field]}=${JSON.stringify(value.slice(0, 20))} fails naming ${field}`, () =>
          Effect.map(envRefusal(field, value), (error) => assertEnvError(error, field, reason)))
      }
    }

    it.scoped("odd but valid duration text: \"0\", \"0.5\", \" 250 \", \"1e3\", \"9007199254740993\", \"1.5 seconds\"", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
          ["0", 0],
          ["0.5", 0.5],
          [" 250 ", 250],
          ["1e3", 1000],
          ["9007199254740993", 9007199254740992],
          ["1.5 seconds", "1.5 seconds"]
        ]
        for (const field of ["grace", "subscriberShutdownTimeout"] as const) {
          for (const [text, expected] of cases) {
            const settings = yield* fromEnv([[`TASKVISOR_${envKeys[field]}`, text]])
            assert.isTrue(Duration.equals(settings[field], Duration.decode(expected)), `${field}=${text}`)
          }
        }
        assert.isUndefined((yield* fromEnv([["TASKVISOR_TIMEOUT", "0"]])).defaults.timeout, "TIMEOUT=0 is none")
        const huge = (yield* fromEnv([["TASKVISOR_TIMEOUT", "9007199254740993"]])).defaults.timeout
        assert.isTrue(huge !== undefined && Duration.toMillis(huge) === 9007199254740992)
      }))

    it.scoped("odd but valid count text: the minimum, \" 7 \", \"007\", \"1e3\" and MAX_SAFE_INTEGER", () =>
      Effect.gen(function*() {
        for (const [field, min] of countFields) {
          const cases: ReadonlyArray<readonly [string, number]> = [
            [String(min), min],
            [" 7 ", 7],
            ["007", 7],
            ["1e3", 1000],
            [String(MAX), MAX]
          ]
          for (const [text, expected] of cases) {
            const env = envProvider([[`TASKVISOR_${envKeys[field]}`, text]])
            if (isControllerField(field)) {
              yield* buildController(Controller.layerFromEnv()).pipe(Effect.withConfigProvider(env))
              const options = yield* Controller.config.pipe(Config.nested("TASKVISOR"), Effect.withConfigProvider(env))
              const set = field === "controller.queueCapacity" ? options.queueCapacity : options.maxSlotQueue
              assert.strictEqual(set, expected, `${field}=${JSON.stringify(text)}`)
            } else {
              const settings = yield* fromEnv([[`TASKVISOR_${envKeys[field]}`, text]])
              assert.strictEqual(settingOf(field, settings), expected, `${field}=${JSON.stringify(text)}`)
            }
          }
        }
      }))
  })

  it.scoped("a supervisor and controller built with the most extreme accepted values work end to end", () =>
    Effect.gen(function*() {
      const healthy = recording("healthy", MAX)
      const { controller, supervisor } = yield* controllerWithSubscribers({
        grace: 1e300,
        subscriberShutdownTimeout: MAX + 2,
        maxConcurrent: MAX,
        busCapacity: MAX,
        defaults: { timeout: 1e300, maxRetries: MAX },
        controller: { queueCapacity: MAX, maxSlotQueue: MAX }
      }, [healthy.subscriber])
      const streamed = yield* Effect.fork(Stream.runCollect(supervisor.events))
      yield* settle
      const flaky = yield* supervisor.add(
        TaskSpec.restartable("flaky", (yield* failNTimes(2, "boom")).task).pipe(
          TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
        )
      )
      const sleeper = yield* supervisor.add(TaskSpec.once("sleeper", Effect.sleep("1 hour")))
      const job = yield* controller.submitAndWatch(ControllerSpec.queue(TaskSpec.once("job", Effect.void)))
      const forever = yield* supervisor.add(TaskSpec.make("forever", neverEnding))
      yield* advance("2 seconds")
      assert.strictEqual((yield* flaky.await)._tag, "Completed")
      assert.strictEqual((yield* job.await)._tag, "Completed")
      assert.isTrue(yield* supervisor.cancel("forever"))
      assert.strictEqual((yield* forever.await)._tag, "Canceled")
      yield* advance("1 hour")
      assert.strictEqual((yield* sleeper.await)._tag, "Completed", "a 1e300 ms default timeout never fires")
      yield* supervisor.shutdown

      assert.deepStrictEqual(ofTag(healthy.events, "AttemptTimedOut"), [])
      assert.deepStrictEqual(ofTag(healthy.events, "SubscriberOverflow"), [])
      assert.strictEqual(healthy.events[healthy.events.length - 1]._tag, "AllStoppedWithinGrace")
      assert.deepStrictEqual(Array.from(yield* Fiber.join(streamed)), healthy.events, "the stream got every event")
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// BackoffPolicy

describe("bad input: BackoffPolicy", () => {
  const ok = { first: 100, max: 1000, factor: 2 } as const
  const invalid: ReadonlyArray<readonly [label: string, options: Record<string, unknown>, reason: string]> = [
    ["factor 0", { ...ok, factor: 0 }, "factor must be finite and >= 1, got 0"],
    ["factor 0.999", { ...ok, factor: 0.999 }, "factor must be finite and >= 1, got 0.999"],
    ["factor -2", { ...ok, factor: -2 }, "factor must be finite and >= 1, got -2"],
    ["factor NaN", { ...ok, factor: NaN }, "factor must be finite and >= 1, got NaN"],
    ["factor Infinity", { ...ok, factor: Infinity }, "factor must be finite and >= 1, got Infinity"],
    ["first -1", { ...ok, first: -1 }, `first ${negative("-1")}`],
    ["first \"-1 seconds\"", { ...ok, first: "-1 seconds" }, `first ${negative("-1 seconds")}`],
    ["first NaN", { ...ok, first: NaN }, `first ${notADuration("NaN")}`],
    ["first [NaN, 0]", { ...ok, first: [NaN, 0] }, `first ${notADuration("[NaN, 0]")}`],
    ["first Infinity", { ...ok, first: Infinity, max: Infinity }, `first ${infinite}`],
    ["first \"1e300 millis\"", { ...ok, first: "1e300 millis" }, `first ${notADuration("\"1e300 millis\"")}`],
    ["max -1", { ...ok, max: -1 }, `max ${negative("-1")}`],
    ["max NaN", { ...ok, max: NaN }, `max ${notADuration("NaN")}`],
    ["max Infinity", { ...ok, max: Infinity }, `max ${infinite}`],
    ["max Duration.infinity", { ...ok, max: Duration.infinity }, `max ${infinite}`],
    ["max [1, NaN]", { ...ok, max: [1, NaN] }, `max ${notADuration("[1, NaN]")}`],
    ["first > max", { ...ok, first: "2 seconds", max: "1 second" }, "first delay 2s exceeds max 1s"],
    [
      "first > max by a nanosecond",
      { ...ok, first: 1000000001n, max: "1 second" },
      "first delay 1s 1ns exceeds max 1s"
    ],
    ["jitter \"decorrelated\"", { ...ok, jitter: "decorrelated" }, "unknown jitter 'decorrelated'"],
    ["jitter \"\"", { ...ok, jitter: "" }, "unknown jitter ''"],
    ["jitter \"None\" (case matters)", { ...ok, jitter: "None" }, "unknown jitter 'None'"]
  ]

  for (const [label, options, reason] of invalid) {
    it.effect(`make with ${label} fails with InvalidBackoff: ${reason}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(BackoffPolicy.make(options as Parameters<typeof BackoffPolicy.make>[0]))
        assert.instanceOf(error, SupervisorError.InvalidBackoff)
        assert.deepStrictEqual([error._tag, error.reason], ["InvalidBackoff", reason])
        assert.strictEqual(error.message, `invalid backoff: ${reason}`)
        assert.isTrue(SupervisorError.isSupervisorError(error))
      }))
  }

  it.effect("huge but finite parameters are valid and the delay stays capped at max", () =>
    Effect.gen(function*() {
      const policy = yield* BackoffPolicy.make({ first: 1, max: 1e300, factor: 1e300 })
      assert.strictEqual(Duration.toMillis(yield* BackoffPolicy.delayForRetry(policy, 0)), 1)
      assert.strictEqual(Duration.toMillis(yield* BackoffPolicy.delayForRetry(policy, 1)), 1e300)
      assert.strictEqual(Duration.toMillis(yield* BackoffPolicy.delayForRetry(policy, MAX)), 1e300)
      const slow = yield* BackoffPolicy.make({ first: 0.5, max: MAX + 2, factor: Number.MAX_VALUE, jitter: "full" })
      assert.isAtMost(Duration.toMillis(yield* BackoffPolicy.delayForRetry(slow, 3)), MAX + 2)
    }))

  // the builders return a policy, so they do not throw: an invalid value is carried by the policy and refused where
  // it is used, never silently a zero or endless delay; the `unsafe` builders throw it at once
  const builders: ReadonlyArray<
    readonly [
      label: string,
      build: () => BackoffPolicy.BackoffPolicy,
      reason: string,
      unsafe?: () => BackoffPolicy.BackoffPolicy
    ]
  > = [
    [
      "exponential(-100)",
      () => BackoffPolicy.exponential(-100),
      `first ${negative("-100")}`,
      () => BackoffPolicy.unsafeExponential(-100)
    ],
    [
      "exponential(NaN)",
      () => BackoffPolicy.exponential(NaN),
      `first ${notADuration("NaN")}`,
      () => BackoffPolicy.unsafeExponential(NaN)
    ],
    [
      "exponential(Infinity)",
      () => BackoffPolicy.exponential(Infinity),
      `first ${infinite}`,
      () => BackoffPolicy.unsafeExponential(Infinity)
    ],
    [
      "exponential(\"soon\")",
      () => BackoffPolicy.exponential("soon" as Duration.DurationInput),
      `first ${notADuration("\"soon\"")}`,
      () => BackoffPolicy.unsafeExponential("soon" as Duration.DurationInput)
    ],
    [
      "constant(\"-1 seconds\")",
      () => BackoffPolicy.constant("-1 seconds"),
      `delay ${negative("-1 seconds")}`,
      () => BackoffPolicy.unsafeConstant("-1 seconds")
    ],
    [
      "constant(Duration.infinity)",
      () => BackoffPolicy.constant(Duration.infinity),
      `delay ${infinite}`,
      () => BackoffPolicy.unsafeConstant(Duration.infinity)
    ],
    [
      "withMax(-5)",
      () => BackoffPolicy.withMax(BackoffPolicy.defaultPolicy, -5),
      `max ${negative("-5")}`
    ],
    [
      "withMax(Infinity)",
      () => BackoffPolicy.withMax(BackoffPolicy.defaultPolicy, Infinity),
      `max ${infinite}`
    ],
    [
      "withFloor(NaN)",
      () => BackoffPolicy.withFloor(BackoffPolicy.defaultPolicy, NaN),
      `floor ${notADuration("NaN")}`
    ],
    [
      "withFloor(-1n)",
      () => BackoffPolicy.withFloor(BackoffPolicy.defaultPolicy, -1n),
      `floor ${negative("-1")}`
    ],
    [
      "withJitter(\"decorrelated\")",
      () => BackoffPolicy.withJitter(BackoffPolicy.defaultPolicy, "decorrelated" as BackoffPolicy.Jitter),
      "unknown jitter 'decorrelated'"
    ],
    [
      "exponential(-100) then withMax(-5) and withJitter: the first problem is kept",
      () => BackoffPolicy.exponential(-100).pipe(BackoffPolicy.withMax(-5), BackoffPolicy.withJitter("full")),
      `first ${negative("-100")}`
    ]
  ]
  for (const [label, build, reason, unsafe] of builders) {
    it.scoped(`${label} is refused where it is used: add and SupervisorConfig.make fail with a ConfigError`, () =>
      Effect.gen(function*() {
        const policy = build()
        const { since, supervisor, unchanged } = yield* withSentinel()
        const spec = TaskSpec.restartable("b", Effect.fail("boom")).pipe(TaskSpec.withBackoff(policy))
        assertConfigError(yield* Effect.flip(supervisor.add(spec)), "backoff of task 'b'", reason)
        assertConfigError(
          yield* Effect.flip(SupervisorConfig.make({ defaults: { retry: policy } })),
          "defaults.retry",
          reason
        )
        // its schedule is refused as the policy is
        const schedule = BackoffPolicy.toSchedule(policy)
        const scheduled = TaskSpec.restartable("s", Effect.fail("boom")).pipe(TaskSpec.withSchedule(schedule))
        assertConfigError(yield* Effect.flip(supervisor.add(scheduled)), "backoff of task 's'", reason)
        assertConfigError(
          yield* Effect.flip(SupervisorConfig.make({ defaults: { retry: schedule } })),
          "defaults.retry",
          reason
        )
        yield* unchanged
        assert.deepStrictEqual(since(), [], "a refused spec publishes nothing")
      }))

    it.effect(`${label}: its delays and its schedule die with the InvalidBackoff`, () =>
      Effect.gen(function*() {
        const policy = build()
        for (
          const exit of [
            yield* Effect.exit(BackoffPolicy.delayForRetry(policy, 0)),
            yield* Effect.exit(Effect.retry(Effect.fail("boom"), BackoffPolicy.toSchedule(policy)))
          ]
        ) {
          assert.isTrue(Exit.isFailure(exit))
          const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
          assert.isTrue(Option.isSome(defect))
          const error = Option.getOrThrow(defect)
          assert.instanceOf(error, SupervisorError.InvalidBackoff)
          assert.strictEqual((error as SupervisorError.InvalidBackoff).reason, reason)
        }
      }))

    if (unsafe !== undefined) {
      it(`unsafe ${label} throws InvalidBackoff at once`, () => {
        let thrown: unknown = undefined
        try {
          unsafe()
        } catch (error) {
          thrown = error
        }
        assert.instanceOf(thrown, SupervisorError.InvalidBackoff)
        assert.strictEqual((thrown as SupervisorError.InvalidBackoff).reason, reason)
      })
    }
  }

  it("the builders still accept zero and huge finite delays", () => {
    assert.isTrue(Duration.isZero(BackoffPolicy.exponential(0).first))
    assert.isTrue(Duration.isZero(BackoffPolicy.unsafeExponential(0).first))
    assert.strictEqual(Duration.toMillis(BackoffPolicy.unsafeConstant(1e300).first), 1e300)
    assert.strictEqual(Duration.toMillis(BackoffPolicy.constant(1e300).first), 1e300)
    assert.strictEqual(Duration.toMillis(BackoffPolicy.withMax(BackoffPolicy.defaultPolicy, 0).max), 0)
    assert.strictEqual(Duration.toMillis(BackoffPolicy.withFloor(BackoffPolicy.defaultPolicy, 1e300).floor), 30_000)
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// refusals at a running supervisor

/**
 * A recording supervisor with one long-running task, `sentinel`, already in
 * its first attempt. `unchanged` asserts that whatever happened since left it
 * alone: still alive and listed the same, no event of its own after
 * `AttemptStarting`, no outcome yet.
 */
const withSentinel = (config: TestConfig = {}) =>
  Effect.gen(function*() {
    const { controller, events, supervisor } = yield* recordingSupervisor(config)
    const sentinel = yield* supervisor.add(TaskSpec.make("sentinel", neverEnding).pipe(TaskSpec.withTimeout(null)))
    yield* settle
    const mark = events.length
    const unchanged = Effect.gen(function*() {
      yield* settle
      assert.isTrue(yield* supervisor.isAlive("sentinel"), "sentinel still alive")
      assert.deepStrictEqual(
        (yield* supervisor.list).filter((t) => t.id === sentinel.id),
        [{ id: sentinel.id, name: "sentinel", state: "Running", attempt: 1 }],
        "sentinel still listed, running its first attempt"
      )
      assert.deepStrictEqual(
        kinds(ofId(events, sentinel.id)),
        ["TaskAddRequested", "TaskAdded", "AttemptStarting"],
        "no event for the sentinel since"
      )
      assert.isUndefined(yield* outcomeNow(sentinel), "sentinel has no outcome")
    })
    return { controller, events, supervisor, sentinel, since: () => events.slice(mark), unchanged }
  })

describe("bad input: task specs", () => {
  describe("names", () => {
    it.scoped("an empty or non-string name is refused at admission, with a ConfigError naming 'name'", () =>
      Effect.gen(function*() {
        const { controller, since, supervisor, unchanged } = yield* withSentinel()
        const builders: ReadonlyArray<(name: string) => TaskSpec.TaskSpec<unknown, never>> = [
          (name) => TaskSpec.make(name, Effect.void),
          (name) => TaskSpec.once(name, Effect.void),
          (name) => TaskSpec.restartable(name, Effect.void),
          (name) => TaskSpec.periodic(name, Effect.void, "1 second"),
          (name) => TaskSpec.group(name, [TaskSpec.make("child", Effect.void)])
        ]
        for (const build of builders) {
          for (const name of ["", undefined, 42, null] as ReadonlyArray<unknown>) {
            // building it does not throw: the spec is inert until it is added
            const spec = build(name as string)
            const reason = name === ""
              ? "a task needs a non-empty name"
              : `a task name must be a string, got ${String(name)}`
            assertConfigError(yield* Effect.flip(supervisor.add(spec)), "name", reason)
            assertConfigError(
              yield* Effect.flip(controller.submit(ControllerSpec.queue(spec).pipe(ControllerSpec.withSlot("s")))),
              "name",
              reason
            )
            // without a slot of its own, the task's name is its slot: still the name is what is wrong
            assertConfigError(yield* Effect.flip(controller.submit(ControllerSpec.queue(spec))), "name", reason)
          }
        }
        yield* unchanged
        assert.deepStrictEqual(since(), [], "a refused spec publishes nothing")
      }))

    it.scoped("a slot key that is empty is refused by submit; nothing runs", () =>
      Effect.gen(function*() {
        const { controller, since, unchanged } = yield* withSentinel()
        const { runs, task } = yield* counting(Effect.void)
        assertConfigError(
          yield* Effect.flip(
            controller.submit(ControllerSpec.queue(TaskSpec.once("fine", task)).pipe(ControllerSpec.withSlot("")))
          ),
          "slot",
          "a slot key must be a non-empty string"
        )
        yield* unchanged
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.deepStrictEqual(since(), [], "a refused spec publishes nothing")
      }))

    // names are opaque keys compared exactly: any non-empty string is valid, even one a human cannot read
    const unusual: ReadonlyArray<readonly [label: string, name: string]> = [
      ["whitespace only", "   "],
      ["a tab", "\t"],
      ["leading and trailing spaces", " sentinel "],
      ["a newline", "line\nbreak"],
      ["CRLF", "a\r\nb"],
      ["non-Latin letters", "задача-名前"],
      ["emoji with ZWJ", "🚀 launch 👩‍🚀"],
      ["NFC é", "caf\u00e9"],
      ["NFD é", "cafe\u0301"],
      ["a path", "../x"],
      ["quotes", `it's "quoted" \`x\``],
      ["backslashes", "C:\\tasks\\x"],
      ["a NUL", "nul\u0000byte"],
      ["a lone surrogate", "\ud800"],
      ["__proto__", "__proto__"],
      ["constructor", "constructor"],
      ["digits", "42"],
      ["the sentinel's id as text", "1"],
      ["10 000 characters", "x".repeat(10_000)]
    ]

    for (const [label, name] of unusual) {
      it.scoped(`${label}: a valid name for add, list, isAlive, duplicates, remove and cancel`, () =>
        Effect.gen(function*() {
          const { events, sentinel, supervisor, unchanged } = yield* withSentinel()
          const first = yield* supervisor.add(TaskSpec.make(name, neverEnding))
          yield* settle
          assert.strictEqual(first.name, name)
          assert.deepStrictEqual(
            (yield* supervisor.list).map((t) => [t.id, t.name, t.state]),
            [[sentinel.id, "sentinel", "Running"], [first.id, name, "Running"]]
          )
          assert.isTrue(yield* supervisor.isAlive(name))

          const duplicate = yield* Effect.flip(supervisor.add(TaskSpec.once(name, Effect.void)))
          assert.deepStrictEqual([duplicate._tag, (duplicate as SupervisorError.TaskAlreadyExists).taskName], [
            "TaskAlreadyExists",
            name
          ])
          assert.isTrue(yield* supervisor.remove(name))
          assert.strictEqual((yield* first.await)._tag, "Canceled")
          assert.isFalse(yield* supervisor.isAlive(name))
          assert.isFalse(yield* supervisor.remove(name), "gone: not an error")

          const second = yield* supervisor.add(TaskSpec.make(name, neverEnding))
          yield* settle
          assert.isTrue(yield* supervisor.cancel(name))
          assert.strictEqual((yield* second.await)._tag, "Canceled")
          yield* unchanged

          expectTaskEvents(events, first.id, ["AttemptStarting", "TaskRemoveRequested", "AttemptCanceled"])
          const ids = new Set([first.id, first.id + 1, second.id])
          const own = events.filter((e) => "id" in e && ids.has(e.id))
          assert.strictEqual(own.length, 7 + 2 + 7)
          for (const e of own) {
            assert.strictEqual("task" in e ? e.task : undefined, name, `${e._tag} names the task exactly`)
          }
          assert.deepStrictEqual(
            ofTag(events, "TaskAddFailed").map((e) => [e.task, e.rejection]),
            [[name, "AlreadyExists"]]
          )
        }))
    }

    it.scoped("all the unusual names coexist as distinct tasks; ids and names never mix", () =>
      Effect.gen(function*() {
        const { sentinel, supervisor, unchanged } = yield* withSentinel()
        const handles = yield* Effect.forEach(unusual, ([, name]) => supervisor.add(TaskSpec.make(name, neverEnding)))
        yield* settle
        assert.deepStrictEqual((yield* supervisor.list).map((t) => t.name), [
          "sentinel",
          ...unusual.map(([, name]) => name)
        ])
        // "1" is a name here, while 1 is the sentinel's id
        const one = handles[unusual.findIndex(([, name]) => name === "1")]
        assert.isTrue(yield* supervisor.remove("1"))
        assert.strictEqual((yield* one.await)._tag, "Canceled")
        yield* unchanged
        assert.strictEqual((yield* Effect.flip(supervisor.remove(42))).target, 42, "the id 42 is unknown")
        assert.isTrue(yield* supervisor.remove("42"), "the name 42 is known")
        for (const handle of handles) {
          if (handle.name !== "1" && handle.name !== "42") assert.isTrue(yield* supervisor.cancel(handle.id))
        }
        assert.deepStrictEqual((yield* supervisor.list).map((t) => t.id), [sentinel.id])
        yield* unchanged
      }))

    it.scoped("a duplicate of a live task fails with TaskAlreadyExists and one TaskAddFailed; the live task is untouched", () =>
      Effect.gen(function*() {
        const { since, supervisor, unchanged } = yield* withSentinel()
        const { runs, task } = yield* counting(Effect.void)
        const error = yield* Effect.flip(supervisor.add(TaskSpec.once("sentinel", task)))
        assert.deepStrictEqual([error._tag, (error as SupervisorError.TaskAlreadyExists).taskName], [
          "TaskAlreadyExists",
          "sentinel"
        ])
        assert.strictEqual(error.message, "task name 'sentinel' already exists")
        yield* unchanged
        assert.strictEqual(yield* Ref.get(runs), 0, "the duplicate never ran")
        assert.deepStrictEqual(
          since().map((e) => [e._tag, "id" in e ? e.id : undefined]),
          [["TaskAddRequested", 2], ["TaskAddFailed", 2]]
        )
        const [failed] = ofTag(since(), "TaskAddFailed")
        assert.deepStrictEqual([failed.task, failed.rejection, failed.reason], [
          "sentinel",
          "AlreadyExists",
          "a registered task already uses this name"
        ])
      }))

    const batches: ReadonlyArray<readonly [label: string, names: ReadonlyArray<string>, conflict: string]> = [
      ["a name twice in one batch", ["a", "b", "a"], "a"],
      ["the live task's name in a batch", ["a", "sentinel", "b"], "sentinel"],
      ["every item the same", ["x", "x", "x"], "x"]
    ]
    for (const [label, names, conflict] of batches) {
      it.scoped(`run with ${label}: rejected as a whole, nothing started`, () =>
        Effect.gen(function*() {
          const { since, supervisor, unchanged } = yield* withSentinel()
          const { runs, task } = yield* counting(Effect.void)
          const error = yield* Effect.flip(supervisor.run(names.map((name) => TaskSpec.once(name, task))))
          assert.deepStrictEqual([error._tag, (error as SupervisorError.TaskAlreadyExists).taskName], [
            "TaskAlreadyExists",
            conflict
          ])
          yield* unchanged
          assert.strictEqual(yield* Ref.get(runs), 0, "no item ran")
          const seen = new Set<string>(["sentinel"])
          const expected = names.map((name) => {
            const rejection = seen.has(name) ? "AlreadyExists" : "BatchRejected"
            seen.add(name)
            return [name, rejection]
          })
          assert.deepStrictEqual(ofTag(since(), "TaskAddFailed").map((e) => [e.task, e.rejection]), expected)
          assert.deepStrictEqual(
            kinds(since()),
            [...names.map(() => "TaskAddRequested"), ...names.map(() => "TaskAddFailed")],
            "nothing but the requests and their rejections"
          )
        }))
    }
  })

  describe("per-task settings", () => {
    const badTimeouts: ReadonlyArray<readonly [label: string, value: unknown, reason: string]> = [
      ["-1", -1, negative("-1")],
      ["\"-2 seconds\"", "-2 seconds", negative("-2 seconds")],
      ["NaN", NaN, notADuration("NaN")],
      ["[0, NaN]", [0, NaN], notADuration("[0, NaN]")],
      ["Infinity", Infinity, infinite],
      ["\"1e300 millis\"", "1e300 millis", notADuration("\"1e300 millis\"")],
      ["\"soon\"", "soon", notADuration("\"soon\"")]
    ]
    const badRetries: ReadonlyArray<readonly [label: string, value: number, reason: string]> = [
      ["-1", -1, belowMin(0, "-1")],
      ["1.5", 1.5, notWhole("1.5")],
      ["NaN", NaN, notWhole("NaN")],
      ["Infinity", Infinity, notWhole("Infinity")],
      ["MAX_SAFE_INTEGER + 2", MAX + 2, tooLarge(String(MAX + 2))]
    ]
    const cases: ReadonlyArray<
      readonly [label: string, options: TaskSpec.Options<never>, field: string, reason: string]
    > = [
      ...badTimeouts.map(([label, value, reason]) =>
        [
          `timeout ${label}`,
          { timeout: value as Duration.DurationInput },
          "timeout of task 'bad'",
          reason
        ] as const
      ),
      ...badRetries.map(([label, value, reason]) =>
        [`maxRetries ${label}`, { maxRetries: value }, "maxRetries of task 'bad'", reason] as const
      )
    ]

    for (const [label, options, field, reason] of cases) {
      it.scoped(`${label}: add, run and submit fail with ConfigError at admission; nothing else is disturbed`, () =>
        Effect.gen(function*() {
          const { controller, since, supervisor, unchanged } = yield* withSentinel()
          const { runs, task } = yield* counting(Effect.void)
          const bad = TaskSpec.make("bad", task, options)
          assertConfigError(yield* Effect.flip(supervisor.add(bad)), field, reason)
          assertConfigError(yield* Effect.flip(controller.submit(ControllerSpec.queue(bad))), field, reason)
          assertConfigError(yield* Effect.flip(supervisor.run([TaskSpec.once("good", task), bad])), field, reason)
          yield* unchanged
          assert.strictEqual(yield* Ref.get(runs), 0, "neither the bad spec nor its batch ran")
          assert.deepStrictEqual(since(), [], "nothing was published")
          assert.strictEqual((yield* supervisor.add(TaskSpec.once("next", Effect.void))).id, 2, "no id used up")
        }))
    }

    it.scoped("odd but valid: timeout 0 or null (none), 1e300 ms; maxRetries 0, MAX_SAFE_INTEGER, null", () =>
      Effect.gen(function*() {
        const { events, supervisor, unchanged } = yield* withSentinel({ defaults: { timeout: "1 second" } })
        const sleeping = (name: string, timeout: Duration.DurationInput | null) =>
          supervisor.add(TaskSpec.once(name, Effect.sleep("1 minute")).pipe(TaskSpec.withTimeout(timeout)))
        const zero = yield* sleeping("zero", 0)
        const none = yield* sleeping("none", null)
        const huge = yield* sleeping("huge", 1e300)
        const once = yield* supervisor.add(
          TaskSpec.restartable("retries-0", Effect.fail("boom")).pipe(TaskSpec.withMaxRetries(0))
        )
        const many = yield* supervisor.add(
          TaskSpec.restartable("retries-max", (yield* failNTimes(3, "boom")).task).pipe(
            TaskSpec.withMaxRetries(MAX),
            TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
          )
        )
        const unlimited = yield* supervisor.add(
          TaskSpec.restartable("retries-null", (yield* failNTimes(3, "boom")).task).pipe(
            TaskSpec.withMaxRetries(null),
            TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
          )
        )
        yield* advance("1 minute")
        for (const handle of [zero, none, huge, many, unlimited]) {
          assert.strictEqual((yield* handle.await)._tag, "Completed", handle.name)
        }
        const failed = yield* once.await
        assert.strictEqual(failed._tag, "Failed")
        assert.strictEqual(ofTag(events, "AttemptStarting", "retries-0").length, 1)
        assert.deepStrictEqual(ofTag(events, "AttemptTimedOut"), [])
        yield* unchanged
      }))
  })

  describe("restart interval", () => {
    // a bad interval is carried by the policy and refused where it is used (never a 1 ms restart loop);
    // unsafeAlways throws it at once
    const badIntervals: ReadonlyArray<readonly [label: string, value: unknown, reason: string]> = [
      ["-1000", -1000, negative("-1000")],
      ["\"-1 seconds\"", "-1 seconds", negative("-1 seconds")],
      ["NaN", NaN, notADuration("NaN")],
      ["Infinity", Infinity, infinite],
      ["\"soon\"", "soon", notADuration("\"soon\"")]
    ]
    for (const [label, value, reason] of badIntervals) {
      it.scoped(
        `periodic and always({ interval: ${label} }) are refused where they are used, with a ConfigError naming restart`,
        () =>
          Effect.gen(function*() {
            const interval = value as Duration.DurationInput
            const { since, supervisor, unchanged } = yield* withSentinel()
            for (
              const spec of [
                TaskSpec.periodic("p", Effect.void, interval),
                TaskSpec.make("p", Effect.void, { restart: RestartPolicy.always({ interval }) })
              ]
            ) {
              assertConfigError(yield* Effect.flip(supervisor.add(spec)), "restart of task 'p'", `interval ${reason}`)
            }
            assertConfigError(
              yield* Effect.flip(SupervisorConfig.make({ defaults: { restart: RestartPolicy.always({ interval }) } })),
              "defaults.restart",
              `interval ${reason}`
            )
            yield* unchanged
            assert.deepStrictEqual(since(), [], "a refused spec publishes nothing")
          })
      )

      it(`unsafeAlways({ interval: ${label} }) throws ConfigError naming the interval`, () => {
        let thrown: unknown = undefined
        let built: unknown = undefined
        try {
          built = RestartPolicy.unsafeAlways({ interval: value as Duration.DurationInput })
        } catch (error) {
          thrown = error
        }
        assert.isUndefined(built, "accepted: a negative or NaN interval becomes none (a 1 ms restart loop)")
        assertConfigError(thrown, "interval", reason)
      })
    }

    it.scoped("zero and huge finite intervals are valid: 0 restarts after the 1 ms floor, 1e300 ms waits", () =>
      Effect.gen(function*() {
        const { supervisor, unchanged } = yield* withSentinel()
        const zero = yield* counting(Effect.void)
        const huge = yield* counting(Effect.void)
        yield* supervisor.add(TaskSpec.periodic("zero", zero.task, 0))
        yield* supervisor.add(TaskSpec.periodic("huge", huge.task, 1e300))
        yield* advance(10)
        assert.strictEqual(yield* Ref.get(zero.runs), 11, "at 0, 1, …, 10 ms")
        assert.strictEqual(yield* Ref.get(huge.runs), 1)
        yield* unchanged
      }))
  })

  it.scoped("a failure value whose description throws still ends the task through its retry policy", () =>
    Effect.gen(function*() {
      const { events, supervisor, unchanged } = yield* withSentinel()
      const undescribable = {
        toString(): string {
          throw new Error("no toString")
        },
        toJSON(): unknown {
          throw new Error("no toJSON")
        }
      }
      const handle = yield* supervisor.add(
        TaskSpec.restartable("odd-failure", Effect.fail(undescribable)).pipe(TaskSpec.withMaxRetries(0))
      )
      yield* settle
      const outcome = yield* handle.await
      assert.strictEqual(outcome._tag, "Failed", "a typed failure with no retry left ends Failed, not Canceled")
      assert.strictEqual(ofTag(events, "AttemptFailed", "odd-failure").length, 1)
      yield* unchanged
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// management calls

describe("bad input: management calls", () => {
  const unknownTargets: ReadonlyArray<number | string> = [
    0,
    -1,
    2,
    999,
    NaN,
    1.5,
    Infinity,
    MAX + 2,
    "ghost",
    "",
    "SENTINEL",
    "sentinel ",
    " sentinel",
    "1"
  ]

  for (const target of unknownTargets) {
    const shown = typeof target === "string" ? JSON.stringify(target) : String(target)
    const outcome = typeof target === "string"
      ? "return false (not registered now)"
      : "fail with TaskNotFound naming it"
    it.scoped(`remove/cancel of unknown ${shown} ${outcome}; isAlive is false`, () =>
      Effect.gen(function*() {
        const { since, supervisor, unchanged } = yield* withSentinel()
        for (const call of [supervisor.remove(target), supervisor.cancel(target), supervisor.cancel(target, {})]) {
          const result = yield* Effect.either(call)
          if (typeof target === "string") {
            assert.deepStrictEqual(result, Either.right(false))
            continue
          }
          assert.isTrue(Either.isLeft(result))
          const error = Either.getLeft(result).pipe(Option.getOrThrow)
          assert.strictEqual(error._tag, "TaskNotFound")
          const notFound = error as SupervisorError.TaskNotFound
          assert.isTrue(Object.is(notFound.target, target), `target ${String(notFound.target)}`)
          assert.strictEqual(notFound.message, `task id #${target} was never issued by this supervisor`)
        }
        if (typeof target === "string") assert.isFalse(yield* supervisor.isAlive(target))
        yield* unchanged
        assert.deepStrictEqual(since(), [], "nothing was published")
      }))
  }

  const badCancelTimeouts: ReadonlyArray<readonly [label: string, value: unknown, reason: string]> = [
    ["-1", -1, negative("-1")],
    ["NaN", NaN, notADuration("NaN")],
    ["[NaN, 0]", [NaN, 0], notADuration("[NaN, 0]")],
    ["Infinity", Infinity, infinite],
    ["\"1e300 millis\"", "1e300 millis", notADuration("\"1e300 millis\"")],
    ["\"later\"", "later", notADuration("\"later\"")]
  ]
  for (const [label, value, reason] of badCancelTimeouts) {
    it.scoped(`cancel with timeout ${label} fails with ConfigError before stopping anything`, () =>
      Effect.gen(function*() {
        const { sentinel, since, supervisor, unchanged } = yield* withSentinel()
        const timeout = value as Duration.DurationInput
        assertConfigError(yield* Effect.flip(supervisor.cancel("sentinel", { timeout })), "timeout", reason)
        assertConfigError(yield* Effect.flip(supervisor.cancel(sentinel.id, { timeout })), "timeout", reason)
        // the timeout is checked before the target is looked up
        assertConfigError(yield* Effect.flip(supervisor.cancel("ghost", { timeout })), "timeout", reason)
        yield* unchanged
        assert.deepStrictEqual(since(), [], "no TaskRemoveRequested")
      }))
  }

  it.scoped("a second run fails with AlreadyRunning, admits nothing and leaves the first run going", () =>
    Effect.gen(function*() {
      const { since, supervisor, unchanged } = yield* withSentinel()
      const { runs, task } = yield* counting(Effect.void)
      const first = yield* Effect.fork(supervisor.run([TaskSpec.make("static", neverEnding)]))
      yield* settle
      const mark = since().length
      for (
        const batch of [[TaskSpec.once("other", task)], [], [TaskSpec.once("x", task).pipe(TaskSpec.withTimeout(NaN))]]
      ) {
        const error = yield* Effect.flip(supervisor.run(batch))
        assert.instanceOf(error, SupervisorError.AlreadyRunning)
        assert.strictEqual(error.message, "supervisor run() was already started")
      }
      yield* unchanged
      assert.strictEqual(yield* Ref.get(runs), 0)
      assert.deepStrictEqual(since().slice(mark), [], "the refused runs published nothing")
      assert.isTrue(yield* supervisor.isAlive("static"))
      assert.isTrue(Option.isNone(yield* first.poll), "the first run still waits")

      assert.isTrue(yield* supervisor.cancel("static"))
      assert.isTrue(yield* supervisor.cancel("sentinel"))
      yield* settle
      assert.deepStrictEqual(
        (yield* Fiber.join(first)).map((o) => o._tag),
        ["Canceled"],
        "the first run ends when the registry is empty, with its batch's outcome"
      )
    }))

  it.scoped("run is single-shot even when its batch was refused (taskvisor §6.1); add still works", () =>
    Effect.gen(function*() {
      const { supervisor, unchanged } = yield* withSentinel()
      const bad = TaskSpec.once("bad", Effect.void).pipe(TaskSpec.withMaxRetries(-1))
      assert.strictEqual((yield* Effect.flip(supervisor.run([bad])))._tag, "ConfigError")
      assert.strictEqual(
        (yield* Effect.flip(supervisor.run([TaskSpec.once("good", Effect.void)])))._tag,
        "AlreadyRunning"
      )
      const added = yield* supervisor.add(TaskSpec.once("good", Effect.void))
      assert.strictEqual((yield* added.await)._tag, "Completed")
      yield* unchanged
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// after shutdown

describe("bad input: calls after shutdown", () => {
  it.scoped("add and submit fail with ShuttingDown (before any validation); stops of gone tasks return false", () =>
    Effect.gen(function*() {
      const { controller, events, sentinel, supervisor } = yield* withSentinel()
      yield* supervisor.shutdown
      assert.strictEqual((yield* sentinel.await)._tag, "Canceled")
      const mark = events.length
      const { runs, task } = yield* counting(Effect.void)

      const refusals: ReadonlyArray<Effect.Effect<unknown, SupervisorError.SupervisorError>> = [
        supervisor.add(TaskSpec.once("late", task)),
        supervisor.add(TaskSpec.once("sentinel", task)),
        supervisor.add(TaskSpec.once("late", task).pipe(TaskSpec.withMaxRetries(-1))),
        supervisor.add(TaskSpec.once("late", task).pipe(TaskSpec.withTimeout(NaN))),
        controller.submit(ControllerSpec.queue(TaskSpec.once("late", task))),
        controller.submitAndWatch(ControllerSpec.replace(TaskSpec.once("late", task)))
      ]
      for (const refusal of refusals) {
        const error = yield* Effect.flip(refusal)
        assert.instanceOf(error, SupervisorError.ShuttingDown)
        assert.strictEqual(error.message, "supervisor is shutting down")
      }
      for (const target of [sentinel.id, "sentinel", "ghost"]) {
        assert.isFalse(yield* supervisor.remove(target), `remove(${target}): gone`)
        assert.isFalse(yield* supervisor.cancel(target), `cancel(${target}): gone`)
      }
      assert.strictEqual((yield* Effect.flip(supervisor.remove(99)))._tag, "TaskNotFound")
      assert.strictEqual((yield* Effect.flip(supervisor.cancel(99)))._tag, "TaskNotFound")
      assert.strictEqual((yield* Effect.flip(supervisor.cancel("sentinel", { timeout: -1 })))._tag, "ConfigError")
      assert.isFalse(yield* supervisor.isAlive("sentinel"))
      assert.deepStrictEqual(yield* supervisor.list, [])
      assert.deepStrictEqual((yield* controller.snapshot).slots, [])
      yield* supervisor.awaitEmpty
      yield* supervisor.shutdown
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 0)
      assert.deepStrictEqual(events.slice(mark), [], "nothing is published after shutdown")
    }))

  it.scoped("run after shutdown fails with ShuttingDown and admits nothing, even after a GraceExceeded", () =>
    Effect.gen(function*() {
      const { events, supervisor } = yield* withSentinel({ grace: "1 second" })
      yield* supervisor.add(TaskSpec.make("stuck", Effect.uninterruptible(Effect.never)))
      yield* settle
      const shutting = yield* Effect.fork(Effect.flip(supervisor.shutdown))
      yield* advance("1 second")
      assert.strictEqual((yield* Fiber.join(shutting))._tag, "GraceExceeded")
      const mark = events.length
      const { runs, task } = yield* counting(Effect.void)
      for (const name of ["late", "later"]) {
        const error = yield* Effect.flip(supervisor.run([TaskSpec.once(name, task)]))
        assert.strictEqual(error._tag, "ShuttingDown")
      }
      yield* settle
      assert.strictEqual(yield* Ref.get(runs), 0)
      assert.deepStrictEqual(events.slice(mark), [])
      assert.strictEqual(yield* Ref.get(runs), 0)
    }))
})

// a Subscriber.layer with no subscriber: the supervisor publishes nothing, and refusals still come back typed
describe("bad input: with nobody listening", () => {
  it.scoped("every refusal is the same typed error when nothing is published", () =>
    Effect.gen(function*() {
      const supervisor = yield* supervisorWithSubscribers({ controller: {} }, [])
      const live = yield* supervisor.add(TaskSpec.make("live", neverEnding))
      yield* settle
      const dup = yield* Effect.flip(supervisor.add(TaskSpec.once("live", Effect.void)))
      assert.strictEqual(dup._tag, "TaskAlreadyExists")
      assert.strictEqual(
        (yield* Effect.flip(supervisor.run([TaskSpec.once("x", Effect.void), TaskSpec.once("x", Effect.void)])))._tag,
        "TaskAlreadyExists"
      )
      assert.isFalse(yield* supervisor.remove("ghost"))
      assert.strictEqual((yield* Effect.flip(supervisor.remove(99)))._tag, "TaskNotFound")
      assert.strictEqual((yield* Effect.flip(supervisor.cancel("live", { timeout: NaN })))._tag, "ConfigError")
      assert.isTrue(yield* supervisor.isAlive("live"))
      assert.isUndefined(yield* outcomeNow(live))
    }))
})
