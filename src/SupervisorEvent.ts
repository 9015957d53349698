/**
 * The typed lifecycle events a supervisor publishes. Their kinds, order and
 * fields follow taskvisor 0.7; every event has a `seq` (strictly increasing
 * per supervisor, from 1) and an `at` (epoch milliseconds from Effect's `Clock`).
 *
 * Per task the order is: `TaskAddRequested`, `TaskAdded`, then per attempt
 * `AttemptStarting` followed by exactly one of `AttemptSucceeded`,
 * `AttemptCanceled`, `AttemptFailed`, `AttemptTimedOut` and possibly a
 * `BackoffScheduled`, and finally `TaskFinished` then `TaskRemoved`.
 *
 * Events are diagnostics delivered best-effort: outcomes and stops never
 * depend on them.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type { SlotStatus } from "./Controller.js"
import type { RejectionKind, TaskOutcome } from "./TaskOutcome.js"

interface Base {
  readonly seq: number
  readonly at: number
}

interface TaskRef extends Base {
  readonly id: number
  readonly task: string
}

interface AttemptRef extends TaskRef {
  readonly attempt: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export type SupervisorEvent = Data.TaggedEnum<{
  /** A task was submitted; its admission decision follows. */
  TaskAddRequested: TaskRef
  /** The task is registered; its first attempt may start. */
  TaskAdded: TaskRef
  /** The task was rejected (duplicate name, or a rejected batch); it never runs. */
  TaskAddFailed: TaskRef & { readonly rejection: RejectionKind; readonly reason: string }
  /** An attempt begins (after a concurrency permit, if any, was obtained). */
  AttemptStarting: AttemptRef
  /** The attempt returned a value. */
  AttemptSucceeded: AttemptRef & { readonly duration: Duration.Duration }
  /**
   * The attempt was interrupted, by a stop or by itself; `cause` is what failed while it stopped
   * (a finalizer that died, an uninterruptible tail that failed), if anything did.
   */
  AttemptCanceled: AttemptRef & {
    readonly duration: Duration.Duration
    readonly cause: Cause.Cause<unknown> | undefined
  }
  /** The attempt failed or died. */
  AttemptFailed: AttemptRef & {
    readonly duration: Duration.Duration
    readonly reason: string
    readonly exitCode: number | undefined
  }
  /** The attempt exceeded its timeout and was interrupted. */
  AttemptTimedOut: AttemptRef & { readonly duration: Duration.Duration; readonly timeout: Duration.Duration }
  /** The task waits `delay` before its next attempt; `attempt` is the one that just ended. */
  BackoffScheduled: AttemptRef & {
    readonly delay: Duration.Duration
    readonly source: "Success" | "Failure"
    readonly reason: string | undefined
  }
  /** A `remove` or `cancel` claimed the task's stop. */
  TaskRemoveRequested: TaskRef & { readonly reason: string | undefined }
  /** The task's terminal outcome; published exactly once per registered task. */
  TaskFinished: TaskRef & { readonly outcome: TaskOutcome<unknown> }
  /** The task left the registry; its name is free. */
  TaskRemoved: TaskRef
  /** `shutdown` was called or the supervisor's scope closed. */
  ShutdownRequested: Base
  /** Shutdown stopped every task within grace. */
  AllStoppedWithinGrace: Base
  /** Shutdown force-aborted the `stuck` tasks after `grace`. */
  GraceExceeded: Base & { readonly grace: Duration.Duration; readonly stuck: ReadonlyArray<string> }
  /**
   * A subscriber's queue was full (or closed); `dropped` counts the ordinary events it lost so far (never
   * diagnostic ones, such as the reports of its own losses).
   */
  SubscriberOverflow: Base & {
    readonly subscriber: string
    readonly reason: "full" | "closed"
    readonly dropped: number
  }
  /** A subscriber failed or died handling an event; it keeps receiving. */
  SubscriberPanicked: Base & { readonly subscriber: string; readonly reason: string }
  /** An internal component failed; the supervisor carries on. */
  RuntimeFailure: Base & { readonly component: string; readonly reason: string }
  /** The controller accepted a submission: it became the slot's owner or waits in its queue (`reason` says which). */
  ControllerSubmitted: Base & { readonly id: number; readonly slot: string; readonly reason: string }
  /** The controller turned a submission away; it never runs. */
  ControllerRejected: Base & {
    readonly id: number
    readonly slot: string
    readonly rejection: RejectionKind
    readonly reason: string
  }
  /** A slot changed status: `Idle` to `Running` on admission, `Running` to `Terminating` on a replace. */
  ControllerSlotTransition: Base & {
    readonly slot: string
    readonly from: SlotStatus
    readonly to: SlotStatus
    readonly reason: string
  }
}>

const Constructors = Data.taggedEnum<SupervisorEvent>()

/**
 * Constructors, `$is` and `$match` for every event kind.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const {
  $is,
  $match,
  AllStoppedWithinGrace,
  AttemptCanceled,
  AttemptFailed,
  AttemptStarting,
  AttemptSucceeded,
  AttemptTimedOut,
  BackoffScheduled,
  ControllerRejected,
  ControllerSlotTransition,
  ControllerSubmitted,
  GraceExceeded,
  RuntimeFailure,
  ShutdownRequested,
  SubscriberOverflow,
  SubscriberPanicked,
  TaskAddFailed,
  TaskAddRequested,
  TaskAdded,
  TaskFinished,
  TaskRemoveRequested,
  TaskRemoved
} = Constructors

/**
 * @since 0.1.0
 * @category Models
 */
export type Kind = SupervisorEvent["_tag"]

/**
 * The snake_case label of an event, e.g. `attempt_starting`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const label = (self: SupervisorEvent): string => kindLabel(self._tag)

const labelCache = new Map<string, string>()

/**
 * The snake_case label of an event kind.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const kindLabel = (kind: Kind): string => {
  let cached = labelCache.get(kind)
  if (cached === undefined) {
    cached = kind.replace(/[A-Z]/g, (c, i) => (i === 0 ? "" : "_") + c.toLowerCase())
    labelCache.set(kind, cached)
  }
  return cached
}

/**
 * Diagnostic events report on the supervisor's own machinery; an overflow or
 * failure while delivering one is never reported again.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isDiagnostic = (self: SupervisorEvent): boolean =>
  self._tag === "SubscriberOverflow" || self._tag === "SubscriberPanicked" || self._tag === "RuntimeFailure"
