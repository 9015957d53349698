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
import type * as FiberRef from "effect/FiberRef"
import { format, NodeInspectSymbol } from "effect/Inspectable"
import type { Inspectable } from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as internal from "./internal/subscribers.js"
import * as validate from "./internal/validate.js"
import type { ConfigError } from "./SupervisorError.js"
import * as SupervisorEvent from "./SupervisorEvent.js"
import { describe } from "./TaskError.js"
import * as TaskOutcome from "./TaskOutcome.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/Subscriber")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export interface Subscriber<out R = never> extends Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The bound of this subscriber's queue (default 1024). */
  readonly capacity: number
  readonly onEvent: (event: SupervisorEvent.SupervisorEvent) => Effect.Effect<void, unknown, R>
}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: Subscriber<unknown>) {
    return { _id: "Subscriber", name: this.name, capacity: this.capacity }
  },
  toString(this: Subscriber<unknown>) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: Subscriber<unknown>) {
    return this.toJSON()
  }
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isSubscriber = (u: unknown): u is Subscriber<unknown> => Predicate.hasProperty(u, TypeId)

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E, R>(options: {
  readonly name: string
  readonly capacity?: number | undefined
  readonly onEvent: (event: SupervisorEvent.SupervisorEvent) => Effect.Effect<void, E, R>
}): Subscriber<R> =>
  Object.assign(Object.create(Proto), {
    name: options.name,
    capacity: options.capacity ?? 1024,
    onEvent: options.onEvent
  })

/**
 * The subscribers the next `TaskSupervisor` built in this context will use.
 *
 * @since 0.1.0
 * @category Services
 */
export const currentSubscribers: FiberRef.FiberRef<ReadonlyArray<Subscriber>> = internal.currentSubscribers

/**
 * Add subscribers to the supervisors built with this layer provided
 * (`TaskSupervisor.layer.pipe(Layer.provide(Subscriber.layer(...)))`); their
 * requirements come from the layer's context. Several `layer`s combine. A
 * capacity that is not a positive whole number fails with `ConfigError`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <const Subscribers extends ReadonlyArray<Subscriber<any>>>(
  ...subscribers: Subscribers
): Layer.Layer<never, ConfigError, [Subscribers[number]] extends [Subscriber<infer R>] ? R : never> =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      for (const subscriber of subscribers) {
        const capacity = validate.integer(`capacity of subscriber '${subscriber.name}'`, subscriber.capacity, 1)
        if (typeof capacity !== "number") return yield* capacity
      }
      const context = yield* Effect.context<any>()
      const provided = subscribers.map((subscriber) =>
        make({
          name: subscriber.name,
          capacity: subscriber.capacity,
          onEvent: (event) => Effect.provide(subscriber.onEvent(event), context)
        })
      )
      yield* Effect.locallyScopedWith(internal.currentSubscribers, (current) => [...current, ...provided])
    })
  )

const fmt = (d: Duration.Duration): string => Duration.format(d)

const levelOf = (event: SupervisorEvent.SupervisorEvent): LogLevel.LogLevel => {
  switch (event._tag) {
    case "AttemptFailed":
    case "SubscriberPanicked":
    case "RuntimeFailure":
      return LogLevel.Error
    case "AttemptTimedOut":
    case "GraceExceeded":
    case "SubscriberOverflow":
    case "TaskAddFailed":
    case "ControllerRejected":
      return LogLevel.Warning
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
    case "AllStoppedWithinGrace":
      return head
    case "GraceExceeded":
      return `${head} grace=${fmt(event.grace)} stuck=${event.stuck.join(",")}`
    case "AttemptStarting":
      return `${head} task=${event.task} attempt=${event.attempt}`
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
    default:
      return `${head} task=${event.task}`
  }
}

/**
 * Logs every event through Effect's logger, at Error for failures and
 * panics, Warning for timeouts, overflows, rejections and unsuccessful
 * outcomes, Debug for attempt starts, backoffs and requests, Info otherwise.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const log: Subscriber = make({
  name: "log",
  onEvent: (event) => Effect.logWithLevel(levelOf(event), formatEvent(event))
})
