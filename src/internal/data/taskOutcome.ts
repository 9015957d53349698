/** How a task ended, as data: the outcome's variants and their constructors. */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type { TaskTimeout } from "./taskError.js"

export type RejectionKind =
  | "AlreadyExists"
  | "BatchRejected"
  | "SlotBusy"
  | "QueueFull"
  | "SupersededByReplace"
  | "RemovedFromQueue"
  | "ControllerShuttingDown"

export type TaskOutcome<E = unknown> =
  | Completed
  | Failed<E>
  | Fatal<E>
  | Canceled<E>
  | ForceAborted
  | Rejected

export interface Completed {
  readonly _tag: "Completed"
}

export interface Failed<E> {
  readonly _tag: "Failed"
  readonly reason: string
  readonly exitCode: number | undefined
  readonly cause: Cause.Cause<E | TaskTimeout>
}

export interface Fatal<E> {
  readonly _tag: "Fatal"
  readonly reason: string
  readonly exitCode: number | undefined
  readonly cause: Cause.Cause<E | TaskTimeout>
}

export interface Canceled<E = never> {
  readonly _tag: "Canceled"
  /** What failed while the task was stopping, if anything did; never an interruption alone. */
  readonly cause?: Cause.Cause<E> | undefined
}

export interface ForceAborted {
  readonly _tag: "ForceAborted"
  readonly reason: string
}

export interface Rejected {
  readonly _tag: "Rejected"
  readonly kind: RejectionKind
  readonly reason: string
}

interface TaskOutcomeDefinition extends Data.TaggedEnum.WithGenerics<1> {
  readonly taggedEnum: TaskOutcome<this["A"]>
}

const Constructors = Data.taggedEnum<TaskOutcomeDefinition>()

export const Completed: Completed = Constructors.Completed()

export const Failed: <E>(args: Omit<Failed<E>, "_tag">) => TaskOutcome<E> = Constructors.Failed

export const Fatal: <E>(args: Omit<Fatal<E>, "_tag">) => TaskOutcome<E> = Constructors.Fatal

export const Canceled: Canceled = Constructors.Canceled({})

export const canceledWith = <E>(cause: Cause.Cause<E>): TaskOutcome<E> => Constructors.Canceled({ cause })

export const ForceAborted: ForceAborted = Constructors.ForceAborted({
  reason: "task did not stop within grace; force-aborted"
})

export const Rejected = (kind: RejectionKind, reason: string): Rejected => Constructors.Rejected({ kind, reason })

export const { $is, $match } = Constructors

/** The outcome's reason text, if it has one. */
export const reason = (self: TaskOutcome<unknown>): string | undefined => "reason" in self ? self.reason : undefined

/** The outcome's exit code, if it has one. */
export const exitCode = (self: TaskOutcome<unknown>): number | undefined =>
  "exitCode" in self ? self.exitCode : undefined

/** Each outcome's snake_case name, as metrics label it. */
export const names: { readonly [K in TaskOutcome<unknown>["_tag"]]: string } = {
  Completed: "completed",
  Failed: "failed",
  Fatal: "fatal",
  Canceled: "canceled",
  ForceAborted: "force_aborted",
  Rejected: "rejected"
}

/** The snake_case label of an outcome, e.g. `outcome_completed`. */
export const label = (self: TaskOutcome<unknown>): string => `outcome_${names[self._tag]}`
