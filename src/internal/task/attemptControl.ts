/** What a running attempt finds in its context: `CurrentTask`, and its control (`progress`, `ready`, the grace; a group's host). */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { TaskSpec } from "../config/taskSpec.js"
import type { Bus } from "../events/bus.js"
import type { Caller } from "./caller.js"
import type { ChildRefused, Member, Task } from "./task.js"

export interface CurrentTaskInfo {
  readonly id: number
  readonly name: string
  readonly attempt: number
}

export class CurrentTask extends Context.Reference<CurrentTask>()("effect-taskvisor/CurrentTask", {
  defaultValue: (): CurrentTaskInfo => ({ id: 0, name: "", attempt: 0 })
}) {}

/** What a group's attempt needs of its supervisor (the registry). */
export interface Host {
  readonly bus: Bus
  /** How long a child may take to stop. */
  readonly grace: Duration.Duration
  now(): number
  /** Register a group's child under its path and schedule its start; why it was refused otherwise. */
  admitChild(spec: TaskSpec<unknown, unknown>, path: string, member: Member, caller: Caller): Task | ChildRefused
  /** Claim a task's stop, as `remove` does. */
  stop(task: Task, reason: string | undefined): boolean
}

/** Where a group's attempt finds its supervisor and its own task. */
export interface Hosted {
  readonly host: Host
  readonly task: Task
}

/**
 * What the supervisor offers a running attempt besides `CurrentTask`: what
 * its `progress` does (feed its watchdog), what its `ready` does (end its
 * `Starting`), how long it may take to stop, and for a group, the supervisor
 * its children register with.
 */
export interface AttemptControl {
  readonly progress: Effect.Effect<void>
  /** The attempt is ready: a task that awaits it moves from `Starting` to `Running`; otherwise nothing. */
  readonly ready: Effect.Effect<void>
  /** How long a stopped task may take to stop before it is force-aborted; `undefined` outside a supervisor. */
  readonly grace: Duration.Duration | undefined
  /**
   * Completes when the task is force-aborted, its attempt given up on (a
   * worker thread is terminated then); never for a task that does not await it.
   */
  readonly forceAborted: Effect.Effect<void>
  /** The group's host, for a group's attempt; `undefined` for another task's, and outside a supervisor. */
  readonly host: Hosted | undefined
}

export const noControl: AttemptControl = {
  progress: Effect.void,
  ready: Effect.void,
  grace: undefined,
  forceAborted: Effect.never,
  host: undefined
}

export class CurrentAttemptControl
  extends Context.Reference<CurrentAttemptControl>()("effect-taskvisor/internal/AttemptControl", {
    defaultValue: (): AttemptControl => noControl
  })
{}

export const progress: Effect.Effect<void> = Effect.flatMap(CurrentAttemptControl, (control) => control.progress)

/** The running attempt is ready (see `AttemptControl.ready`). */
export const ready: Effect.Effect<void> = Effect.flatMap(CurrentAttemptControl, (control) => control.ready)

/** The supervisor's grace, as the running attempt sees it (see `AttemptControl.grace`). */
export const grace: Effect.Effect<Duration.Duration | undefined> = Effect.map(
  CurrentAttemptControl,
  (control) => control.grace
)
