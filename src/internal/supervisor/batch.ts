/** The static batch of `run`: its items, the waves they are announced and started in, and their outcomes. */
import type { Resolved } from "../config/resolve.js"
import type * as TaskOutcome from "../data/taskOutcome.js"
import type { Caller } from "../task/caller.js"

/**
 * The static batch: its items, announced and started a wave at a time (an
 * item's spec is let go once its task holds it), and each item's outcome,
 * written at its terminal commit.
 */
export class Batch {
  /** Items announced and registered, in order. */
  announced = 0
  /** Items whose wave has started. */
  started = 0
  /** Each item's outcome, once it has one. */
  readonly outcomes: Array<TaskOutcome.TaskOutcome<unknown>>

  constructor(
    readonly specs: Array<Resolved | undefined>,
    readonly firstId: number,
    readonly caller: Caller
  ) {
    this.outcomes = new Array(specs.length)
  }

  /** Items not announced yet. */
  get unannounced(): number {
    return this.specs.length - this.announced
  }

  /** The item of an id this batch issued, or -1. */
  indexOf(id: number): number {
    const index = id - this.firstId
    return index >= 0 && index < this.specs.length ? index : -1
  }
}
