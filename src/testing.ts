/**
 * The test kit (`effect-taskvisor/testing`): what a task does over time, on a
 * `TestClock`, with no supervisor of your own.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as timelines from "./internal/testing/timeline.js"
import * as Subscriber from "./Subscriber.js"
import * as SupervisorConfig from "./SupervisorConfig.js"
import type { ConfigError } from "./SupervisorError.js"
import type * as TaskSpec from "./TaskSpec.js"
import * as TaskSupervisor from "./TaskSupervisor.js"

// ---------------------------------------------------------------------------
// Timelines
//
// `timeline` runs a task spec in a real supervisor on a `TestClock` of its
// own, each attempt doing what a scripted history says, and returns what
// happened as plain data: each attempt's start, end and how it ended, the
// delay scheduled after it, when the supervisor gave up, and the outcome.

export type {
  /**
   * One attempt of a timeline. Times are milliseconds of the run's clock,
   * which starts at 0.
   *
   * @since 0.1.0
   * @category Models
   */
  Attempt as TimelineAttempt,
  /**
   * How an attempt ended, as its event says (`AttemptSucceeded`,
   * `AttemptFailed`, `AttemptTimedOut`, `AttemptStalled`, `AttemptCanceled`).
   *
   * @since 0.1.0
   * @category Models
   */
  Ended as TimelineEnded,
  /**
   * What one scripted attempt does: `"succeed"`, `"fail"` (with an `Error`
   * naming the attempt), `{ fail: error }`, `"die"` (a defect naming the
   * attempt) or `"hang"` (never end by itself: until its timeout, its
   * watchdog or the end of the run).
   *
   * @since 0.1.0
   * @category Models
   */
  Step as TimelineStep,
  /**
   * Why the run stopped the task: it outlived `limit` (`Limit`), was about to
   * start attempt `maxAttempts + 1` (`MaxAttempts`), or waited with no timer
   * left, a hanging attempt with no timeout (`Idle`).
   *
   * @since 0.1.0
   * @category Models
   */
  Stopped as TimelineStopped,
  /**
   * What `timeline` returns.
   *
   * @since 0.1.0
   * @category Models
   */
  Timeline
} from "./internal/testing/timeline.js"

/**
 * How long a timeline may run (`limit`, on its clock; default: no limit),
 * how many attempts it lets run (`maxAttempts`, default 100), and the
 * supervisor's settings.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TimelineOptions extends timelines.Options {
  /** The supervisor's settings (`SupervisorConfig.layer`), its `defaults` among them. */
  readonly config?: SupervisorConfig.Input | undefined
}

/** A supervisor with the settings `config` and a subscriber telling `onEvent` every event. */
const supervise = (config: SupervisorConfig.Input | undefined): timelines.Supervise => (onEvent) =>
  Effect.map(
    Layer.build(
      TaskSupervisor.layer.pipe(
        Layer.provide(Subscriber.layer(Subscriber.make({
          name: "timeline",
          onEvent: (event) => Effect.sync(() => onEvent(event))
        }))),
        Layer.provide(SupervisorConfig.layer(config))
      )
    ),
    (context) => {
      const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
      return {
        // in a supervisor of its own, the one task's name is free and nothing shuts it down
        add: (spec) =>
          supervisor.add(spec).pipe(
            Effect.map((handle) => handle.await),
            Effect.catchTags({ TaskAlreadyExists: Effect.die, ShuttingDown: Effect.die })
          ),
        cancel: (name) => Effect.asVoid(Effect.orDie(supervisor.cancel(name)))
      }
    }
  )

/**
 * Run `spec` as a real supervisor runs it, on a `TestClock` of its own (the
 * caller's clock does not move), attempt `n` doing `history[n - 1]` (past the
 * end of `history`, its last step again), and return its timeline. The clock
 * moves from one timer to the next, so a run of hours takes no time. The run
 * stops the task (its outcome `Canceled`, `stopped` saying why) before
 * attempt `maxAttempts + 1`, past `limit`, or when it would wait for ever.
 * Jitter draws from the caller's `Random`, so a seeded one pins the delays.
 * A spec, history, option or config that is refused fails with a
 * `ConfigError` naming it. The spec's own effect is not run; what it requires
 * is required still, as its retry schedule may need it.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { BackoffPolicy, TaskSpec } from "effect-taskvisor"
 * import * as Testing from "effect-taskvisor/testing"
 *
 * const spec = TaskSpec.restartable("sync", Effect.void).pipe(
 *   TaskSpec.withBackoff(BackoffPolicy.exponential("1 second")),
 *   TaskSpec.withMaxRetries(2)
 * )
 * // attempts at 0, 1000 and 3000 ms, then `Failed` at 3000 ms: retry limit reached after 2 of 2 retries
 * const program = Testing.timeline(spec, ["fail"])
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const timeline = <E, R>(
  spec: TaskSpec.TaskSpec<E, R>,
  history: ReadonlyArray<timelines.Step<E>>,
  options?: TimelineOptions | undefined
): Effect.Effect<timelines.Timeline, ConfigError, Exclude<R, Scope.Scope>> =>
  timelines.timeline(supervise(options?.config), spec, history, options)

// Timelines
// ---------------------------------------------------------------------------
