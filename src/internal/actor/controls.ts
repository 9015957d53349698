/** An operator's controls over a task's actor: what each does in each phase, and the actor's mode they change. */
import type * as FiberRefs from "effect/FiberRefs"
import type { OperatorControl, State } from "../task/task.js"

/** On its retry budget, as a task starts. */
export interface Normal {
  readonly _tag: "Normal"
}

/** Past its restart intensity: it tries again every park interval until an attempt succeeds. */
export interface Parked {
  readonly _tag: "Parked"
}

/** Paused by an operator, with no fiber: its next fiber starts with `fiberRefs`, in the mode it was paused in. */
export interface Paused {
  readonly _tag: "Paused"
  readonly fiberRefs: FiberRefs.FiberRefs
  readonly then: Normal | Parked
}

/** How an actor goes on between its steps. */
export type Mode = Normal | Parked | Paused

export const normal: Normal = { _tag: "Normal" }
export const parked: Parked = { _tag: "Parked" }

/**
 * A control the actor's fiber is interrupted for: that fiber ends, and the
 * task waits paused (`Pause`) or a fresh fiber starts its next attempt at once
 * (`Restart`).
 */
export type Request = "Restart" | "Pause"

/**
 * What a control does: interrupt the actor's fiber for a `Request`, `Unpause`
 * a paused task, turn the pause on its way into a restart (`Redirect`), or
 * nothing (`undefined`: it does not apply to the task as it is now).
 */
export type Action = Request | "Unpause" | "Redirect" | undefined

/** What `kind` does to a task in `phase` that is not stopping, `requested` on its way to its fiber. */
export const actionOf = (kind: OperatorControl, phase: State["_tag"], requested: Request | undefined): Action => {
  switch (kind) {
    case "Pause":
      return phase === "Paused" || phase === "Admitted" || requested === "Pause" ? undefined : "Pause"
    case "Resume":
      if (phase === "Paused") return "Unpause"
      // a pause still on its way: the task goes on at once instead
      return requested === "Pause" ? "Redirect" : undefined
    case "Restart":
      if (phase === "Paused") return "Unpause"
      return phase === "Starting" || phase === "Running" || phase === "BackingOff" || phase === "Parked" ||
          phase === "Scheduled"
        ? "Restart"
        : undefined
    case "Trigger":
      // a pause on its way is not a wait to cut short
      return (phase === "BackingOff" || phase === "Parked" || phase === "Scheduled") && requested !== "Pause"
        ? "Restart"
        : undefined
  }
}
