/**
 * Supervisor-wide settings and the defaults tasks inherit. Provide them with
 * `layer(partial)` or `layerFromEnv()`; a supervisor built without them uses
 * `defaults`. Every invalid value fails with a `ConfigError` naming its field.
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
import * as validate from "./internal/validate.js"
import * as RestartPolicy from "./RestartPolicy.js"
import { ConfigError } from "./SupervisorError.js"
import type { Retry } from "./TaskSpec.js"

/**
 * What a task inherits for every setting its spec leaves unset.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TaskDefaults {
  readonly restart: RestartPolicy.RestartPolicy
  readonly retry: Retry
  /** `undefined`: attempts have no timeout. */
  readonly timeout: Duration.Duration | undefined
  /** `undefined`: unlimited retries. */
  readonly maxRetries: number | undefined
}

/**
 * Per-slot admission control (see `Controller`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface ControllerSettings {
  /** The most submissions waiting across all slots (default 1024). */
  readonly queueCapacity: number
  /** The most `queue` submissions waiting in one slot (default 100; 0 is valid); a replacement may always wait. */
  readonly maxSlotQueue: number
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Settings {
  /** How long stopping tasks may take before they are force-aborted. */
  readonly grace: Duration.Duration
  /** One deadline for all subscribers to drain their queues at shutdown. */
  readonly subscriberShutdownTimeout: Duration.Duration
  /** The most attempts running at once; `undefined` is unlimited. */
  readonly maxConcurrent: number | undefined
  /** The buffer of each `events` stream consumer. */
  readonly busCapacity: number
  readonly defaults: TaskDefaults
  /** `undefined`: no controller; controller calls fail with `ControllerNotConfigured`. */
  readonly controller: ControllerSettings | undefined
}

/**
 * @since 0.1.0
 * @category Services
 */
export class SupervisorConfig extends Context.Tag("effect-taskvisor/SupervisorConfig")<SupervisorConfig, Settings>() {}

/**
 * restart `onFailure`, backoff `BackoffPolicy.defaultPolicy`, no timeout,
 * unlimited retries.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const taskDefaults: TaskDefaults = {
  restart: RestartPolicy.onFailure,
  retry: BackoffPolicy.defaultPolicy,
  timeout: undefined,
  maxRetries: undefined
}

/**
 * grace 60 s, subscriberShutdownTimeout 5 s, unlimited concurrency,
 * busCapacity 1024, and `taskDefaults`.
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
  controller: undefined
}

/**
 * queueCapacity 1024, maxSlotQueue 100.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const controllerDefaults: ControllerSettings = {
  queueCapacity: 1024,
  maxSlotQueue: 100
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
  readonly defaults?: {
    readonly restart?: RestartPolicy.RestartPolicy | undefined
    readonly retry?: Retry | undefined
    readonly timeout?: Duration.DurationInput | null | undefined
    readonly maxRetries?: number | null | undefined
  } | undefined
  /** Enable the controller; omitted fields keep `controllerDefaults`. */
  readonly controller?: {
    readonly queueCapacity?: number | undefined
    readonly maxSlotQueue?: number | undefined
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
      queueCapacity: optional(
        input.controller?.queueCapacity,
        controllerDefaults.queueCapacity,
        (v) => validate.integer("controller.queueCapacity", v, 1)
      ),
      maxSlotQueue: optional(
        input.controller?.maxSlotQueue,
        controllerDefaults.maxSlotQueue,
        (v) => validate.integer("controller.maxSlotQueue", v, 0)
      )
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
      defaults: {
        restart: d.restart ?? taskDefaults.restart,
        retry: d.retry ?? taskDefaults.retry,
        timeout: valid.timeout,
        maxRetries: valid.maxRetries
      },
      controller: input.controller === undefined
        ? undefined
        : { queueCapacity: valid.queueCapacity, maxSlotQueue: valid.maxSlotQueue }
    })
  })

const optional = <I, A>(input: I | undefined, fallback: A, decode: (input: I) => A | ConfigError): A | ConfigError =>
  input === undefined ? fallback : decode(input)

/**
 * Provide validated settings; an invalid value fails the layer with a
 * `ConfigError` naming the field.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (input: Input = {}): Layer.Layer<SupervisorConfig, ConfigError> =>
  Layer.effect(SupervisorConfig, make(input))

/**
 * Read the settings from Effect's current `ConfigProvider` (by default the
 * environment): `<PREFIX>_GRACE`, `<PREFIX>_SUBSCRIBER_SHUTDOWN_TIMEOUT`,
 * `<PREFIX>_MAX_CONCURRENT`, `<PREFIX>_BUS_CAPACITY`, `<PREFIX>_TIMEOUT`,
 * `<PREFIX>_MAX_RETRIES`, `<PREFIX>_CONTROLLER_QUEUE_CAPACITY` and
 * `<PREFIX>_CONTROLLER_MAX_SLOT_QUEUE` (either enables the controller), each optional. Durations are Effect duration strings
 * (`"5 seconds"`) or milliseconds.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const config = (prefix: string = "TASKVISOR"): Config.Config<Input> => {
  const opt = (name: string) => Config.option(Config.string(name))
  return Config.nested(
    Config.all({
      grace: opt("GRACE"),
      subscriberShutdownTimeout: opt("SUBSCRIBER_SHUTDOWN_TIMEOUT"),
      maxConcurrent: opt("MAX_CONCURRENT"),
      busCapacity: opt("BUS_CAPACITY"),
      timeout: opt("TIMEOUT"),
      maxRetries: opt("MAX_RETRIES"),
      controllerQueueCapacity: opt("CONTROLLER_QUEUE_CAPACITY"),
      controllerMaxSlotQueue: opt("CONTROLLER_MAX_SLOT_QUEUE")
    }),
    prefix
  ).pipe(Config.map((raw): Input => {
    const isNumeric = (s: string) => /^\s*-?\d+(\.\d+)?\s*$/.test(s)
    const durationOf = (o: Option.Option<string>) =>
      Option.match(o, {
        onNone: () => undefined,
        onSome: (s): Duration.DurationInput => isNumeric(s) ? Number(s) : (s as Duration.DurationInput)
      })
    const numberOf = (o: Option.Option<string>) =>
      Option.match(o, { onNone: () => undefined, onSome: (s) => isNumeric(s) ? Number(s) : NaN })
    return {
      grace: durationOf(raw.grace),
      subscriberShutdownTimeout: durationOf(raw.subscriberShutdownTimeout),
      maxConcurrent: numberOf(raw.maxConcurrent),
      busCapacity: numberOf(raw.busCapacity),
      defaults: { timeout: durationOf(raw.timeout), maxRetries: numberOf(raw.maxRetries) },
      controller: Option.isNone(raw.controllerQueueCapacity) && Option.isNone(raw.controllerMaxSlotQueue)
        ? undefined
        : { queueCapacity: numberOf(raw.controllerQueueCapacity), maxSlotQueue: numberOf(raw.controllerMaxSlotQueue) }
    }
  }))
}

/**
 * `layer` over the settings `config(prefix)` reads; a malformed value fails
 * with a `ConfigError` naming the field and the variable it was read from
 * (`invalid grace (TASKVISOR_GRACE): …`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv = (prefix: string = "TASKVISOR"): Layer.Layer<SupervisorConfig, ConfigError> =>
  Layer.effect(
    SupervisorConfig,
    config(prefix).pipe(
      Effect.mapError((error) => new ConfigError({ field: prefix, reason: String(error) })),
      Effect.flatMap((input) =>
        Effect.mapError(
          make(input),
          ({ field, reason }) => new ConfigError({ field, reason, variable: `${prefix}_${variables[field]}` })
        )
      )
    )
  )

/** The variable each field is read from, after the prefix. */
const variables: Record<string, string> = {
  grace: "GRACE",
  subscriberShutdownTimeout: "SUBSCRIBER_SHUTDOWN_TIMEOUT",
  maxConcurrent: "MAX_CONCURRENT",
  busCapacity: "BUS_CAPACITY",
  "defaults.timeout": "TIMEOUT",
  "defaults.maxRetries": "MAX_RETRIES",
  "controller.queueCapacity": "CONTROLLER_QUEUE_CAPACITY",
  "controller.maxSlotQueue": "CONTROLLER_MAX_SLOT_QUEUE"
}
