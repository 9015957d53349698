/** One registered task: what the registry and its actor share, its life as one tagged state. */
import type * as Fiber from "effect/Fiber"
import type { TaskOutcome } from "../TaskOutcome.js"
import { AttemptScope } from "./attemptScope.js"
import type { Outcome } from "./handle.js"
import type { Holder } from "./permits.js"
import type { Resolved } from "./resolve.js"

/** What the actor is doing: waiting for a permit (or to start), running an attempt, or between attempts. */
export type Phase = "Waiting" | "Running" | "BackingOff"

/** What `list` reports of a task: its phase, or `Stopping` once a stop was claimed. */
export type TaskState = Phase | "Stopping"

/**
 * A task's life. Its phase changes as its actor works; a claimed stop keeps
 * the phase it happened in (`isAlive` is true while a stopping task still runs
 * its attempt); the terminal commit ends it `Finished`, once.
 */
export type State =
  | { readonly _tag: Phase }
  | { readonly _tag: "Stopping"; readonly during: Phase }
  | { readonly _tag: "Finished"; readonly outcome: TaskOutcome<unknown> }

const phases: { readonly [P in Phase]: State } = {
  Waiting: { _tag: "Waiting" },
  Running: { _tag: "Running" },
  BackingOff: { _tag: "BackingOff" }
}

const stopping: { readonly [P in Phase]: State } = {
  Waiting: { _tag: "Stopping", during: "Waiting" },
  Running: { _tag: "Stopping", during: "Running" },
  BackingOff: { _tag: "Stopping", during: "BackingOff" }
}

export class Task implements Holder {
  state: State = phases.Waiting
  /** The number of the current or last attempt; 0 before the first. */
  attempt = 0
  /** The scope of the current (or next) attempt, in the context the attempt runs in. */
  scope = new AttemptScope()
  holdsPermit = false
  fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  /** The force-abort timer of an individual stop. */
  timer: Fiber.RuntimeFiber<void> | undefined = undefined

  constructor(
    readonly id: number,
    readonly spec: Resolved,
    /** Completed by the terminal commit, after the task's last event. */
    readonly outcome: Outcome
  ) {}

  /** The actor moved to `phase`; a claimed stop stays claimed, a finished task stays finished. */
  enter(phase: Phase): void {
    switch (this.state._tag) {
      case "Stopping":
        this.state = stopping[phase]
        return
      case "Finished":
        return
      default:
        this.state = phases[phase]
    }
  }

  /** Claim the stop: true if this call claimed it (the task was neither stopping nor finished). */
  claim(): boolean {
    const state = this.state
    if (state._tag === "Stopping" || state._tag === "Finished") return false
    this.state = stopping[state._tag]
    return true
  }

  /** The terminal commit: true the first time. */
  finish(outcome: TaskOutcome<unknown>): boolean {
    if (this.state._tag === "Finished") return false
    this.state = { _tag: "Finished", outcome }
    return true
  }

  get finished(): boolean {
    return this.state._tag === "Finished"
  }

  /** Whether a stop decides the outcome: claimed, or force-aborted after one was. */
  get stopped(): boolean {
    return this.state._tag === "Stopping" || this.state._tag === "Finished"
  }

  /** Whether an attempt is running, stopping or not. */
  get alive(): boolean {
    const state = this.state
    return state._tag === "Running" || (state._tag === "Stopping" && state.during === "Running")
  }

  get listed(): TaskState {
    const state = this.state
    return state._tag === "Finished" ? "Stopping" : state._tag
  }
}
