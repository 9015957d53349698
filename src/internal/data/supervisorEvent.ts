/** The supervisor's events as data: their variants, and the constructors the bus and `SupervisorEvent` both use. */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type { RejectionKind, TaskOutcome } from "./taskOutcome.js"

export interface Base {
  readonly seq: number
  readonly at: number
}

export interface TaskRef extends Base {
  readonly id: number
  /** The task's name; a group's child is named by its path, `pipeline/parser`. */
  readonly task: string
  /** The path of the group the task is a child of; absent for a task added to the supervisor itself. */
  readonly group?: string | undefined
}

export interface AttemptRef extends TaskRef {
  readonly attempt: number
}

export type SlotStatus = "Idle" | "Running" | "Terminating"

export interface TaskAddRequested extends TaskRef {
  readonly _tag: "TaskAddRequested"
}

export interface TaskAdded extends TaskRef {
  readonly _tag: "TaskAdded"
}

export interface TaskAddFailed extends TaskRef {
  readonly _tag: "TaskAddFailed"
  readonly rejection: RejectionKind
  readonly reason: string
}

export interface AttemptStarting extends AttemptRef {
  readonly _tag: "AttemptStarting"
}

/** An attempt that was `Starting` (a task that says when it is ready) is ready: the task is `Running`. */
export interface AttemptReady extends AttemptRef {
  readonly _tag: "AttemptReady"
  /** How long it took from the attempt's start. */
  readonly duration: Duration.Duration
}

export interface AttemptSucceeded extends AttemptRef {
  readonly _tag: "AttemptSucceeded"
  readonly duration: Duration.Duration
}

export interface AttemptCanceled extends AttemptRef {
  readonly _tag: "AttemptCanceled"
  readonly duration: Duration.Duration
  readonly cause: Cause.Cause<unknown> | undefined
}

export interface AttemptFailed extends AttemptRef {
  readonly _tag: "AttemptFailed"
  readonly duration: Duration.Duration
  readonly reason: string
  readonly exitCode: number | undefined
}

export interface AttemptTimedOut extends AttemptRef {
  readonly _tag: "AttemptTimedOut"
  readonly duration: Duration.Duration
  readonly timeout: Duration.Duration
}

export interface AttemptStalled extends AttemptRef {
  readonly _tag: "AttemptStalled"
  readonly duration: Duration.Duration
  /** How long the attempt had gone without reporting progress. */
  readonly sinceProgress: Duration.Duration
  readonly watchdog: Duration.Duration
}

export interface BackoffScheduled extends AttemptRef {
  readonly _tag: "BackoffScheduled"
  readonly delay: Duration.Duration
  readonly source: "Success" | "Failure"
  readonly reason: string | undefined
}

export interface IntensityExceeded extends TaskRef {
  readonly _tag: "IntensityExceeded"
  /** The restarts counted inside the window, the last one included. */
  readonly restarts: number
  readonly within: Duration.Duration
  /** `Fail`: the task (or the group's attempt) gives up; `Park`: the task is parked. */
  readonly action: "Fail" | "Park"
  readonly reason: string
}

export interface TaskParked extends TaskRef {
  readonly _tag: "TaskParked"
  /** How long the task waits between attempts while parked. */
  readonly park: Duration.Duration
  readonly reason: string
}

export interface GroupRestarting extends TaskRef {
  readonly _tag: "GroupRestarting"
  readonly strategy: "OneForOne" | "OneForAll" | "RestForOne"
  /** The child whose restart caused it. */
  readonly child: string
  /** The children restarted, in start order, the cause among them. */
  readonly children: ReadonlyArray<string>
  readonly reason: string
}

export interface TaskRestartRequested extends TaskRef {
  readonly _tag: "TaskRestartRequested"
}

export interface TaskPaused extends TaskRef {
  readonly _tag: "TaskPaused"
}

export interface TaskResumed extends TaskRef {
  readonly _tag: "TaskResumed"
}

export interface TaskTriggered extends TaskRef {
  readonly _tag: "TaskTriggered"
}

/** Why a cron task's scheduled time did not run: a run was still running (`Overlap`), or it was missed (`Missed`). */
export type SkipReason = "Overlap" | "Missed"

export interface RunSkipped extends TaskRef {
  readonly _tag: "RunSkipped"
  /** The scheduled time skipped (the latest of them, if more), in epoch milliseconds. */
  readonly scheduledAt: number
  /** How many scheduled times were skipped. */
  readonly skipped: number
  readonly why: SkipReason
}

export interface RunBuffered extends TaskRef {
  readonly _tag: "RunBuffered"
  /** The scheduled time kept, in epoch milliseconds. */
  readonly scheduledAt: number
  /** How many runs wait now, this one included. */
  readonly buffered: number
}

export interface RunCanceled extends AttemptRef {
  readonly _tag: "RunCanceled"
  /** The scheduled time whose run replaces the canceled one, in epoch milliseconds. */
  readonly scheduledAt: number
}

export interface TaskRemoveRequested extends TaskRef {
  readonly _tag: "TaskRemoveRequested"
  readonly reason: string | undefined
}

export interface TaskFinished extends TaskRef {
  readonly _tag: "TaskFinished"
  readonly outcome: TaskOutcome<unknown>
}

export interface TaskRemoved extends TaskRef {
  readonly _tag: "TaskRemoved"
}

export interface ShutdownRequested extends Base {
  readonly _tag: "ShutdownRequested"
  /** Why, when the supervisor shut itself down (`autoShutdown`); `undefined` for `shutdown` or its scope closing. */
  readonly reason?: string | undefined
}

export interface AllStoppedWithinGrace extends Base {
  readonly _tag: "AllStoppedWithinGrace"
}

export interface GraceExceeded extends Base {
  readonly _tag: "GraceExceeded"
  readonly grace: Duration.Duration
  readonly stuck: ReadonlyArray<string>
}

export interface SubscriberOverflow extends Base {
  readonly _tag: "SubscriberOverflow"
  readonly subscriber: string
  readonly reason: "full"
  readonly dropped: number
}

export interface SubscriberPanicked extends Base {
  readonly _tag: "SubscriberPanicked"
  readonly subscriber: string
  readonly reason: string
}

export interface RuntimeFailure extends Base {
  readonly _tag: "RuntimeFailure"
  readonly component: string
  readonly reason: string
}

export interface ControllerSubmitted extends Base {
  readonly _tag: "ControllerSubmitted"
  readonly id: number
  readonly slot: string
  readonly reason: string
}

export interface ControllerRejected extends Base {
  readonly _tag: "ControllerRejected"
  readonly id: number
  readonly slot: string
  readonly rejection: RejectionKind
  readonly reason: string
}

export interface ControllerSlotTransition extends Base {
  readonly _tag: "ControllerSlotTransition"
  readonly slot: string
  readonly from: SlotStatus
  readonly to: SlotStatus
  readonly reason: string
}

/** Why an owner let a singleton go: the engine moved its shard, its runner shut down, or it could not confirm its lease. */
export type SingletonRelease = "Handover" | "Shutdown" | "Fenced"

/** How a singleton runs nowhere: no runner answers for it, or its owner holds it with its task not running. */
export type SingletonAbsence = "NoOwner" | "NotRunning"

export interface SingletonAcquired extends Base {
  readonly _tag: "SingletonAcquired"
  readonly singleton: string
  /** The runner that owns it now (this one), as `host:port`. */
  readonly runner: string
}

export interface SingletonReleased extends Base {
  readonly _tag: "SingletonReleased"
  readonly singleton: string
  readonly runner: string
  readonly release: SingletonRelease
  readonly reason: string
}

export interface SingletonUnowned extends Base {
  readonly _tag: "SingletonUnowned"
  readonly singleton: string
  readonly absence: SingletonAbsence
  /** The runner that owns it, when one does (`NotRunning`). */
  readonly owner: string | undefined
  /** How long it has run nowhere. */
  readonly for: Duration.Duration
  readonly reason: string
}

export type SupervisorEvent =
  | TaskAddRequested
  | TaskAdded
  | TaskAddFailed
  | AttemptStarting
  | AttemptReady
  | AttemptSucceeded
  | AttemptCanceled
  | AttemptFailed
  | AttemptTimedOut
  | AttemptStalled
  | BackoffScheduled
  | IntensityExceeded
  | TaskParked
  | GroupRestarting
  | TaskRestartRequested
  | TaskPaused
  | TaskResumed
  | TaskTriggered
  | TaskRemoveRequested
  | TaskFinished
  | TaskRemoved
  | ShutdownRequested
  | AllStoppedWithinGrace
  | GraceExceeded
  | SubscriberOverflow
  | SubscriberPanicked
  | RuntimeFailure
  | ControllerSubmitted
  | ControllerRejected
  | ControllerSlotTransition
  | SingletonAcquired
  | SingletonReleased
  | SingletonUnowned
  | RunSkipped
  | RunBuffered
  | RunCanceled

const Enum = Data.taggedEnum<SupervisorEvent>()

/** Every kind's constructor, `$is` and `$match`, read once: each read of a `Data.taggedEnum` makes a new one. */
export const Constructors: Data.TaggedEnum.Constructor<SupervisorEvent> = {
  $is: Enum.$is,
  $match: Enum.$match,
  TaskAddRequested: Enum.TaskAddRequested,
  TaskAdded: Enum.TaskAdded,
  TaskAddFailed: Enum.TaskAddFailed,
  AttemptStarting: Enum.AttemptStarting,
  AttemptReady: Enum.AttemptReady,
  AttemptSucceeded: Enum.AttemptSucceeded,
  AttemptCanceled: Enum.AttemptCanceled,
  AttemptFailed: Enum.AttemptFailed,
  AttemptTimedOut: Enum.AttemptTimedOut,
  AttemptStalled: Enum.AttemptStalled,
  BackoffScheduled: Enum.BackoffScheduled,
  IntensityExceeded: Enum.IntensityExceeded,
  TaskParked: Enum.TaskParked,
  GroupRestarting: Enum.GroupRestarting,
  TaskRestartRequested: Enum.TaskRestartRequested,
  TaskPaused: Enum.TaskPaused,
  TaskResumed: Enum.TaskResumed,
  TaskTriggered: Enum.TaskTriggered,
  TaskRemoveRequested: Enum.TaskRemoveRequested,
  TaskFinished: Enum.TaskFinished,
  TaskRemoved: Enum.TaskRemoved,
  ShutdownRequested: Enum.ShutdownRequested,
  AllStoppedWithinGrace: Enum.AllStoppedWithinGrace,
  GraceExceeded: Enum.GraceExceeded,
  SubscriberOverflow: Enum.SubscriberOverflow,
  SubscriberPanicked: Enum.SubscriberPanicked,
  RuntimeFailure: Enum.RuntimeFailure,
  ControllerSubmitted: Enum.ControllerSubmitted,
  ControllerRejected: Enum.ControllerRejected,
  ControllerSlotTransition: Enum.ControllerSlotTransition,
  SingletonAcquired: Enum.SingletonAcquired,
  SingletonReleased: Enum.SingletonReleased,
  SingletonUnowned: Enum.SingletonUnowned,
  RunSkipped: Enum.RunSkipped,
  RunBuffered: Enum.RunBuffered,
  RunCanceled: Enum.RunCanceled
}

export const isDiagnostic = (self: SupervisorEvent): boolean =>
  self._tag === "SubscriberOverflow" || self._tag === "SubscriberPanicked" || self._tag === "RuntimeFailure"

const labels: { readonly [K in SupervisorEvent["_tag"]]: string } = {
  TaskAddRequested: "task_add_requested",
  TaskAdded: "task_added",
  TaskAddFailed: "task_add_failed",
  AttemptStarting: "attempt_starting",
  AttemptReady: "attempt_ready",
  AttemptSucceeded: "attempt_succeeded",
  AttemptCanceled: "attempt_canceled",
  AttemptFailed: "attempt_failed",
  AttemptTimedOut: "attempt_timed_out",
  AttemptStalled: "attempt_stalled",
  BackoffScheduled: "backoff_scheduled",
  IntensityExceeded: "intensity_exceeded",
  TaskParked: "task_parked",
  GroupRestarting: "group_restarting",
  TaskRestartRequested: "task_restart_requested",
  TaskPaused: "task_paused",
  TaskResumed: "task_resumed",
  TaskTriggered: "task_triggered",
  TaskRemoveRequested: "task_remove_requested",
  TaskFinished: "task_finished",
  TaskRemoved: "task_removed",
  ShutdownRequested: "shutdown_requested",
  AllStoppedWithinGrace: "all_stopped_within_grace",
  GraceExceeded: "grace_exceeded",
  SubscriberOverflow: "subscriber_overflow",
  SubscriberPanicked: "subscriber_panicked",
  RuntimeFailure: "runtime_failure",
  ControllerSubmitted: "controller_submitted",
  ControllerRejected: "controller_rejected",
  ControllerSlotTransition: "controller_slot_transition",
  SingletonAcquired: "singleton_acquired",
  SingletonReleased: "singleton_released",
  SingletonUnowned: "singleton_unowned",
  RunSkipped: "run_skipped",
  RunBuffered: "run_buffered",
  RunCanceled: "run_canceled"
}

/** The kinds of event, by tag. */
export type Kind = SupervisorEvent["_tag"]

/** The snake_case label of an event kind. */
export const kindLabel = (kind: Kind): string => labels[kind]

/** The snake_case label of an event. */
export const labelOf = (self: SupervisorEvent): string => labels[self._tag]
