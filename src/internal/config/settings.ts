/** The supervisor's settings as validated: supervisor-wide values, the defaults tasks inherit, and metrics. */
import type * as Duration from "effect/Duration"
import type { RestartPolicy } from "./restartPolicy.js"
import type { AutoShutdown, Intensity, Retry } from "./taskSpec.js"

/** What a task inherits for every setting its spec leaves unset. */
export interface TaskDefaults {
  readonly restart: RestartPolicy
  readonly retry: Retry
  /** `undefined`: attempts have no timeout. */
  readonly timeout: Duration.Duration | undefined
  /** `undefined`: unlimited retries. */
  readonly maxRetries: number | undefined
  /** `undefined`: no restart intensity. */
  readonly intensity: Intensity | undefined
}

/**
 * Whether the supervisor updates its Effect `Metric`s, whether they carry the
 * `task` label, and for how many task names at most: Effect keeps every
 * labelled metric for the life of the process, and an exporter sends a series
 * per label value, so the names that come after the first `maxTaskLabels` of
 * the process count under `task="(other)"` (and in
 * `taskvisor_task_labels_folded_total`).
 */
export interface MetricsSettings {
  readonly enabled: boolean
  readonly taskLabel: boolean
  readonly maxTaskLabels: number
}

/** Supervisor-wide settings and the defaults tasks inherit. */
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
  /** The supervisor's Effect `Metric`s (see `SupervisorMetrics`). */
  readonly metrics: MetricsSettings
  /**
   * When significant tasks added to the supervisor (`TaskSpec.significant`)
   * shut it down by ending by themselves, as OTP's `auto_shutdown`: `never`,
   * `anySignificant` or `allSignificant`.
   */
  readonly autoShutdown: AutoShutdown
}
