/** One registered task: what the registry and its actor share, its life as one tagged state. */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { Resolved, Supervision } from "../config/resolve.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { AttemptResult, Counted, Counters } from "../events/metrics.js"
import type { Deadline } from "../primitives/deadlines.js"
import type { OutcomeCell } from "../primitives/outcomeCell.js"
import type { Holder } from "../primitives/permits.js"

/** What the registry asks of a task's actor. */
export interface Actor {
  /** An operator's control; false when it does not apply to the task as it is now. */
  control(kind: OperatorControl): boolean
  /** What `inspect` reports beyond the task's row. */
  details(): ActorDetails
  /** For a cron task: when it runs next (epoch milliseconds), if it is scheduled to. */
  nextRunAt(): number | undefined
  /** The task was force-aborted: its attempt, which never returned, is over for the supervisor (its span ends). */
  abandon(): void
}

/** The runtime controls an operator has over a task. */
export type OperatorControl = "Restart" | "Pause" | "Resume" | "Trigger"

/** One failed attempt, as the crash history keeps it. */
export interface Failure {
  /** When it ended (the clock's milliseconds). */
  readonly at: number
  readonly attempt: number
  readonly reason: string
  readonly exitCode: number | undefined
}

/** How the last attempt ended. */
export interface LastAttempt {
  readonly result: AttemptResult
  /** Why it failed (its failure described); `undefined` for a success or a cancellation. */
  readonly reason: string | undefined
  /** When it ended (the clock's milliseconds). */
  readonly at: number
}

/** What an actor knows of its task's history. */
export interface ActorDetails {
  /** When the running attempt started (the clock's milliseconds); `undefined` between attempts. */
  readonly attemptStartedAt: number | undefined
  readonly last: LastAttempt | undefined
  /** The last failures, oldest first. */
  readonly failures: ReadonlyArray<Failure>
}

/** A group, as its children's retry loops and the registry see it. */
export interface Member {
  /** The group's path, named by its children's events. */
  readonly group: string
  /** What to wait for before the child's next attempt, while the group holds it back; `undefined`: go. */
  gate(task: Task): Effect.Effect<void> | undefined
  /** What completes when the group restarts the child's attempt; `undefined` if its strategy never does. */
  recycle(task: Task): Effect.Effect<void> | undefined
  /** The child's attempt started. */
  onStarted(task: Task): void
  /** The child's attempt ended and the child will run another (after a failure, or an `always` success). */
  onRestarting(task: Task, reason: string): void
  /** The child's attempt ended because the group restarts it: the child waits at its gate. */
  onRecycled(task: Task): void
  /** The child was paused by an operator: it starts nothing until resumed. */
  onPaused(task: Task): void
  /** Whether the group is stopping its children: controls of a child do not apply. */
  readonly stopping: boolean
  /** The child's terminal commit; `claimed`: its stop was claimed (it did not end by itself). */
  onFinished(task: Task, outcome: TaskOutcome<unknown>, claimed: boolean): void
}

/** Why the registry did not admit a group's child (its path taken, its spec invalid, or shutdown begun). */
export class ChildRefused extends Data.TaggedClass("ChildRefused")<{ readonly reason: string }> {}

/**
 * What the actor is doing: not started yet (a batch starts its tasks in
 * waves), waiting for a permit (or its group), running an attempt (`Starting`
 * until it is ready, for a task that says when it is), between
 * attempts, parked between tries after exceeding its restart intensity,
 * paused by an operator until resumed, or (a cron task) waiting for its next
 * scheduled run.
 */
export type Phase =
  | "Admitted"
  | "Waiting"
  | "Starting"
  | "Running"
  | "BackingOff"
  | "Parked"
  | "Paused"
  | "Scheduled"

/** What `list` reports of a task: its phase (`Waiting` before it started), or `Stopping` once a stop was claimed. */
export type TaskState = Exclude<Phase, "Admitted"> | "Stopping"

/**
 * A task's life. Its phase changes as its actor works; a claimed stop keeps
 * the phase it happened in (`isAlive` is true while a stopping task still runs
 * its attempt); the terminal commit ends it `Finished`, once (its outcome is
 * in its cell).
 */
export type State =
  | { readonly _tag: Phase }
  | { readonly _tag: "Stopping"; readonly during: Phase }
  | { readonly _tag: "Finished" }

const phases: { readonly [P in Phase]: State } = {
  Admitted: { _tag: "Admitted" },
  Waiting: { _tag: "Waiting" },
  Starting: { _tag: "Starting" },
  Running: { _tag: "Running" },
  BackingOff: { _tag: "BackingOff" },
  Parked: { _tag: "Parked" },
  Paused: { _tag: "Paused" },
  Scheduled: { _tag: "Scheduled" }
}

const finished: State = { _tag: "Finished" }

/** What the state gauges count a task in `state` as. */
export const countedOf = (state: State): Counted =>
  state._tag === "Finished" ? undefined : counted[state._tag === "Stopping" ? state.during : state._tag]

const counted: { readonly [P in Phase]: Counted } = {
  Admitted: undefined,
  Waiting: undefined,
  Starting: "Running",
  Running: "Running",
  BackingOff: "BackingOff",
  Parked: "BackingOff",
  Paused: undefined,
  Scheduled: undefined
}

const stopping: { readonly [P in Phase]: State } = {
  Admitted: { _tag: "Stopping", during: "Admitted" },
  Waiting: { _tag: "Stopping", during: "Waiting" },
  Starting: { _tag: "Stopping", during: "Starting" },
  Running: { _tag: "Stopping", during: "Running" },
  BackingOff: { _tag: "Stopping", during: "BackingOff" },
  Parked: { _tag: "Stopping", during: "Parked" },
  Paused: { _tag: "Stopping", during: "Paused" },
  Scheduled: { _tag: "Stopping", during: "Scheduled" }
}

/** One row of `list`. */
export interface TaskInfo {
  readonly id: number
  readonly name: string
  readonly state: TaskState
  readonly attempt: number
  /** For a cron task: when it runs next, if it is scheduled to (not while paused, or a run is due now). */
  readonly nextRunAt?: Date | undefined
}

/** What `inspect` reports of a registered task: its row, with its history. */
export interface TaskDetails extends TaskInfo {
  /** The path of the group it is a child of. */
  readonly group: string | undefined
  /** Attempts started after its first. */
  readonly restarts: number
  /** How its last attempt ended; `undefined` before any ended. */
  readonly lastAttempt: LastAttempt | undefined
  /** How long its running attempt has run; `undefined` between attempts. */
  readonly uptime: Duration.Duration | undefined
  /** Its last failures (at most 10), oldest first. */
  readonly failures: ReadonlyArray<Failure>
  /** For a group: its strategy, autoShutdown, intensity and children's paths; `undefined` for a plain task. */
  readonly supervision: Supervision | undefined
}

export class Task implements Holder {
  state: State = phases.Admitted
  /** The number of the current or last attempt; 0 before the first. */
  attempt = 0
  holdsPermit = false
  fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  /** The force-abort deadline of an individual stop. */
  deadline: Deadline<Task> | undefined = undefined
  /** The group it is a child of; `undefined` for a task added to the supervisor itself. */
  member: Member | undefined = undefined
  /** Its actor, once started: what an operator's controls and `inspect` reach. */
  actor: Actor | undefined = undefined
  /** The metric counters it counts under, found when its first attempt ends (or it ends without one). */
  counters: Counters | undefined = undefined

  constructor(
    readonly id: number,
    readonly spec: Resolved,
    /** Completed by the terminal commit, after the task's last event. */
    readonly outcome: OutcomeCell
  ) {}

  /** The actor moved to `phase`; a claimed stop stays claimed, a finished task stays finished. */
  enter(phase: Phase): void {
    const before = this.state
    if (before._tag === "Finished") return
    this.state = before._tag === "Stopping" ? stopping[phase] : phases[phase]
    this.spec.metrics?.moved(countedOf(before), counted[phase])
  }

  /** Claim the stop: true if this call claimed it (the task was neither stopping nor finished). */
  claim(): boolean {
    const state = this.state
    if (state._tag === "Stopping" || state._tag === "Finished") return false
    this.state = stopping[state._tag]
    return true
  }

  /** The terminal commit: true the first time. */
  finish(): boolean {
    if (this.state._tag === "Finished") return false
    this.state = finished
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
    const phase = state._tag === "Stopping" ? state.during : state._tag
    return phase === "Running" || phase === "Starting"
  }

  /** Its row with its history, at the clock's `now`. */
  details(now: number): TaskDetails {
    const { attemptStartedAt, failures, last } = this.actor?.details() ??
      { attemptStartedAt: undefined, last: undefined, failures: [] }
    return {
      ...this.info(),
      group: this.member?.group,
      restarts: Math.max(0, this.attempt - 1),
      lastAttempt: last,
      uptime: attemptStartedAt === undefined ? undefined : Duration.millis(Math.max(0, now - attemptStartedAt)),
      failures,
      supervision: this.spec.supervision
    }
  }

  /** The last row `info` made, reused while it is still true: a large fleet's `list` makes few new ones. */
  private row: TaskInfo | undefined = undefined

  /** The task's row of `list`. */
  info(): TaskInfo {
    const state = this.state
    const listed = state._tag === "Finished" ? "Stopping" : state._tag === "Admitted" ? "Waiting" : state._tag
    const row = this.row
    const nextRunAt = this.spec.cron === undefined ? undefined : this.actor?.nextRunAt()
    if (
      row !== undefined && row.state === listed && row.attempt === this.attempt &&
      row.nextRunAt?.getTime() === nextRunAt
    ) return row
    const info = { id: this.id, name: this.spec.name, state: listed, attempt: this.attempt }
    // handed out again while unchanged: nobody may change it
    return this.row = Object.freeze(nextRunAt === undefined ? info : { ...info, nextRunAt: new Date(nextRunAt) })
  }
}
