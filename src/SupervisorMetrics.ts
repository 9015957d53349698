/**
 * The supervisor's Effect `Metric`s. They are updated where the supervisor
 * decides (an attempt ends, a task restarts or finishes), synchronously and
 * never through the event bus, so a slow subscriber cannot make them lose
 * counts. The counters and the histogram carry a `task` label (its name, a
 * group's child by its path) unless `SupervisorConfig` says
 * `metrics: { taskLabel: false }`; the state gauges are supervisor-wide.
 * `metrics: { enabled: false }` turns them off.
 *
 * Read them as any Effect metric (`Metric.value`, `Metric.snapshot`) or export
 * them through `@effect/opentelemetry` (see `examples/metrics.ts`).
 *
 * @since 0.1.0
 */
import type * as internal from "./internal/events/metrics.js"

export {
  /**
   * `taskvisor_attempt_duration_seconds`: how long attempts ran, whatever
   * their result.
   *
   * @since 0.1.0
   * @category Metrics
   */
  attemptDuration,
  /**
   * `taskvisor_attempts_total`: attempts that ended, by `result`:
   * `succeeded`, `failed`, `timed_out`, `stalled` or `canceled` (stopped, or
   * restarted by its group).
   *
   * @since 0.1.0
   * @category Metrics
   */
  attempts,
  /**
   * `taskvisor_tasks_backing_off`: tasks waiting between attempts (a backoff,
   * an `always` restart's interval, or a park).
   *
   * @since 0.1.0
   * @category Metrics
   */
  backingOff,
  /**
   * `taskvisor_events_dropped_total`: events lost for a subscriber (or an
   * `events` stream, `subscriber="events"`) whose queue was full, by
   * `subscriber`.
   *
   * @since 0.1.0
   * @category Metrics
   */
  eventsDropped,
  /**
   * `taskvisor_tasks_finished_total`: tasks that reached their terminal
   * outcome, by `outcome`: `completed`, `failed`, `fatal`, `canceled` or
   * `force_aborted`.
   *
   * @since 0.1.0
   * @category Metrics
   */
  finished,
  /**
   * `taskvisor_task_labels_folded_total`: tasks counted under
   * `task="(other)"` because their name came after the first
   * `metrics.maxTaskLabels` names of the process (256 by default).
   *
   * @since 0.1.0
   * @category Metrics
   */
  labelsFolded,
  /**
   * `taskvisor_tasks_registered`: tasks added and not finished yet.
   *
   * @since 0.1.0
   * @category Metrics
   */
  registered,
  /**
   * `taskvisor_restarts_total`: attempts started after a task's first one,
   * whatever caused them (a failure, an `always` success, a group's restart).
   *
   * @since 0.1.0
   * @category Metrics
   */
  restarts,
  /**
   * `taskvisor_tasks_running`: tasks running an attempt.
   *
   * @since 0.1.0
   * @category Metrics
   */
  running,
  /**
   * `taskvisor_singleton_fenced_total`: times an owner stopped a cluster
   * singleton (`ClusterTask.singleton`) because it could not confirm its
   * lease in time, by `singleton`.
   *
   * @since 0.1.0
   * @category Metrics
   */
  singletonFenced,
  /**
   * `taskvisor_singleton_owned`: 1 while this runner owns a cluster
   * singleton, by `singleton`.
   *
   * @since 0.1.0
   * @category Metrics
   */
  singletonOwned,
  /**
   * `taskvisor_singleton_unowned`: 1 while a cluster singleton has run
   * nowhere (no owner, or its owner's task not running) for longer than its
   * `unownedAfter`, on every runner that registered it, by `singleton`.
   *
   * @since 0.1.0
   * @category Metrics
   */
  singletonUnowned,
  /**
   * `taskvisor_controller_queued`: submissions waiting in controller slot
   * queues.
   *
   * @since 0.1.0
   * @category Metrics
   */
  slotsQueued,
  /**
   * `taskvisor_controller_slots_running`: controller slots whose owner runs
   * (not being replaced).
   *
   * @since 0.1.0
   * @category Metrics
   */
  slotsRunning
} from "./internal/events/metrics.js"

/**
 * How an attempt ended, as the `result` label of `attempts` names it.
 *
 * @since 0.1.0
 * @category Models
 */
export type AttemptResult = internal.AttemptResult
