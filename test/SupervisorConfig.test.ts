import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorError from "../src/SupervisorError.js"
import { assertDuration } from "./utils/duration.js"

/** An env-style provider: keys like `TASKVISOR_GRACE`, path segments joined with `_` (as `fromEnv` does). */
const envProvider = (entries: ReadonlyArray<readonly [string, string]>) =>
  ConfigProvider.fromMap(new Map(entries), { pathDelim: "_" })

const buildFromEnv = (entries: ReadonlyArray<readonly [string, string]>, prefix?: string) =>
  Layer.build(prefix === undefined ? SupervisorConfig.layerFromEnv() : SupervisorConfig.layerFromEnv(prefix)).pipe(
    Effect.map(Context.get(SupervisorConfig.SupervisorConfig)),
    Effect.withConfigProvider(envProvider(entries))
  )

/** Assert a `ConfigError` naming `field` (exactly, or as the last segment of a dotted path). */
const assertConfigError = (error: unknown, field: string) => {
  assert.instanceOf(error, SupervisorError.ConfigError)
  const e = error as SupervisorError.ConfigError
  assert.strictEqual(e._tag, "ConfigError")
  assert.isTrue(SupervisorError.isSupervisorError(e))
  assert.isTrue(
    e.field === field || e.field.endsWith(`.${field}`),
    `expected the error to name field '${field}', got '${e.field}'`
  )
  assert.include(e.message, e.field)
  assert.isNotEmpty(e.reason)
}

describe("SupervisorConfig", () => {
  describe("defaults", () => {
    it("match taskvisor's defaults", () => {
      const d = SupervisorConfig.defaults
      assertDuration(d.grace, "60 seconds")
      assertDuration(d.subscriberShutdownTimeout, "5 seconds")
      assert.isUndefined(d.maxConcurrent)
      assert.strictEqual(d.busCapacity, 1024)
      assert.strictEqual(d.defaults.restart._tag, "OnFailure")
      assert.strictEqual(d.defaults.retry, BackoffPolicy.defaultPolicy)
      assert.isUndefined(d.defaults.timeout)
      assert.isUndefined(d.defaults.maxRetries)
      assert.strictEqual(SupervisorConfig.taskDefaults, d.defaults)
    })

    it.effect("make() with no input gives the defaults", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make()
        assertDuration(settings.grace, "60 seconds")
        assertDuration(settings.subscriberShutdownTimeout, "5 seconds")
        assert.isUndefined(settings.maxConcurrent)
        assert.strictEqual(settings.busCapacity, 1024)
        assert.strictEqual(settings.defaults.restart._tag, "OnFailure")
        assert.strictEqual(settings.defaults.retry, BackoffPolicy.defaultPolicy)
        assert.isUndefined(settings.defaults.timeout)
        assert.isUndefined(settings.defaults.maxRetries)
      }))
  })

  describe("make(partial)", () => {
    it.effect("overrides only the top-level fields given", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ grace: "2 seconds", maxConcurrent: 4 })
        assertDuration(settings.grace, "2 seconds")
        assert.strictEqual(settings.maxConcurrent, 4)
        assertDuration(settings.subscriberShutdownTimeout, "5 seconds")
        assert.strictEqual(settings.busCapacity, 1024)
        assert.deepStrictEqual(settings.defaults, SupervisorConfig.taskDefaults)
      }))

    it.effect("overrides every top-level field", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({
          grace: 1500,
          subscriberShutdownTimeout: "250 millis",
          maxConcurrent: 1,
          busCapacity: 8
        })
        assertDuration(settings.grace, "1500 millis")
        assertDuration(settings.subscriberShutdownTimeout, "250 millis")
        assert.strictEqual(settings.maxConcurrent, 1)
        assert.strictEqual(settings.busCapacity, 8)
      }))

    it.effect("overrides only the task defaults given", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ defaults: { maxRetries: 3 } })
        assert.strictEqual(settings.defaults.maxRetries, 3)
        assert.strictEqual(settings.defaults.restart._tag, "OnFailure")
        assert.strictEqual(settings.defaults.retry, BackoffPolicy.defaultPolicy)
        assert.isUndefined(settings.defaults.timeout)
        assertDuration(settings.grace, "60 seconds")
      }))

    it.effect("takes restart, retry (policy or schedule) and timeout defaults", () =>
      Effect.gen(function*() {
        const policy = BackoffPolicy.constant("1 second")
        const a = yield* SupervisorConfig.make({
          defaults: { restart: RestartPolicy.never, retry: policy, timeout: "30 seconds" }
        })
        assert.strictEqual(a.defaults.restart._tag, "Never")
        assert.strictEqual(a.defaults.retry, policy)
        assert.isDefined(a.defaults.timeout)
        assertDuration(a.defaults.timeout!, "30 seconds")
        assert.isUndefined(a.defaults.maxRetries)
        const schedule = Schedule.recurs(2)
        const b = yield* SupervisorConfig.make({ defaults: { retry: schedule } })
        assert.strictEqual(b.defaults.retry, schedule)
      }))

    it.effect("explicit undefined keeps the default", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ grace: undefined, busCapacity: undefined, defaults: undefined })
        assertDuration(settings.grace, "60 seconds")
        assert.strictEqual(settings.busCapacity, 1024)
        assert.deepStrictEqual(settings.defaults, SupervisorConfig.taskDefaults)
      }))
  })

  describe("valid edge values", () => {
    it.effect("grace 0 and subscriberShutdownTimeout 0", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ grace: 0, subscriberShutdownTimeout: "0 millis" })
        assertDuration(settings.grace, Duration.zero)
        assertDuration(settings.subscriberShutdownTimeout, Duration.zero)
      }))

    it.effect("maxConcurrent null is unlimited", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ maxConcurrent: null })
        assert.isUndefined(settings.maxConcurrent)
      }))

    it.effect("defaults.timeout 0 or null means none", () =>
      Effect.gen(function*() {
        for (const timeout of [0, null, "0 seconds", Duration.zero] as const) {
          const settings = yield* SupervisorConfig.make({ defaults: { timeout } })
          assert.isUndefined(settings.defaults.timeout, `timeout ${String(timeout)}`)
        }
      }))

    it.effect("defaults.maxRetries 0 is kept, null is unlimited", () =>
      Effect.gen(function*() {
        const zero = yield* SupervisorConfig.make({ defaults: { maxRetries: 0 } })
        assert.strictEqual(zero.defaults.maxRetries, 0)
        const unlimited = yield* SupervisorConfig.make({ defaults: { maxRetries: null } })
        assert.isUndefined(unlimited.defaults.maxRetries)
      }))

    it.effect("maxConcurrent 1 and busCapacity 1 are the smallest accepted", () =>
      Effect.gen(function*() {
        const settings = yield* SupervisorConfig.make({ maxConcurrent: 1, busCapacity: 1 })
        assert.strictEqual(settings.maxConcurrent, 1)
        assert.strictEqual(settings.busCapacity, 1)
      }))
  })

  describe("invalid values fail with ConfigError naming the field", () => {
    const badDurations: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
      ["negative", -1],
      ["negative (string)", "-5 seconds"],
      ["negative (bigint)", -1n],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["infinite Duration", Duration.infinity],
      ["malformed string", "soon" as Duration.DurationInput],
      ["a unit-less string", "5" as Duration.DurationInput]
    ]
    const badCounts: ReadonlyArray<readonly [string, number]> = [
      ["0", 0],
      ["-1", -1],
      ["1.5", 1.5],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["1e300", 1e300]
    ]

    const cases: Array<{ readonly label: string; readonly field: string; readonly input: SupervisorConfig.Input }> = []
    for (const [label, value] of badDurations) {
      cases.push({ label: `grace ${label}`, field: "grace", input: { grace: value } })
      cases.push({
        label: `subscriberShutdownTimeout ${label}`,
        field: "subscriberShutdownTimeout",
        input: { subscriberShutdownTimeout: value }
      })
    }
    for (const [label, value] of badCounts) {
      cases.push({ label: `maxConcurrent ${label}`, field: "maxConcurrent", input: { maxConcurrent: value } })
      cases.push({ label: `busCapacity ${label}`, field: "busCapacity", input: { busCapacity: value } })
    }
    cases.push(
      { label: "defaults.maxRetries -1", field: "maxRetries", input: { defaults: { maxRetries: -1 } } },
      { label: "defaults.maxRetries 1.5", field: "maxRetries", input: { defaults: { maxRetries: 1.5 } } },
      { label: "defaults.maxRetries NaN", field: "maxRetries", input: { defaults: { maxRetries: NaN } } },
      { label: "defaults.timeout negative", field: "timeout", input: { defaults: { timeout: -1 } } },
      {
        label: "defaults.timeout negative (string)",
        field: "timeout",
        input: { defaults: { timeout: "-3 seconds" } }
      },
      { label: "defaults.timeout NaN", field: "timeout", input: { defaults: { timeout: NaN } } },
      { label: "defaults.timeout Infinity", field: "timeout", input: { defaults: { timeout: Infinity } } },
      // policies built from an invalid value, and values that are no policy (a cast)
      {
        label: "defaults.restart always({ interval: -1 })",
        field: "restart",
        input: { defaults: { restart: RestartPolicy.always({ interval: -1 }) } }
      },
      {
        label: "defaults.restart a plain object",
        field: "restart",
        input: { defaults: { restart: { _tag: "Never" } as unknown as RestartPolicy.RestartPolicy } }
      },
      {
        label: "defaults.retry exponential(NaN)",
        field: "retry",
        input: { defaults: { retry: BackoffPolicy.exponential(NaN) } }
      },
      {
        label: "defaults.retry a plain object",
        field: "retry",
        input: { defaults: { retry: { first: 1 } as unknown as BackoffPolicy.BackoffPolicy } }
      }
    )

    for (const { field, input, label } of cases) {
      it.effect(`make: ${label}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(SupervisorConfig.make(input))
          assertConfigError(error, field)
        }))
    }

    it.scoped("layer(...) fails with the same error when built", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(SupervisorConfig.layer({ maxConcurrent: 0 })))
        assertConfigError(error, "maxConcurrent")
        const fromMake = yield* Effect.flip(SupervisorConfig.make({ maxConcurrent: 0 }))
        assert.deepStrictEqual(error, fromMake)
      }))

    it.effect("one bad field fails even when the others are fine", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          SupervisorConfig.make({ grace: "1 second", maxConcurrent: 2, busCapacity: 0, defaults: { maxRetries: 1 } })
        )
        assertConfigError(error, "busCapacity")
      }))
  })

  describe("layer", () => {
    it.scoped("provides the validated settings", () =>
      Effect.gen(function*() {
        const context = yield* Layer.build(SupervisorConfig.layer({ grace: "3 seconds", busCapacity: 16 }))
        const settings = Context.get(context, SupervisorConfig.SupervisorConfig)
        assertDuration(settings.grace, "3 seconds")
        assert.strictEqual(settings.busCapacity, 16)
        assertDuration(settings.subscriberShutdownTimeout, "5 seconds")
      }))

    it.scoped("layer() with no input provides the defaults", () =>
      Effect.gen(function*() {
        const settings = Context.get(yield* Layer.build(SupervisorConfig.layer()), SupervisorConfig.SupervisorConfig)
        assertDuration(settings.grace, "60 seconds")
        assert.strictEqual(settings.busCapacity, 1024)
        assert.isUndefined(settings.maxConcurrent)
      }))
  })

  describe("layerFromEnv", () => {
    it.scoped("reads every TASKVISOR_* variable", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([
          ["TASKVISOR_GRACE", "10 seconds"],
          ["TASKVISOR_MAX_CONCURRENT", "3"],
          ["TASKVISOR_BUS_CAPACITY", "64"],
          ["TASKVISOR_SUBSCRIBER_SHUTDOWN_TIMEOUT", "2 seconds"],
          ["TASKVISOR_TIMEOUT", "30 seconds"],
          ["TASKVISOR_MAX_RETRIES", "5"]
        ])
        assertDuration(settings.grace, "10 seconds")
        assert.strictEqual(settings.maxConcurrent, 3)
        assert.strictEqual(settings.busCapacity, 64)
        assertDuration(settings.subscriberShutdownTimeout, "2 seconds")
        assert.isDefined(settings.defaults.timeout)
        assertDuration(settings.defaults.timeout!, "30 seconds")
        assert.strictEqual(settings.defaults.maxRetries, 5)
        assert.strictEqual(settings.defaults.restart._tag, "OnFailure")
        assert.strictEqual(settings.defaults.retry, BackoffPolicy.defaultPolicy)
      }))

    it.scoped("metrics: TASKVISOR_METRICS and TASKVISOR_METRICS_TASK_LABEL; a value that is not a boolean names its variable", () =>
      Effect.gen(function*() {
        const off = yield* buildFromEnv([["TASKVISOR_METRICS", "false"], ["TASKVISOR_METRICS_TASK_LABEL", "false"]])
        assert.deepStrictEqual(off.metrics, { enabled: false, taskLabel: false, maxTaskLabels: 256 })
        assert.deepStrictEqual((yield* buildFromEnv([])).metrics, {
          enabled: true,
          taskLabel: true,
          maxTaskLabels: 256
        })
        assert.strictEqual(
          (yield* buildFromEnv([["TASKVISOR_METRICS_MAX_TASK_LABELS", "10"]])).metrics.maxTaskLabels,
          10
        )
        assertConfigError(
          yield* Effect.flip(buildFromEnv([["TASKVISOR_METRICS_MAX_TASK_LABELS", "-1"]])),
          "metrics.maxTaskLabels"
        )
        const error = yield* Effect.flip(buildFromEnv([["TASKVISOR_METRICS_TASK_LABEL", "sometimes"]]))
        assertConfigError(error, "metrics.taskLabel")
        assert.strictEqual((error as SupervisorError.ConfigError).variable, "TASKVISOR_METRICS_TASK_LABEL")
      }))

    it.scoped("autoShutdown: TASKVISOR_AUTO_SHUTDOWN; a value that is not one of the three names its variable", () =>
      Effect.gen(function*() {
        assert.strictEqual(
          (yield* buildFromEnv([["TASKVISOR_AUTO_SHUTDOWN", "allSignificant"]])).autoShutdown,
          "allSignificant"
        )
        assert.strictEqual((yield* buildFromEnv([])).autoShutdown, "never")
        const error = yield* Effect.flip(buildFromEnv([["TASKVISOR_AUTO_SHUTDOWN", "sometimes"]]))
        assertConfigError(error, "autoShutdown")
        assert.strictEqual((error as SupervisorError.ConfigError).variable, "TASKVISOR_AUTO_SHUTDOWN")
      }))

    it.scoped("bare numbers are milliseconds", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([["TASKVISOR_GRACE", "1500"], ["TASKVISOR_TIMEOUT", "250"]])
        assertDuration(settings.grace, "1500 millis")
        assertDuration(settings.defaults.timeout!, "250 millis")
      }))

    it.scoped("an empty environment gives the defaults", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([])
        assertDuration(settings.grace, "60 seconds")
        assertDuration(settings.subscriberShutdownTimeout, "5 seconds")
        assert.isUndefined(settings.maxConcurrent)
        assert.strictEqual(settings.busCapacity, 1024)
        assert.isUndefined(settings.defaults.timeout)
        assert.isUndefined(settings.defaults.maxRetries)
      }))

    it.scoped("only the given variables override", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([["TASKVISOR_MAX_RETRIES", "0"]])
        assert.strictEqual(settings.defaults.maxRetries, 0)
        assertDuration(settings.grace, "60 seconds")
        assert.strictEqual(settings.busCapacity, 1024)
      }))

    it.scoped("a TIMEOUT of 0 means no timeout", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([["TASKVISOR_TIMEOUT", "0"]])
        assert.isUndefined(settings.defaults.timeout)
      }))

    it.scoped("a custom prefix reads its own variables and ignores TASKVISOR_*", () =>
      Effect.gen(function*() {
        const settings = yield* buildFromEnv([
          ["APP_GRACE", "7 seconds"],
          ["APP_MAX_CONCURRENT", "2"],
          ["APP_BUS_CAPACITY", "32"],
          ["APP_SUBSCRIBER_SHUTDOWN_TIMEOUT", "1 second"],
          ["APP_TIMEOUT", "4 seconds"],
          ["APP_MAX_RETRIES", "9"],
          ["TASKVISOR_GRACE", "99 seconds"],
          ["TASKVISOR_MAX_CONCURRENT", "0"]
        ], "APP")
        assertDuration(settings.grace, "7 seconds")
        assert.strictEqual(settings.maxConcurrent, 2)
        assert.strictEqual(settings.busCapacity, 32)
        assertDuration(settings.subscriberShutdownTimeout, "1 second")
        assertDuration(settings.defaults.timeout!, "4 seconds")
        assert.strictEqual(settings.defaults.maxRetries, 9)
      }))

    it.scoped("works with Layer.setConfigProvider", () =>
      Effect.gen(function*() {
        const layer = SupervisorConfig.layerFromEnv().pipe(
          Layer.provide(Layer.setConfigProvider(envProvider([["TASKVISOR_BUS_CAPACITY", "128"]])))
        )
        const settings = Context.get(yield* Layer.build(layer), SupervisorConfig.SupervisorConfig)
        assert.strictEqual(settings.busCapacity, 128)
      }))

    const badEnv: ReadonlyArray<{ readonly key: string; readonly value: string; readonly field: string }> = [
      { key: "MAX_CONCURRENT", value: "0", field: "maxConcurrent" },
      { key: "MAX_CONCURRENT", value: "abc", field: "maxConcurrent" },
      { key: "MAX_CONCURRENT", value: "1.5", field: "maxConcurrent" },
      { key: "BUS_CAPACITY", value: "0", field: "busCapacity" },
      { key: "BUS_CAPACITY", value: "lots", field: "busCapacity" },
      { key: "GRACE", value: "abc", field: "grace" },
      { key: "GRACE", value: "-5", field: "grace" },
      { key: "GRACE", value: "-5 seconds", field: "grace" },
      { key: "GRACE", value: "Infinity", field: "grace" },
      { key: "SUBSCRIBER_SHUTDOWN_TIMEOUT", value: "later", field: "subscriberShutdownTimeout" },
      { key: "TIMEOUT", value: "-1", field: "timeout" },
      { key: "TIMEOUT", value: "forever", field: "timeout" },
      { key: "MAX_RETRIES", value: "-1", field: "maxRetries" },
      { key: "MAX_RETRIES", value: "1.5", field: "maxRetries" },
      { key: "MAX_RETRIES", value: "many", field: "maxRetries" },
      { key: "MAX_RETRIES", value: "", field: "maxRetries" },
      { key: "MAX_CONCURRENT", value: "", field: "maxConcurrent" }
    ]

    for (const { field, key, value } of badEnv) {
      it.scoped(`TASKVISOR_${key}=${JSON.stringify(value)} fails naming ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(buildFromEnv([[`TASKVISOR_${key}`, value]]))
          assertConfigError(error, field)
        }))
    }

    it.scoped("a bad value under a custom prefix fails naming the field and the variable", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(buildFromEnv([["APP_MAX_CONCURRENT", "0"]], "APP"))
        assertConfigError(error, "maxConcurrent")
        assert.strictEqual(
          error.message,
          "invalid maxConcurrent (APP_MAX_CONCURRENT): must be greater than zero, got 0"
        )
      }))

    it.scoped("the error names the variable the user set", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(buildFromEnv([["TASKVISOR_GRACE", "-5 seconds"]]))
        assertConfigError(error, "grace")
        assert.strictEqual((error as { variable?: string }).variable, "TASKVISOR_GRACE")
        assert.include(error.message, "TASKVISOR_GRACE")
      }))

    it.effect("config reads the raw input, under a prefix with Config.nested", () =>
      Effect.gen(function*() {
        const input = yield* Config.nested(SupervisorConfig.config, "TASKVISOR").pipe(
          Effect.withConfigProvider(envProvider([["TASKVISOR_MAX_CONCURRENT", "6"], ["TASKVISOR_GRACE", "2 seconds"]]))
        )
        assert.strictEqual(input.maxConcurrent, 6)
        assertDuration(input.grace as Duration.Duration, "2 seconds")
        assert.isUndefined(input.busCapacity)
      }))
  })
})
