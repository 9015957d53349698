/**
 * Supervisor-wide settings, the defaults tasks inherit, and the set of
 * subscribers the supervisor publishes to. `TaskSupervisor.layer` requires
 * both: provide `layer(partial)`, `layerFromEnv()` or `layerDefaults`, which
 * give them together, and add subscribers with `Subscriber.layer`. Every invalid value fails with a `ConfigError`
 * naming its field.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as BackoffPolicy from "./BackoffPolicy.js"
import * as restartPolicy from "./internal/config/restartPolicy.js"
import * as retry from "./internal/config/retry.js"
import type * as settings from "./internal/config/settings.js"
import type { AutoShutdown, Intensity, Retry } from "./internal/config/taskSpec.js"
import * as validate from "./internal/config/validate.js"
import { Subscribers, SubscriberSet } from "./internal/events/subscriber.js"
import * as RestartPolicy from "./RestartPolicy.js"
import { ConfigError } from "./SupervisorError.js"

export type {
  /**
   * Whether the supervisor updates its Effect `Metric`s, whether they carry the
   * `task` label, and for how many task names at most: Effect keeps every
   * labelled metric for the life of the process, and an exporter sends a series
   * per label value, so the names that come after the first `maxTaskLabels` of
   * the process count under `task="(other)"` (and in
   * `taskvisor_task_labels_folded_total`).
   *
   * @since 0.1.0
   * @category Models
   */
  MetricsSettings,
  /**
   * The validated settings: `grace`, `subscriberShutdownTimeout`,
   * `maxConcurrent`, `busCapacity`, the task `defaults`, `metrics` and
   * `autoShutdown`.
   *
   * @since 0.1.0
   * @category Models
   */
  Settings,
  /**
   * What a task inherits for every setting its spec leaves unset.
   *
   * @since 0.1.0
   * @category Models
   */
  TaskDefaults
} from "./internal/config/settings.js"

export type {
  /**
   * The service of the subscribers `Subscriber.layer` adds: every layer of
   * this module provides a set of its own with the config (each build a new
   * one), which `TaskSupervisor.layer` follows. It has no operations of its
   * own; it shows in layer types as what a subscriber layer adds to and a
   * supervisor reads.
   *
   * @since 0.1.0
   * @category Services
   */
  Subscribers
} from "./internal/events/subscriber.js"

type Settings = settings.Settings
type TaskDefaults = settings.TaskDefaults

/**
 * @since 0.1.0
 * @category Services
 */
export class SupervisorConfig extends Context.Tag("effect-taskvisor/SupervisorConfig")<SupervisorConfig, Settings>() {}

/**
 * restart `onFailure`, backoff `BackoffPolicy.defaultPolicy`, no timeout,
 * unlimited retries, no restart intensity (taskvisor's behaviour).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const taskDefaults: TaskDefaults = {
  restart: RestartPolicy.onFailure,
  retry: BackoffPolicy.defaultPolicy,
  timeout: undefined,
  maxRetries: undefined,
  intensity: undefined
}

/**
 * grace 60 s, subscriberShutdownTimeout 5 s, unlimited concurrency,
 * busCapacity 1024, `taskDefaults`, metrics on with the task label (`make()`
 * gives them).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaults: Settings = {
  grace: Duration.seconds(60),
  subscriberShutdownTimeout: Duration.seconds(5),
  maxConcurrent: undefined,
  busCapacity: 1024,
  defaults: taskDefaults,
  metrics: { enabled: true, taskLabel: true, maxTaskLabels: 256 },
  autoShutdown: "never"
}

/**
 * The settings `make` and `layer` accept; anything left out keeps its default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Input {
  readonly grace?: Duration.DurationInput | undefined
  readonly subscriberShutdownTimeout?: Duration.DurationInput | undefined
  readonly maxConcurrent?: number | null | undefined
  readonly busCapacity?: number | undefined
  /** Whether significant tasks shut the supervisor down when they end by themselves (default `never`). */
  readonly autoShutdown?: AutoShutdown | undefined
  /** Metrics on (the default) or off, with the `task` label (the default) or without. */
  readonly metrics?: {
    readonly enabled?: boolean | undefined
    readonly taskLabel?: boolean | undefined
    readonly maxTaskLabels?: number | undefined
  } | undefined
  readonly defaults?: {
    readonly restart?: RestartPolicy.RestartPolicy | undefined
    readonly retry?: Retry | undefined
    readonly timeout?: Duration.DurationInput | null | undefined
    readonly maxRetries?: number | null | undefined
    readonly intensity?: Intensity | null | undefined
  } | undefined
}

/**
 * Validate `input` over the defaults.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (input: Input = {}): Effect.Effect<Settings, ConfigError> =>
  Effect.suspend(() => {
    const d = input.defaults ?? {}
    const fields = {
      grace: optional(input.grace, defaults.grace, (v) => validate.duration("grace", v)),
      subscriberShutdownTimeout: optional(
        input.subscriberShutdownTimeout,
        defaults.subscriberShutdownTimeout,
        (v) => validate.duration("subscriberShutdownTimeout", v)
      ),
      maxConcurrent: optional(
        input.maxConcurrent,
        defaults.maxConcurrent,
        (v) => v === null ? undefined : validate.integer("maxConcurrent", v, 1)
      ),
      busCapacity: optional(input.busCapacity, defaults.busCapacity, (v) => validate.integer("busCapacity", v, 1)),
      autoShutdown: optional(
        input.autoShutdown,
        defaults.autoShutdown,
        (v) => validate.autoShutdown("autoShutdown", v)
      ),
      metricsEnabled: optional(
        input.metrics?.enabled,
        defaults.metrics.enabled,
        (v) => validate.boolean("metrics.enabled", v)
      ),
      metricsTaskLabel: optional(
        input.metrics?.taskLabel,
        defaults.metrics.taskLabel,
        (v) => validate.boolean("metrics.taskLabel", v)
      ),
      metricsMaxTaskLabels: optional(
        input.metrics?.maxTaskLabels,
        defaults.metrics.maxTaskLabels,
        (v) => validate.integer("metrics.maxTaskLabels", v, 0)
      ),
      restart: optional(d.restart, taskDefaults.restart, (v) => restartPolicy.check("defaults.restart", v)),
      retry: optional(d.retry, taskDefaults.retry, (v) => retry.check("defaults.retry", v)),
      timeout: optional(d.timeout, taskDefaults.timeout, (v) => {
        if (v === null) return undefined
        const decoded = validate.duration("defaults.timeout", v)
        return decoded instanceof ConfigError || !Duration.isZero(decoded) ? decoded : undefined
      }),
      maxRetries: optional(
        d.maxRetries,
        taskDefaults.maxRetries,
        (v) => v === null ? undefined : validate.integer("defaults.maxRetries", v, 0)
      ),
      intensity: optional(d.intensity, taskDefaults.intensity, (v) => {
        if (v === null) return undefined
        const checked = validate.intensity("defaults.intensity", v, true)
        return checked instanceof ConfigError ? checked : v
      })
    }
    for (const value of Object.values(fields)) {
      if (value instanceof ConfigError) return Effect.fail(value)
    }
    const valid = fields as { [K in keyof typeof fields]: Exclude<(typeof fields)[K], ConfigError> }
    return Effect.succeed({
      grace: valid.grace,
      subscriberShutdownTimeout: valid.subscriberShutdownTimeout,
      maxConcurrent: valid.maxConcurrent,
      busCapacity: valid.busCapacity,
      metrics: {
        enabled: valid.metricsEnabled,
        taskLabel: valid.metricsTaskLabel,
        maxTaskLabels: valid.metricsMaxTaskLabels
      },
      autoShutdown: valid.autoShutdown,
      defaults: {
        restart: valid.restart,
        retry: valid.retry,
        timeout: valid.timeout,
        maxRetries: valid.maxRetries,
        intensity: valid.intensity
      }
    })
  })

const optional = <I, A>(input: I | undefined, fallback: A, decode: (input: I) => A | ConfigError): A | ConfigError =>
  input === undefined ? fallback : decode(input)

/** The config `settings` gives, beside a set of subscribers of its own for each build. */
const withSubscribers = <E>(settings: Effect.Effect<Settings, E>): Layer.Layer<SupervisorConfig | Subscribers, E> =>
  Layer.effectContext(
    Effect.map(
      settings,
      (valid) => Context.make(SupervisorConfig, valid).pipe(Context.add(Subscribers, new SubscriberSet()))
    )
  )

/**
 * Provide validated settings, and the `Subscribers` that `Subscriber.layer`
 * adds to (a set of their own for each build); an invalid value fails the
 * layer with a `ConfigError` naming the field.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (input: Input = {}): Layer.Layer<SupervisorConfig | Subscribers, ConfigError> =>
  withSubscribers(make(input))

/**
 * The defaults, for a supervisor that needs no other setting.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerDefaults: Layer.Layer<SupervisorConfig | Subscribers> = withSubscribers(Effect.succeed(defaults))

/**
 * The settings read from Effect's current `ConfigProvider` (by default the
 * environment), each optional: `<PREFIX>_GRACE`,
 * `<PREFIX>_SUBSCRIBER_SHUTDOWN_TIMEOUT`, `<PREFIX>_TIMEOUT` (durations:
 * Effect duration text such as `"5 seconds"`, or milliseconds),
 * `<PREFIX>_MAX_CONCURRENT`, `<PREFIX>_BUS_CAPACITY` and `<PREFIX>_MAX_RETRIES`
 * (whole numbers), `<PREFIX>_METRICS`, `<PREFIX>_METRICS_TASK_LABEL` (`true`
 * or `false`), `<PREFIX>_METRICS_MAX_TASK_LABELS` (a whole number) and `<PREFIX>_AUTO_SHUTDOWN` (`never`, `anySignificant` or
 * `allSignificant`). Read it under a prefix with `Config.nested`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const config: Config.Config<Input> = Config.all({
  grace: Config.option(validate.durationConfig("GRACE", "how long stopping tasks may take before force-abort")),
  subscriberShutdownTimeout: Config.option(
    validate.durationConfig("SUBSCRIBER_SHUTDOWN_TIMEOUT", "one deadline for all subscribers to drain at shutdown")
  ),
  maxConcurrent: Config.option(validate.integerConfig("MAX_CONCURRENT", 1, "the most attempts running at once")),
  busCapacity: Config.option(validate.integerConfig("BUS_CAPACITY", 1, "the buffer of each events stream")),
  autoShutdown: Config.option(
    Config.withDescription(
      Config.literal("never", "anySignificant", "allSignificant")("AUTO_SHUTDOWN"),
      "whether significant tasks that end shut the supervisor down"
    )
  ),
  metricsEnabled: Config.option(Config.withDescription(Config.boolean("METRICS"), "whether metrics are updated")),
  metricsTaskLabel: Config.option(
    Config.withDescription(Config.boolean("METRICS_TASK_LABEL"), "whether metrics carry the task label")
  ),
  metricsMaxTaskLabels: Config.option(
    validate.integerConfig("METRICS_MAX_TASK_LABELS", 0, "the most task names given a label of their own")
  ),
  timeout: Config.option(validate.durationConfig("TIMEOUT", "the default per-attempt timeout; 0 means none")),
  maxRetries: Config.option(validate.integerConfig("MAX_RETRIES", 0, "the default retries per failure streak"))
}).pipe(Config.map((raw): Input => ({
  grace: Option.getOrUndefined(raw.grace),
  subscriberShutdownTimeout: Option.getOrUndefined(raw.subscriberShutdownTimeout),
  maxConcurrent: Option.getOrUndefined(raw.maxConcurrent),
  busCapacity: Option.getOrUndefined(raw.busCapacity),
  autoShutdown: Option.getOrUndefined(raw.autoShutdown),
  metrics: {
    enabled: Option.getOrUndefined(raw.metricsEnabled),
    taskLabel: Option.getOrUndefined(raw.metricsTaskLabel),
    maxTaskLabels: Option.getOrUndefined(raw.metricsMaxTaskLabels)
  },
  defaults: { timeout: Option.getOrUndefined(raw.timeout), maxRetries: Option.getOrUndefined(raw.maxRetries) }
})))

/** The field each variable sets, by its name after the prefix. */
const fields: Readonly<Record<string, string>> = {
  GRACE: "grace",
  SUBSCRIBER_SHUTDOWN_TIMEOUT: "subscriberShutdownTimeout",
  MAX_CONCURRENT: "maxConcurrent",
  BUS_CAPACITY: "busCapacity",
  AUTO_SHUTDOWN: "autoShutdown",
  METRICS: "metrics.enabled",
  METRICS_TASK_LABEL: "metrics.taskLabel",
  METRICS_MAX_TASK_LABELS: "metrics.maxTaskLabels",
  TIMEOUT: "defaults.timeout",
  MAX_RETRIES: "defaults.maxRetries"
}

/**
 * `layer` over the settings `config` reads under `prefix`; a malformed value
 * fails with a `ConfigError` naming the field and the variable it was read
 * from (`invalid grace (TASKVISOR_GRACE): …`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv = (
  prefix: string = "TASKVISOR"
): Layer.Layer<SupervisorConfig | Subscribers, ConfigError> =>
  withSubscribers(Effect.flatMap(validate.fromConfig(config, prefix, fields), make))
