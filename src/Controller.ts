/**
 * Per-slot admission control. Submit `ControllerSpec`s with
 * `TaskSupervisor.submit`/`submitAndWatch`; each slot has at most one owner,
 * and the next owner starts only after the previous one's terminal cleanup.
 * Enabled by `SupervisorConfig.controller`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

export type {
  /**
   * @since 0.1.0
   * @category Models
   */
  RejectionKind
} from "./TaskOutcome.js"

/**
 * `Running`: the slot has an owner. `Terminating`: a `replace` is stopping the
 * owner. `Idle`: no owner and nothing queued (such slots are not listed).
 * Admission is synchronous, so a slot is never seen between idle and running.
 *
 * @since 0.1.0
 * @category Models
 */
export type SlotStatus = "Idle" | "Running" | "Terminating"

/**
 * @since 0.1.0
 * @category Models
 */
export interface SlotView {
  readonly slot: string
  readonly status: SlotStatus
  /** The owner's task id. */
  readonly ownerId: number | undefined
  /** Submissions waiting, excluding the owner. */
  readonly queueDepth: number
  /** How long the slot has been in its status. */
  readonly statusFor: Duration.Duration
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ControllerSnapshot {
  /** Busy slots, sorted by key. */
  readonly slots: ReadonlyArray<SlotView>
  /** Slots whose status is `Running`. */
  readonly runningCount: number
  /** Submissions waiting across all slots. */
  readonly totalQueued: number
}

/**
 * The view of one slot; a slot that is not listed is `Idle`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const slot = (snapshot: ControllerSnapshot, key: string): SlotView =>
  snapshot.slots.find((view) => view.slot === key) ??
    { slot: key, status: "Idle", ownerId: undefined, queueDepth: 0, statusFor: Duration.zero }
