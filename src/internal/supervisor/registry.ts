/** The registry of one supervisor: its lifecycle, its tasks, admission, stops and the one terminal commit. */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import * as actor from "../actor/actor.js"
import { resolve, type Resolved } from "../config/resolve.js"
import type { Settings } from "../config/settings.js"
import type { TaskSpec } from "../config/taskSpec.js"
import {
  AlreadyRunning,
  ConfigError,
  endingOf,
  GraceExceeded,
  ShuttingDown,
  SignificantTaskFailed,
  TaskAlreadyExists,
  TaskNotFound
} from "../data/supervisorError.js"
import { describe } from "../data/taskError.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import type { Bus } from "../events/bus.js"
import { type Recorder, recorderOf } from "../events/metrics.js"
import { Deadlines } from "../primitives/deadlines.js"
import { OutcomeCell } from "../primitives/outcomeCell.js"
import type { Permits } from "../primitives/permits.js"
import { type Host, noControl } from "../task/attemptControl.js"
import type { Caller } from "../task/caller.js"
import { FaultInjection } from "../task/faults.js"
import {
  ChildRefused,
  countedOf,
  type Member,
  type OperatorControl,
  Task,
  type TaskDetails,
  type TaskInfo
} from "../task/task.js"
import { Batch } from "./batch.js"

const alreadyExists = "a registered task already uses this name"

/** The error of a name that cannot be taken (`reason`: why, when it is not simply registered already). */
const refused = (taskName: string, conflict: string): TaskAlreadyExists =>
  new TaskAlreadyExists({ taskName, reason: conflict === alreadyExists ? undefined : conflict })

/** The event each control publishes. */
const controlEvents = {
  Restart: "TaskRestartRequested",
  Pause: "TaskPaused",
  Resume: "TaskResumed",
  Trigger: "TaskTriggered"
} as const

/** How many actors of a batch start together. */
const wave = 1000

/** The outcome of a task whose stop was claimed: `Canceled`, whatever it decided. */
const stopped = (outcome: TaskOutcome.TaskOutcome<unknown>): TaskOutcome.TaskOutcome<unknown> => {
  switch (outcome._tag) {
    case "Completed":
      return TaskOutcome.Canceled
    case "Failed":
    case "Fatal":
      return TaskOutcome.canceledWith(outcome.cause)
    default:
      return outcome
  }
}

/**
 * `Open` until `run` is called, `Running` after (it runs once, its batch
 * admitted or not), `ShuttingDown` from the first shutdown request, `Closed`
 * once every task is committed and the subscribers drained, with the
 * shutdown's result; the last two remember whether `run` was called.
 */
export type Lifecycle =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Running" }
  | { readonly _tag: "ShuttingDown"; readonly ran: boolean }
  | { readonly _tag: "Closed"; readonly ran: boolean; readonly exit: Exit.Exit<void, GraceExceeded> }

/** Work ready to be registered: validated, with its id, its caller and the cell its outcome goes to. */
export interface Submission {
  readonly id: number
  readonly spec: Resolved
  readonly caller: Caller
  readonly outcome: OutcomeCell
}

/** What other components (the controller) learn from the registry, as it happens. */
export interface Observer {
  /** The component, as a `RuntimeFailure` names it if it throws. */
  readonly component: string
  /** A task's terminal commit, after its `TaskRemoved`. */
  readonly onFinished: (task: Task) => void
  /** Shutdown began (after `ShutdownRequested`): admission is closed, nothing queued may start. */
  readonly onShutdown: () => void
}

export class Registry implements Host {
  private lifecycle: Lifecycle = { _tag: "Open" }
  /** Open while no task is registered and no item of a batch waits for its wave. */
  readonly empty = Effect.unsafeMakeLatch(true)
  /** The result of the one shutdown. */
  private readonly result = Deferred.unsafeMake<void, GraceExceeded>(FiberId.none)
  private readonly tasks = new Map<number, Task>()
  private readonly names = new Map<string, number>()
  /** The paths registered groups keep for their descendants, with the top-level group keeping each. */
  private readonly kept = new Map<string, string>()
  /** The static batch of `run`, once admitted. */
  private batch: Batch | undefined = undefined
  /** Significant tasks added to the supervisor and not finished (see `autoShutdown`). */
  private significant = 0
  /** The first significant task that ended `Failed` or `Fatal` by itself, while `allSignificant` waits for the others. */
  private firstFailure: SignificantTaskFailed | undefined = undefined
  /** The significant task whose failure shut the supervisor down, if one did. */
  private gaveUp: SignificantTaskFailed | undefined = undefined
  /** Ids issued to work not registered yet (queued in a controller), with how to take it back. */
  private readonly pending = new Map<number, (reason: string | undefined) => void>()
  private readonly observers = new Set<Observer>()
  private nextId = 1
  /** Whether `tasks` (in registration order) is in id order, and the last id registered. */
  private inIdOrder = true
  private lastRegistered = 0
  private readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  private readonly env: actor.ActorEnv
  /** The force-abort deadlines of individual stops. */
  private readonly deadlines: Deadlines<Task>
  /** Where the tasks' metrics go; `undefined` when they are off. */
  private readonly recorder: Recorder | undefined

  constructor(
    readonly settings: Settings,
    readonly bus: Bus,
    private readonly permits: Permits | undefined,
    runtime: Runtime.Runtime<never>,
    clock: Clock.Clock
  ) {
    this.fork = Runtime.runFork(runtime)
    this.recorder = recorderOf(settings.metrics)
    this.env = {
      bus,
      host: this,
      permits,
      commit: (task, outcome) => this.commit(task, outcome),
      control: { ...noControl, grace: settings.grace },
      faults: Context.getOrElse(runtime.context, FaultInjection, () => undefined)
    }
    // past its grace a task is force-aborted; a group's child its group never got to stop is stopped now too, not
    // abandoned running
    this.deadlines = new Deadlines(settings.grace, clock, this.fork, (task) => {
      this.claim(task)
      this.commit(task, TaskOutcome.ForceAborted)
    })
  }

  get open(): boolean {
    return this.lifecycle._tag === "Open" || this.lifecycle._tag === "Running"
  }

  /**
   * `run` begins: the registry is `Running` from now on, whatever becomes of
   * the batch; or why it cannot (a second `run`, or shutdown came first).
   */
  beginRun(): AlreadyRunning | ShuttingDown | undefined {
    switch (this.lifecycle._tag) {
      case "Open":
        this.lifecycle = { _tag: "Running" }
        return undefined
      case "Running":
        return new AlreadyRunning()
      case "ShuttingDown":
      case "Closed":
        return this.lifecycle.ran ? new AlreadyRunning() : new ShuttingDown()
    }
  }

  /**
   * Tell an observer (an internal component: the controller, the HTTP
   * endpoint's readiness) what happened; one that throws is reported as a
   * `RuntimeFailure` of its component, and the registry carries on.
   */
  private guard(observer: Observer, tell: () => void): void {
    try {
      tell()
    } catch (defect) {
      this.bus.emit("RuntimeFailure", { component: observer.component, reason: describe(defect) })
    }
  }

  observe(observer: Observer): () => void {
    this.observers.add(observer)
    return () => this.observers.delete(observer)
  }

  /** The tasks registered, and the items of a batch whose wave has not come. */
  get size(): number {
    return this.tasks.size + (this.batch === undefined ? 0 : this.batch.unannounced)
  }

  /** `name`: the name it registers under, a group's child's path. */
  resolve(spec: TaskSpec<unknown, unknown>, name: string = spec.name): Resolved | ConfigError {
    return resolve(spec, this.settings, this.recorder, name)
  }

  /** Validate a spec and issue its id; its attempts run with the caller's context and fiber refs. */
  prepare(spec: TaskSpec<unknown, unknown>, caller: Caller, name?: string): Submission | ShuttingDown | ConfigError {
    if (!this.open) return new ShuttingDown()
    const resolved = this.resolve(spec, name)
    return resolved instanceof ConfigError
      ? resolved
      : { id: this.nextId++, spec: resolved, caller, outcome: new OutcomeCell() }
  }

  /**
   * Register and start one task (a group's child with its `member`), or
   * reject it (`TaskAddFailed`, outcome `Rejected`) if its name is taken,
   * kept for a group's child, or (for a group) a child's path is taken.
   */
  admit(submission: Submission, when: actor.Start, member?: Member): Task | TaskAlreadyExists {
    const { id, spec } = submission
    const { name } = spec
    const group = member?.group
    this.bus.emit("TaskAddRequested", { id, task: name, group })
    // a child's path is kept for it by its top-level group: only its name is checked
    const conflict = member === undefined ? this.conflictOf(spec) : this.names.has(name) ? alreadyExists : undefined
    if (conflict !== undefined) {
      this.bus.emit("TaskAddFailed", { id, task: name, group, rejection: "AlreadyExists", reason: conflict })
      submission.outcome.complete(TaskOutcome.Rejected("AlreadyExists", conflict))
      return refused(name, conflict)
    }
    if (member === undefined) this.take(id, spec)
    else this.names.set(name, id)
    const task = this.register(id, submission.spec, submission.outcome)
    task.member = member
    this.bus.emit("TaskAdded", { id, task: name, group })
    actor.start(this.env, task, submission.caller, when)
    return task
  }

  get grace(): Duration.Duration {
    return this.settings.grace
  }

  now(): number {
    return this.bus.now()
  }

  /** A group's child: registered under its path, started once the group's attempt step is over. */
  admitChild(spec: TaskSpec<unknown, unknown>, path: string, member: Member, caller: Caller): Task | ChildRefused {
    const submission = this.prepare(spec, caller, path)
    if (submission instanceof ShuttingDown) return new ChildRefused({ reason: "the supervisor is shutting down" })
    if (submission instanceof ConfigError) return new ChildRefused({ reason: submission.message })
    const admitted = this.admit(submission, "Later", member)
    return admitted instanceof TaskAlreadyExists
      ? new ChildRefused({ reason: admitted.reason ?? alreadyExists })
      : admitted
  }

  /**
   * Why a top-level task cannot take its name: it is registered, or kept by a
   * group for its child; or, for a group, one of its descendants' paths is
   * registered or kept. `undefined` when it can.
   */
  private conflictOf(spec: Resolved): string | undefined {
    if (this.names.has(spec.name)) return alreadyExists
    const keeper = this.kept.size === 0 ? undefined : this.kept.get(spec.name)
    if (keeper !== undefined) return `it is reserved for a child of group '${keeper}'`
    for (const path of spec.descendants) {
      if (this.names.has(path) || this.kept.has(path)) {
        return `the path of its child '${path}' is taken by a registered task`
      }
    }
    return undefined
  }

  /**
   * A top-level task takes its name, and a group keeps its descendants'
   * paths, until its terminal commit; a significant one is counted.
   */
  private take(id: number, spec: Resolved): void {
    this.names.set(spec.name, id)
    for (const path of spec.descendants) this.kept.set(path, spec.name)
    if (spec.significant) this.significant++
  }

  /** What `take` took goes back. */
  private giveBack(spec: Resolved): void {
    this.names.delete(spec.name)
    for (const path of spec.descendants) this.kept.delete(path)
    if (spec.significant) this.significant--
  }

  /**
   * The static batch: all of it or none. Its names are taken at once; its
   * tasks are announced (`TaskAddRequested`, `TaskAdded`), registered and
   * started a wave at a time, in order. Returns the batch (each item's
   * outcome is written at its task's terminal commit), or why it was refused.
   */
  admitAll(specs: Array<Resolved>, caller: Caller): Batch | TaskAlreadyExists {
    const firstId = this.nextId
    this.nextId += specs.length
    // the names are taken as they are checked (a name used twice in the batch conflicts with itself), and given
    // back if one conflicts: the whole batch registers, or none of it
    for (let i = 0; i < specs.length; i++) {
      if (this.conflictOf(specs[i]) !== undefined) return this.rejectAll(specs, firstId, i)
      this.take(firstId + i, specs[i])
    }
    const batch = new Batch(specs, firstId, caller)
    this.batch = batch
    this.startWave(batch)
    return batch
  }

  /**
   * Announce and register the batch's tasks up to (not including) item
   * `end`, in order: each wave does before it starts, and a stop, a control
   * or shutdown does when it names a task whose wave has not come.
   */
  private announce(batch: Batch, end: number): void {
    const from = batch.announced
    if (end <= from) return
    const { firstId, specs } = batch
    for (let i = from; i < end; i++) this.bus.emit("TaskAddRequested", { id: firstId + i, task: specs[i]!.name })
    for (let i = from; i < end; i++) {
      const { name } = this.register(firstId + i, specs[i]!, new OutcomeCell()).spec
      specs[i] = undefined
      this.bus.emit("TaskAdded", { id: firstId + i, task: name })
    }
    batch.announced = end
  }

  /**
   * Start a batch's next wave, and the one after once this one had its turn:
   * tasks that end at once are gone before the next ones are even
   * registered, so a large batch holds neither a task nor a fiber per item
   * all at the same time.
   */
  private startWave(batch: Batch): void {
    const from = batch.started
    const end = Math.min(from + wave, batch.specs.length)
    this.announce(batch, end)
    batch.started = end
    for (let id = batch.firstId + from; id < batch.firstId + end; id++) {
      // a task stopped before its wave came has ended already
      const task = this.tasks.get(id)
      if (task !== undefined && !task.finished) actor.start(this.env, task, batch.caller, "Now")
    }
    if (end < batch.specs.length) {
      // after the fibers of this wave had their first turn
      this.fork(Effect.zipRight(Effect.yieldNow(), Effect.sync(() => this.startWave(batch))))
    }
  }

  /**
   * A batch whose item `index` cannot take its name: what the items before it
   * took goes back, and every item is refused, as `AlreadyExists` if it could
   * not take its name itself (with the items before it taken), else as
   * `BatchRejected`; the error names the first.
   */
  private rejectAll(specs: ReadonlyArray<Resolved>, firstId: number, index: number): TaskAlreadyExists {
    for (let i = 0; i < index; i++) this.giveBack(specs[i])
    specs.forEach((spec, i) => this.bus.emit("TaskAddRequested", { id: firstId + i, task: spec.name }))
    const taken: Array<Resolved> = []
    let first: TaskAlreadyExists | undefined
    specs.forEach((spec, i) => {
      const conflict = this.conflictOf(spec)
      if (conflict === undefined) {
        this.take(firstId + i, spec)
        taken.push(spec)
      } else {
        first ??= refused(spec.name, conflict)
      }
      this.bus.emit("TaskAddFailed", {
        id: firstId + i,
        task: spec.name,
        rejection: conflict === undefined ? "BatchRejected" : "AlreadyExists",
        reason: conflict ?? "another item rejected the all-or-nothing batch"
      })
    })
    for (const spec of taken) this.giveBack(spec)
    return first!
  }

  /** Register a task whose name its caller has claimed. */
  private register(id: number, spec: Resolved, outcome: OutcomeCell): Task {
    const task = new Task(id, spec, outcome)
    // work issued earlier may register later (a controller queue); `list` sorts only then
    if (id < this.lastRegistered) this.inIdOrder = false
    this.lastRegistered = id
    this.tasks.set(id, task)
    spec.metrics?.added()
    this.empty.unsafeClose()
    return task
  }

  /**
   * The terminal commit, the one place a task leaves the registry. A stop
   * claimed after the actor decided (while it finished) still makes the
   * outcome `Canceled`, keeping a failure as its cause.
   */
  commit(task: Task, decided: TaskOutcome.TaskOutcome<unknown>): void {
    const { state } = task
    const claimed = state._tag === "Stopping"
    const outcome = claimed ? stopped(decided) : decided
    if (!task.finish()) return
    if (outcome._tag === "ForceAborted") task.actor?.abandon()
    const { metrics } = task.spec
    if (metrics !== undefined) {
      metrics.finished(task.counters ??= metrics.counters(task.spec.name), outcome, countedOf(state))
    }
    const { id, spec } = task
    const { name } = spec
    this.tasks.delete(id)
    const { member } = task
    // the name, taken since the task's admission, is its own to give back
    if (member === undefined) this.giveBack(spec)
    else this.names.delete(name)
    this.bus.emit("TaskFinished", { id, task: name, group: member?.group, outcome })
    this.bus.emit("TaskRemoved", { id, task: name, group: member?.group })
    if (task.deadline !== undefined) this.deadlines.cancel(task.deadline)
    // a finished task may stay referenced (by a handle's caller, a group): its fiber need not
    task.deadline = undefined
    task.fiber = undefined
    // a force-aborted attempt may never return; its permit must not be lost with it
    this.permits?.release(task)
    task.outcome.complete(outcome)
    const index = this.batch === undefined || member !== undefined ? -1 : this.batch.indexOf(id)
    if (index >= 0) this.batch!.outcomes[index] = outcome
    for (const observer of this.observers) this.guard(observer, () => observer.onFinished(task))
    member?.onFinished(task, outcome, claimed)
    if (member === undefined && spec.significant && !claimed) this.significantEnded(name, outcome)
    if (this.size === 0) {
      this.inIdOrder = true
      this.empty.unsafeOpen()
    }
  }

  /**
   * A significant task added to the supervisor ended by itself: with
   * `autoShutdown`, the supervisor shuts down (once this commit is over), as
   * OTP's `auto_shutdown` does; `join` then fails if it ended `Failed` or
   * `Fatal` (with `allSignificant`, if any of them did). A shutdown it did
   * not cause leaves `join` the shutdown's own result.
   */
  private significantEnded(name: string, outcome: TaskOutcome.TaskOutcome<unknown>): void {
    const { autoShutdown } = this.settings
    if (autoShutdown === "never" || !this.open) return
    if (outcome._tag === "Failed" || outcome._tag === "Fatal") {
      this.firstFailure ??= new SignificantTaskFailed({ taskName: name, outcome })
    }
    if (autoShutdown === "allSignificant" && this.significant > 0) return
    const why = this.firstFailure?.ending ?? endingOf(name, outcome)
    const gaveUp = this.firstFailure
    // after this commit, on a fiber of its own; a shutdown begun meanwhile (by a caller) is left as it is
    this.fork(Effect.suspend(() => {
      if (!this.open) return Effect.void
      this.gaveUp = gaveUp
      return Effect.ignore(Effect.zipRight(Effect.logWarning(`${why}: shutting down`), this.shutdown("Requested", why)))
    }))
  }

  /** The result of the shutdown, once it is over (at once if it is: no waiting on an asynchronous operation). */
  private get closed(): Effect.Effect<void, GraceExceeded> {
    return this.lifecycle._tag === "Closed" ? this.lifecycle.exit : Deferred.await(this.result)
  }

  /**
   * Wait until the supervisor has shut down: its result, or the significant
   * task whose failure shut it down.
   */
  get join(): Effect.Effect<void, GraceExceeded | SignificantTaskFailed> {
    return Effect.flatMap(
      Effect.exit(this.closed),
      (exit): Effect.Effect<void, GraceExceeded | SignificantTaskFailed> =>
        this.gaveUp === undefined ? exit : Effect.fail(this.gaveUp)
    )
  }

  /**
   * Claim a task's stop and interrupt its actor; false if a stop was claimed
   * already. A paused task, or one of a batch whose wave has not come, has no
   * fiber to interrupt: it ends now.
   */
  private claim(task: Task): boolean {
    const idle = task.state._tag === "Paused" || task.state._tag === "Admitted"
    if (!task.claim()) return false
    if (idle) this.commit(task, TaskOutcome.Canceled)
    else task.fiber?.unsafeInterruptAsFork(FiberId.none)
    return true
  }

  /**
   * An individual stop: claim it, then force-abort after the grace unless the
   * actor ends first; a group is not force-aborted, its teardown stops its
   * children one by one, each against its own grace.
   */
  stop(task: Task, reason: string | undefined): boolean {
    if (task.stopped) return false
    this.bus.emit("TaskRemoveRequested", { id: task.id, task: task.spec.name, group: task.member?.group, reason })
    this.claim(task)
    // a group's stop lasts as long as its children's, each bounded by its own grace
    if (!task.finished && !task.spec.hostsChildren && task.deadline === undefined) {
      task.deadline = this.deadlines.add(task)
    }
    return true
  }

  /**
   * An operator's control of a registered task, published when it applies;
   * `false` when it does not (see `TaskSupervisor.restart`).
   */
  control(task: Task, kind: OperatorControl): boolean {
    // nothing starts once shutdown began, or once the task's group stops its children
    if (!this.open || task.member?.stopping === true) return false
    if (task.actor?.control(kind) !== true) return false
    this.bus.emit(controlEvents[kind], { id: task.id, task: task.spec.name, group: task.member?.group })
    return true
  }

  /** A registered task by id or name (an item of a batch whose wave has not come is not registered yet). */
  find(target: number | string): Task | undefined {
    const id = this.idOf(target)
    return id === undefined ? undefined : this.tasks.get(id)
  }

  /** A registered task to stop: an item of a batch whose wave has not come is announced (with those before it). */
  findToStop(target: number | string): Task | undefined {
    const task = this.find(target)
    if (task !== undefined) return task
    const index = this.waitingItem(target)
    if (index === undefined) return undefined
    this.announce(this.batch!, index + 1)
    return this.tasks.get(this.batch!.firstId + index)
  }

  /**
   * What `inspect` says of a registered task, or of an item of a batch whose
   * wave has not come (waiting to start, as any task before its first attempt).
   */
  details(target: number | string): TaskDetails | undefined {
    const now = this.now()
    const task = this.find(target)
    if (task !== undefined) return task.details(now)
    const index = this.waitingItem(target)
    if (index === undefined) return undefined
    const { firstId, specs } = this.batch!
    return new Task(firstId + index, specs[index]!, new OutcomeCell()).details(now)
  }

  /** Whether the target is an item of a batch whose wave has not come: registered, but with nothing to control. */
  waiting(target: number | string): boolean {
    return this.waitingItem(target) !== undefined
  }

  private idOf(target: number | string): number | undefined {
    return typeof target === "number" ? target : this.names.get(target)
  }

  /** The index of the batch's item the target names, if its wave has not come. */
  private waitingItem(target: number | string): number | undefined {
    const id = this.idOf(target)
    if (id === undefined || this.batch === undefined) return undefined
    const index = this.batch.indexOf(id)
    return index < this.batch.announced ? undefined : index
  }

  /** Keep an issued id for work not registered yet, with how to take it back if a stop names it first. */
  hold(id: number, takeBack: (reason: string | undefined) => void): void {
    this.pending.set(id, takeBack)
  }

  /** The held work (see `hold`) registers now, or was turned away: no stop takes it back any more. */
  unhold(id: number): void {
    this.pending.delete(id)
  }

  /**
   * A stop of a task that is not registered: held work is taken back (`true`);
   * a name, or an id this supervisor issued, is simply gone (`false`); only an
   * id never issued is an error.
   */
  stopAbsent(target: number | string, reason: string | undefined): Effect.Effect<boolean, TaskNotFound> {
    const takeBack = typeof target === "number" ? this.pending.get(target) : undefined
    if (takeBack === undefined) return this.absent(target)
    this.pending.delete(target as number)
    takeBack(reason)
    return Effect.succeed(true)
  }

  /** A task that is not registered: a name, or an id this supervisor issued, is simply gone (`false`). */
  absent(target: number | string): Effect.Effect<boolean, TaskNotFound> {
    return typeof target === "string" || (Number.isInteger(target) && target >= 1 && target < this.nextId)
      ? Effect.succeed(false)
      : Effect.fail(new TaskNotFound({ target }))
  }

  list(): Array<TaskInfo> {
    const infos = Array.from(this.tasks.values(), (task) => task.info())
    const { batch } = this
    if (batch === undefined || batch.unannounced === 0) {
      return this.inIdOrder
        ? infos
        : infos.sort((a, b) => a.id - b.id)
    }
    // a batch's items whose wave has not come wait to start, as `list` says of any task before its first attempt
    for (let i = batch.announced; i < batch.specs.length; i++) {
      infos.push({ id: batch.firstId + i, name: batch.specs[i]!.name, state: "Waiting", attempt: 0 })
    }
    return infos.sort((a, b) => a.id - b.id)
  }

  isAlive(name: string): boolean {
    const id = this.names.get(name)
    return id !== undefined && this.tasks.get(id)?.alive === true
  }

  /**
   * Close admission, stop every task against one grace deadline, then let the
   * subscribers drain; one operation whoever asks. `Requested` publishes
   * `ShutdownRequested` (with `reason` when the supervisor shuts itself down;
   * a batch's natural end publishes none).
   */
  shutdown(trigger: "Requested" | "Natural", reason?: string): Effect.Effect<void, GraceExceeded> {
    return Effect.suspend(() => {
      if (this.open) {
        const ran = this.lifecycle._tag === "Running"
        this.lifecycle = { _tag: "ShuttingDown", ran }
        if (trigger === "Requested") this.bus.emit("ShutdownRequested", { reason })
        for (const observer of this.observers) this.guard(observer, () => observer.onShutdown())
        const drained = this.drain()
        const closed = (exit: Exit.Exit<void, GraceExceeded>) => {
          this.lifecycle = { _tag: "Closed", ran, exit }
          this.deadlines.close()
          Deferred.unsafeDone(this.result, exit)
        }
        // with nothing to wait for (no task, no subscriber to drain) it is over already; otherwise it goes on a fiber
        // of its own, whoever stops waiting for it
        if (Exit.isExit(drained)) closed(drained as Exit.Exit<void, GraceExceeded>)
        else this.fork(Effect.flatMap(Effect.exit(drained), (exit) => Effect.sync(() => closed(exit))))
      }
      return this.closed
    })
  }

  private drain(): Effect.Effect<void, GraceExceeded> {
    // a batch's items whose wave has not come are registered now, to be stopped with the rest
    if (this.batch !== undefined) this.announce(this.batch, this.batch.specs.length)
    const present = Array.from(this.tasks.values())
    // a group stops its own children, in reverse start order
    for (const task of present) if (task.member === undefined) this.claim(task)
    // one grace for all: each task still here once the stopped ones had their turn is force-aborted by its deadline,
    // all due at the same time (one stopped on its own before keeps its earlier one), so waiting for every outcome is
    // waiting at most the grace; most have ended by then, and no timer is armed for them
    const graced = Effect.suspend(() => {
      for (const task of present) {
        if (!task.finished && task.deadline === undefined) task.deadline = this.deadlines.add(task)
      }
      return Effect.forEach(present, (task) => task.outcome.await, { discard: true })
    })
    return present.length === 0
      ? this.reportStopped(present)
      : Effect.flatMap(Effect.zipRight(Effect.yieldNow(), graced), () => this.reportStopped(present))
  }

  /** Every task `present` at shutdown has ended: say how, then let the subscribers drain. */
  private reportStopped(present: ReadonlyArray<Task>): Effect.Effect<void, GraceExceeded> {
    const { grace, subscriberShutdownTimeout } = this.settings
    const stuck: Array<string> = []
    for (const task of present) if (task.outcome.completed?._tag === "ForceAborted") stuck.push(task.spec.name)
    if (stuck.length === 0) {
      this.bus.emit("AllStoppedWithinGrace", {})
      return this.bus.close(subscriberShutdownTimeout)
    }
    this.bus.emit("GraceExceeded", { grace, stuck })
    const exceeded = new GraceExceeded({ grace, stuck })
    // a scope that closes swallows the error: the log says which tasks were abandoned, bus or no bus
    const draining = this.bus.close(subscriberShutdownTimeout)
    return Effect.logWarning(exceeded.message).pipe(
      Effect.annotateLogs("stuck", stuck),
      Effect.zipRight(draining),
      Effect.zipRight(Effect.fail(exceeded))
    )
  }
}
