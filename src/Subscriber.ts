/**
 * Event consumers. Each subscriber gets its own bounded queue and worker
 * fiber: it sees events in `seq` order, a slow subscriber only loses its own
 * events (counted and reported as `SubscriberOverflow`), and a failing or
 * dying one is isolated (reported as `SubscriberPanicked`) and keeps
 * receiving. Publishing never blocks or suspends a task.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Predicate from "effect/Predicate"
import * as validate from "./internal/config/validate.js"
import * as internal from "./internal/events/subscriber.js"
import type { ConfigError } from "./SupervisorError.js"
import * as SupervisorEvent from "./SupervisorEvent.js"
import { describe } from "./TaskError.js"
import * as TaskOutcome from "./TaskOutcome.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

export type {
  /**
   * A named consumer of events with a bounded queue; `onEvent` may require `R`.
   *
   * @since 0.1.0
   * @category Models
   */
  Subscriber
} from "./internal/events/subscriber.js"

type Subscriber<R = never> = internal.Subscriber<R>

/**
 * @since 0.1.0
 * @category Guards
 */
export const isSubscriber = (u: unknown): u is Subscriber<unknown> => Predicate.hasProperty(u, internal.TypeId)

/**
 * A subscriber: `onEvent` runs on the subscriber's own fiber for every event,
 * in `seq` order, from a queue of `capacity` (default 1024).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Subscriber, SupervisorConfig, TaskSupervisor } from "effect-taskvisor"
 *
 * const failures = Subscriber.make({
 *   name: "failures",
 *   capacity: 256,
 *   onEvent: (event) =>
 *     event._tag === "AttemptFailed" ? Effect.logWarning(`${event.task} failed: ${event.reason}`) : Effect.void
 * })
 *
 * const SupervisorLive = TaskSupervisor.layer.pipe(
 *   Layer.provide(Subscriber.layer(failures, Subscriber.log)),
 *   Layer.provide(SupervisorConfig.layerDefaults)
 * )
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <E, R>(options: {
  readonly name: string
  readonly capacity?: number | undefined
  readonly onEvent: (event: SupervisorEvent.SupervisorEvent) => Effect.Effect<void, E, R>
}) => Subscriber<R> = internal.make

/**
 * Add subscribers to the supervisors built on the `Subscribers` it is given
 * (the set each build of a `SupervisorConfig` layer provides beside the
 * config); their requirements come from the layer's context. Provide it to the
 * supervisor layer, as its config is:
 * `TaskSupervisor.layer.pipe(Layer.provide(Subscriber.layer(...)), Layer.provide(SupervisorConfig.layer(...)))`.
 * Merged beside the supervisor layer instead, over the same config, it takes
 * effect too: a supervisor attaches the subscribers added to its set after
 * it was built, from the events published from then on. Several layers
 * combine, provided or merged. A capacity that is not a positive whole number
 * fails with `ConfigError`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <const Subscribers extends ReadonlyArray<Subscriber<any>>>(
  ...subscribers: Subscribers
): Layer.Layer<
  never,
  ConfigError,
  internal.Subscribers | ([Subscribers[number]] extends [Subscriber<infer R>] ? R : never)
> =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      for (const subscriber of subscribers) {
        const capacity = validate.integer(`capacity of subscriber '${subscriber.name}'`, subscriber.capacity, 1)
        if (typeof capacity !== "number") return yield* capacity
      }
      const set = yield* internal.Subscribers
      // its worker fiber runs in this context: nothing is provided per event
      const context = yield* Effect.context<never>()
      for (const subscriber of subscribers) {
        const remove = set.add({ subscriber, context })
        // it stops before its requirements are released: what was queued for it is delivered, then nothing more
        yield* Effect.addFinalizer(() => remove)
      }
    })
  )

const fmt = (d: Duration.Duration): string => Duration.format(d)

const levelOf = (event: SupervisorEvent.SupervisorEvent): LogLevel.LogLevel => {
  switch (event._tag) {
    case "AttemptFailed":
    case "SubscriberPanicked":
    case "RuntimeFailure":
    case "IntensityExceeded":
    case "TaskParked":
    case "SingletonUnowned":
      return LogLevel.Error
    case "AttemptTimedOut":
    case "AttemptStalled":
    case "GroupRestarting":
    case "GraceExceeded":
    case "SubscriberOverflow":
    case "TaskAddFailed":
    case "ControllerRejected":
    case "RunSkipped":
    case "RunCanceled":
      return LogLevel.Warning
    case "SingletonReleased":
      return event.release === "Fenced" ? LogLevel.Error : LogLevel.Info
    case "AttemptCanceled":
      return event.cause === undefined ? LogLevel.Info : LogLevel.Warning
    case "TaskFinished":
      switch (event.outcome._tag) {
        case "Completed":
        case "Canceled":
          return LogLevel.Info
        case "Fatal":
          return LogLevel.Error
        default:
          return LogLevel.Warning
      }
    case "AttemptStarting":
    case "BackoffScheduled":
    case "TaskAddRequested":
    case "TaskRemoveRequested":
    case "ControllerSlotTransition":
      return LogLevel.Debug
    default:
      return LogLevel.Info
  }
}

/**
 * One line describing an event, e.g.
 * `[006] task_finished task=worker outcome=outcome_completed`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const formatEvent = (event: SupervisorEvent.SupervisorEvent): string => {
  const head = `[${String(event.seq).padStart(3, "0")}] ${SupervisorEvent.label(event)}`
  switch (event._tag) {
    case "ShutdownRequested":
      return event.reason === undefined ? head : `${head} reason=${JSON.stringify(event.reason)}`
    case "AllStoppedWithinGrace":
      return head
    case "GraceExceeded":
      return `${head} grace=${fmt(event.grace)} stuck=${event.stuck.join(",")}`
    case "AttemptStarting":
      return `${head} task=${event.task} attempt=${event.attempt}`
    case "AttemptReady":
      return `${head} task=${event.task} attempt=${event.attempt} duration=${fmt(event.duration)}`
    case "AttemptSucceeded":
      return `${head} task=${event.task} attempt=${event.attempt} duration=${fmt(event.duration)}`
    case "AttemptCanceled":
      return `${head} task=${event.task} attempt=${event.attempt} duration=${fmt(event.duration)}${
        event.cause === undefined ? "" : ` while_stopping=${JSON.stringify(describe(Cause.squash(event.cause)))}`
      }`
    case "AttemptFailed":
      return `${head} task=${event.task} attempt=${event.attempt} reason=${JSON.stringify(event.reason)}${
        event.exitCode === undefined ? "" : ` exit_code=${event.exitCode}`
      }`
    case "AttemptTimedOut":
      return `${head} task=${event.task} attempt=${event.attempt} timeout=${fmt(event.timeout)}`
    case "AttemptStalled":
      return `${head} task=${event.task} attempt=${event.attempt} since_progress=${fmt(event.sinceProgress)}`
    case "IntensityExceeded":
      return `${head} task=${event.task} action=${event.action.toLowerCase()} reason=${JSON.stringify(event.reason)}`
    case "TaskParked":
      return `${head} task=${event.task} park=${fmt(event.park)} reason=${JSON.stringify(event.reason)}`
    case "GroupRestarting":
      return `${head} task=${event.task} strategy=${event.strategy} child=${event.child} children=${
        event.children.join(",")
      } reason=${JSON.stringify(event.reason)}`
    case "BackoffScheduled":
      return `${head} task=${event.task} source=${event.source.toLowerCase()} delay=${
        fmt(event.delay)
      } after_attempt=${event.attempt}${event.reason === undefined ? "" : ` reason=${JSON.stringify(event.reason)}`}`
    case "TaskAddFailed":
      return `${head} task=${event.task} rejection=${TaskOutcome.rejectionLabel(event.rejection)} reason=${
        JSON.stringify(event.reason)
      }`
    case "TaskRemoveRequested":
      return `${head} task=${event.task}${event.reason === undefined ? "" : ` reason=${event.reason}`}`
    case "TaskFinished": {
      const reason = TaskOutcome.reason(event.outcome)
      const exitCode = TaskOutcome.exitCode(event.outcome)
      return `${head} task=${event.task} outcome=${TaskOutcome.label(event.outcome)}${
        reason === undefined ? "" : ` reason=${JSON.stringify(reason)}`
      }${exitCode === undefined ? "" : ` exit_code=${exitCode}`}`
    }
    case "SubscriberOverflow":
      return `${head} subscriber=${event.subscriber} reason=${event.reason} dropped=${event.dropped}`
    case "SubscriberPanicked":
      return `${head} subscriber=${event.subscriber} reason=${JSON.stringify(event.reason)}`
    case "RuntimeFailure":
      return `${head} component=${event.component} reason=${JSON.stringify(event.reason)}`
    case "ControllerSubmitted":
      return `${head} slot=${event.slot} id=${event.id} ${event.reason}`
    case "ControllerRejected":
      return `${head} slot=${event.slot} id=${event.id} rejection=${
        TaskOutcome.rejectionLabel(event.rejection)
      } reason=${JSON.stringify(event.reason)}`
    case "ControllerSlotTransition":
      return `${head} slot=${event.slot} reason=${JSON.stringify(event.reason)}`
    case "SingletonAcquired":
      return `${head} singleton=${event.singleton} runner=${event.runner}`
    case "SingletonReleased":
      return `${head} singleton=${event.singleton} runner=${event.runner} release=${event.release.toLowerCase()} reason=${
        JSON.stringify(event.reason)
      }`
    case "SingletonUnowned":
      return `${head} singleton=${event.singleton} absence=${event.absence}${
        event.owner === undefined ? "" : ` owner=${event.owner}`
      } for=${fmt(event.for)} reason=${JSON.stringify(event.reason)}`
    case "RunSkipped":
      return `${head} task=${event.task} scheduled_at=${
        new Date(event.scheduledAt).toISOString()
      } skipped=${event.skipped} why=${event.why}`
    case "RunBuffered":
      return `${head} task=${event.task} scheduled_at=${
        new Date(event.scheduledAt).toISOString()
      } buffered=${event.buffered}`
    case "RunCanceled":
      return `${head} task=${event.task} attempt=${event.attempt} scheduled_at=${
        new Date(event.scheduledAt).toISOString()
      }`
    default:
      return `${head} task=${event.task}`
  }
}

/**
 * Logs every event through Effect's logger, at Error for failures, panics,
 * exceeded restart intensities and parked tasks, Warning for timeouts, stalls,
 * group restarts, overflows, rejections and unsuccessful outcomes, Debug for
 * attempt starts, backoffs and requests, Info otherwise.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const log: Subscriber = make({
  name: "log",
  onEvent: (event) => Effect.logWithLevel(levelOf(event), formatEvent(event))
})
