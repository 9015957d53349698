/** Groups: a task whose attempt supervises children, with OTP's restart strategies. */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as TaskSpec from "../config/taskSpec.js"
import type * as validate from "../config/validate.js"
import { GroupFailed } from "../data/taskError.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import { RestartWindow } from "../primitives/restartWindow.js"
import { CurrentAttemptControl, type Host } from "../task/attemptControl.js"
import { type Caller, callerOf } from "../task/caller.js"
import { ChildRefused, type Member, type Task } from "../task/task.js"

/** What one attempt of a group runs: its children and options (checked with the group at admission, see config/resolve.ts). */
interface Definition {
  readonly children: ReadonlyArray<TaskSpec.TaskSpec<unknown, unknown>>
  readonly strategy: TaskSpec.Strategy
  readonly autoShutdown: TaskSpec.AutoShutdown
  readonly intensity: validate.Intensity | undefined
}

/**
 * What a child of a group attempt is doing. A closed `gate` holds it back:
 * its next attempt waits until the group opens it.
 */
type ChildState =
  /** Registered, its next attempt free to start; `started` completes when its first starts (the start-up waits). */
  | { readonly _tag: "Starting"; readonly started: Deferred.Deferred<undefined> | undefined }
  /** An attempt runs; a closed `gate` (a restart closed it) holds it back once the attempt is over. */
  | { readonly _tag: "Running"; readonly gate: Deferred.Deferred<void> | undefined }
  /** Between attempts, held back at its closed `gate`. */
  | { readonly _tag: "Held"; readonly gate: Deferred.Deferred<void> }
  /** A restart is stopping its running attempt; `idle` completes once the attempt is over. */
  | {
    readonly _tag: "Stopping"
    readonly gate: Deferred.Deferred<void> | undefined
    readonly idle: Deferred.Deferred<void>
  }
  /** Its task made its terminal commit; `completed`: by completing (not temporary, not stopped by a caller). */
  | { readonly _tag: "Ended"; readonly completed: boolean }

// the states without data of their own, shared: an attempt's start and end allocate nothing
const starting: ChildState = { _tag: "Starting", started: undefined }
const running: ChildState = { _tag: "Running", gate: undefined }
const endedCompleted: ChildState = { _tag: "Ended", completed: true }
const endedOtherwise: ChildState = { _tag: "Ended", completed: false }

/** The closed gate of a child in `state`, if it has one. */
const gateOf = (state: ChildState): Deferred.Deferred<void> | undefined =>
  state._tag === "Starting" || state._tag === "Ended" ? undefined : state.gate

/** A child of one group attempt, in start order, from its first admission. */
class Child {
  /** Its restart policy is `never` (OTP's temporary child): a restart of the group stops it for good. */
  readonly temporary: boolean
  /** Completed to restart its running attempt (not under `oneForOne`); kept for its next attempts until used. */
  stop: Deferred.Deferred<void> | undefined = undefined

  constructor(
    readonly index: number,
    readonly spec: TaskSpec.TaskSpec<unknown, unknown>,
    readonly path: string,
    /** Its task: the registered one, or, once ended, the one that ended (a restart registers a new one). */
    public task: Task,
    public state: ChildState
  ) {
    this.temporary = task.spec.restart._tag === "Never"
  }
}

type Signal =
  | { readonly _tag: "Restarting"; readonly child: Child; readonly reason: string }
  | {
    readonly _tag: "Finished"
    readonly child: Child
    readonly task: Task
    readonly outcome: TaskOutcome<unknown>
    /** Its stop was claimed (a caller removed it, or the group stops it): it did not end by itself. */
    readonly claimed: boolean
  }

/** How a group attempt ends: by itself (`autoShutdown`), or giving up. */
type End = { readonly _tag: "Done" } | { readonly _tag: "GaveUp"; readonly error: GroupFailed }

const done: End = { _tag: "Done" }

const gaveUp = (error: GroupFailed): End => ({ _tag: "GaveUp", error })

/**
 * Where a group attempt is: its children run (or start, in order), a restart
 * is stopping the `children` it names, or the attempt is over and stops its
 * children (their controls no longer apply).
 */
type Phase =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Restarting"; readonly children: ReadonlySet<Child> }
  | { readonly _tag: "TearingDown" }

const runningPhase: Phase = { _tag: "Running" }
const tearingDown: Phase = { _tag: "TearingDown" }

const strategyLabel = { oneForOne: "OneForOne", oneForAll: "OneForAll", restForOne: "RestForOne" } as const

const settle = (deferred: Deferred.Deferred<void> | undefined): void => {
  if (deferred !== undefined) Deferred.unsafeDone(deferred, Exit.void)
}

const startedExit: Exit.Exit<undefined> = Exit.succeed(undefined)

const settleStart = (deferred: Deferred.Deferred<undefined> | undefined): void => {
  if (deferred !== undefined) Deferred.unsafeDone(deferred, startedExit)
}

const fresh = (): Deferred.Deferred<void> => Deferred.unsafeMake<void>(FiberId.none)

/**
 * One attempt of a group: its children, started in order, and the signals
 * they send as they restart and end, handled one at a time by the attempt's
 * fiber. It ends when a child gives up, when the children restart more often
 * than the group's intensity allows, or by `autoShutdown`; whatever ends it
 * (interruption included), its children still running are stopped in reverse
 * start order, each within its grace, before the attempt's end is reported.
 */
class GroupRun implements Member {
  readonly group: string
  /** The children admitted so far, in start order: all of them once the start-up is over. */
  private readonly children: Array<Child> = []
  private readonly byTask = new Map<Task, Child>()
  private readonly signals = Effect.runSync(Mailbox.make<Signal>())
  private readonly window: RestartWindow | undefined
  /** Children held back after a restart, to start again in start order, each once the previous one has. */
  private pending: Array<Child> = []
  private phase: Phase = runningPhase

  constructor(
    private readonly host: Host,
    private readonly self: Task,
    /** Whose services the children run with: the group's attempt's caller. */
    private readonly caller: Caller,
    private readonly definition: Definition
  ) {
    this.group = self.spec.name
    this.window = definition.intensity === undefined ? undefined : new RestartWindow(definition.intensity)
  }

  // -- what the children's retry loops and the registry call, synchronously --------------------------------------

  gate(task: Task): Effect.Effect<void> | undefined {
    const child = this.byTask.get(task)
    const gate = child === undefined ? undefined : gateOf(child.state)
    return gate === undefined ? undefined : Deferred.await(gate)
  }

  recycle(task: Task): Effect.Effect<void> | undefined {
    if (this.definition.strategy === "oneForOne") return undefined
    const child = this.byTask.get(task)
    if (child === undefined) return undefined
    return Deferred.await(child.stop ??= fresh())
  }

  onStarted(task: Task): void {
    const child = this.byTask.get(task)
    if (child === undefined) return
    const state = child.state
    // never held: a child whose gate a restart closed while it waited for a permit gives the permit back and waits at
    // its gate (its actor reads the gate again once the permit comes), so it starts in its turn
    if (state._tag === "Starting") {
      child.state = running
      settleStart(state.started)
    }
    // its turn to start is over: the next held child's comes
    if (this.pending[0] === child) this.advance()
  }

  onRestarting(task: Task, reason: string): void {
    const child = this.byTask.get(task)
    if (child === undefined) return
    this.attemptOver(child)
    // held already, it is part of a restart under way: that restart absorbs it, as OTP's does
    if (child.state._tag === "Held") return
    // held at its gate until the group has decided what restarts with it
    if (this.definition.strategy !== "oneForOne") child.state = { _tag: "Held", gate: fresh() }
    this.signals.unsafeOffer({ _tag: "Restarting", child, reason })
  }

  onPaused(task: Task): void {
    const child = this.byTask.get(task)
    if (child === undefined) return
    this.attemptOver(child)
    // held or not, it goes when resumed; its turn to start passes to the next held child
    this.open(child)
    this.unqueue(child)
  }

  get stopping(): boolean {
    return this.phase._tag === "TearingDown" || this.self.stopped
  }

  onRecycled(task: Task): void {
    const child = this.byTask.get(task)
    if (child !== undefined) this.attemptOver(child)
  }

  onFinished(task: Task, outcome: TaskOutcome<unknown>, claimed: boolean): void {
    const child = this.byTask.get(task)
    if (child === undefined) return
    this.byTask.delete(task)
    const state = child.state
    const isCompleted = !claimed && !child.temporary && outcome._tag === "Completed"
    child.state = isCompleted ? endedCompleted : endedOtherwise
    // ending by itself while a restart under way stops it anyway (completed, or temporary): part of that restart
    const absorbed = !claimed && this.phase._tag === "Restarting" && this.phase.children.has(child) &&
      (isCompleted || child.temporary)
    // what waited for it goes on: a restart stopping its attempt, the start-up, its gate
    if (state._tag === "Stopping") settle(state.idle)
    if (state._tag === "Starting") settleStart(state.started)
    settle(gateOf(state))
    this.unqueue(child)
    if (!absorbed) this.signals.unsafeOffer({ _tag: "Finished", child, task, outcome, claimed })
  }

  /** Open the child's gate, if it is closed. */
  private open(child: Child): void {
    const state = child.state
    switch (state._tag) {
      case "Held":
        child.state = starting
        break
      case "Running":
        child.state = running
        break
      case "Stopping":
        child.state = { _tag: "Stopping", gate: undefined, idle: state.idle }
        break
      default:
        return
    }
    settle(state.gate)
  }

  /** Close the child's gate, if it is open: it is held back once its attempt, if one runs, is over. */
  private close(child: Child): void {
    const state = child.state
    switch (state._tag) {
      case "Starting":
        child.state = { _tag: "Held", gate: fresh() }
        return
      case "Running":
        if (state.gate === undefined) child.state = { _tag: "Running", gate: fresh() }
        return
      case "Stopping":
        if (state.gate === undefined) child.state = { _tag: "Stopping", gate: fresh(), idle: state.idle }
        return
    }
  }

  /** The child leaves the queue of children held back; the next one's turn comes if it was first. */
  private unqueue(child: Child): void {
    this.pending = this.pending.filter((pending) => pending !== child)
    this.advance()
  }

  /** The child's attempt is over (restarting, held back, or paused): it is held if its gate is closed. */
  private attemptOver(child: Child): void {
    const state = child.state
    if (state._tag !== "Running" && state._tag !== "Stopping") return
    child.state = state.gate === undefined ? starting : { _tag: "Held", gate: state.gate }
    if (state._tag === "Stopping") settle(state.idle)
  }

  /**
   * Let the first child held back start; the next one goes once it has
   * started (or ended). A paused child's gate opens and the turn passes on: it
   * goes when resumed.
   */
  private advance(): void {
    // a restart under way holds every child until it has stopped those it names: its end takes the turns up again
    // (children an earlier restart still holds included, in start order with its own)
    if (this.phase._tag === "Restarting") return
    while (this.pending.length > 0) {
      const head = this.pending[0]
      const tag = head.state._tag
      if (tag === "Running" || tag === "Stopping" || tag === "Ended") {
        this.pending.shift()
        continue
      }
      this.open(head)
      if (head.task.state._tag !== "Paused") return
      this.pending.shift()
    }
  }

  // -- the attempt ---------------------------------------------------------------------------------------------------

  readonly run: Effect.Effect<void, GroupFailed> = Effect.suspend(() =>
    Effect.ensuring(
      Effect.flatMap(this.startAll(), (refused) => refused === undefined ? this.loop : Effect.succeed(refused)),
      this.teardown
    ).pipe(Effect.flatMap((end) => end._tag === "Done" ? Effect.void : Effect.fail(end.error)))
  )

  /** Start the children in order, each once the previous one has started its first attempt (or ended). */
  private startAll(): Effect.Effect<End | undefined> {
    return Effect.reduce(this.definition.children, undefined as End | undefined, (refused, spec, index) => {
      if (refused !== undefined) return Effect.succeed(refused)
      const path = `${this.group}/${spec.name}`
      const task = this.register(spec, path)
      if (task instanceof GroupFailed) return Effect.succeed(gaveUp(task))
      const started = Deferred.unsafeMake<undefined>(FiberId.none)
      const child = new Child(index, spec, path, task, { _tag: "Starting", started })
      this.children.push(child)
      this.byTask.set(task, child)
      return Deferred.await(started)
    })
  }

  /** Register a child's task (it starts once the current step is over, at its gate if it has one); why it could not. */
  private register(spec: TaskSpec.TaskSpec<unknown, unknown>, path: string): Task | GroupFailed {
    const admitted = this.host.admitChild(spec, path, this, this.caller)
    return admitted instanceof ChildRefused
      ? new GroupFailed({ reason: `child '${path}' could not start: ${admitted.reason}`, child: path })
      : admitted
  }

  /** Handle the children's signals one at a time until the attempt ends. */
  private readonly loop: Effect.Effect<End> = Effect.flatMap(
    // the mailbox ends only in the teardown, after the loop
    Effect.orDie(this.signals.take),
    (signal) => Effect.flatMap(this.handle(signal), (end) => end === undefined ? this.loop : Effect.succeed(end))
  )

  private handle(signal: Signal): Effect.Effect<End | undefined> {
    switch (signal._tag) {
      case "Finished":
        // a child that was stopped, or that a restart has registered again since, decides nothing
        return Effect.succeed(
          signal.claimed || signal.child.state._tag !== "Ended"
            ? undefined
            : this.onChildEnd(signal.child, signal.outcome)
        )
      case "Restarting":
        return this.restart(signal.child, signal.reason)
    }
  }

  /**
   * A child ended by itself: a permanent or transient child that gave up
   * ends the attempt (a temporary child's exit never escalates, as in OTP); a
   * significant one, whatever its restart type and however it ended, may end
   * it by `autoShutdown`. (A child a caller removed is simply gone.)
   */
  private onChildEnd(child: Child, outcome: TaskOutcome<unknown>): End | undefined {
    if (
      !child.temporary && (outcome._tag === "Failed" || outcome._tag === "Fatal" || outcome._tag === "ForceAborted")
    ) {
      return gaveUp(
        new GroupFailed({
          reason: `child '${child.path}' gave up: ${
            outcome._tag === "ForceAborted" ? "it did not stop within its grace" : outcome.reason
          }`,
          child: child.path
        })
      )
    }
    if (!child.spec.significant) return undefined
    switch (this.definition.autoShutdown) {
      case "anySignificant":
        return done
      case "allSignificant":
        return this.children.every((other) => !other.spec.significant || other.state._tag === "Ended")
          ? done
          : undefined
      case "never":
        return undefined
    }
  }

  /** A child restarts: count it against the group's intensity, and restart the children its strategy names. */
  private restart(child: Child, reason: string): Effect.Effect<End | undefined> {
    if (child.state._tag === "Ended") return Effect.succeed(undefined)
    const restarts = this.window?.exceeded(this.host.now())
    if (restarts !== undefined) {
      const why = `${this.window!.describe(restarts)} of its children`
      this.host.bus.emit("IntensityExceeded", {
        ...this.ref,
        restarts,
        within: this.window!.intensity.within,
        action: "Fail",
        reason: why
      })
      return Effect.succeed(gaveUp(new GroupFailed({ reason: why, child: undefined })))
    }
    const { strategy } = this.definition
    // the siblings its strategy names, registered or completed; a temporary one is stopped, not restarted
    const affected = this.children.filter((other) =>
      other !== child && (other.state._tag !== "Ended" || other.state.completed) &&
      (strategy === "oneForAll" || (strategy === "restForOne" && other.index > child.index))
    )
    const restarted = [child, ...affected.filter((other) => !other.temporary)].sort((a, b) => a.index - b.index)
    this.host.bus.emit("GroupRestarting", {
      ...this.ref,
      strategy: strategyLabel[strategy],
      child: child.path,
      children: restarted.map((each) => each.path),
      reason
    })
    if (affected.length === 0) {
      this.open(child)
      return Effect.succeed(undefined)
    }
    for (const each of restarted) this.close(each)
    this.phase = { _tag: "Restarting", children: new Set([child, ...affected]) }
    // the others stop in reverse start order, each within its grace; then all start again in start order
    const stopped = Effect.reduce(
      [...affected].reverse(),
      undefined as End | undefined,
      (end, other) => end === undefined ? this.stopForRestart(other) : Effect.succeed(end)
    )
    return Effect.map(stopped, (end) => {
      this.phase = runningPhase
      if (end !== undefined) return end
      for (const each of restarted) {
        if (each.state !== endedCompleted) continue
        // held like the others until its turn in start order
        const task = this.register(each.spec, each.path)
        if (task instanceof GroupFailed) return gaveUp(task)
        each.task = task
        each.state = { _tag: "Held", gate: fresh() }
        this.byTask.set(task, each)
      }
      this.pending = [...new Set([...this.pending, ...restarted])]
        .filter((each) => each.state._tag !== "Ended")
        .sort((a, b) => a.index - b.index)
      this.advance()
      return undefined
    })
  }

  /** A sibling of a restarting child: a temporary one is stopped for good, another's attempt is restarted. */
  private stopForRestart(child: Child): Effect.Effect<End | undefined> {
    if (child.state._tag === "Ended" || !child.temporary) return this.stopAttempt(child)
    const { task } = child
    this.host.stop(task, `group ${this.group} restarting`)
    // the registry force-aborts it if it outlives its grace
    return Effect.as(task.outcome.await, undefined)
  }

  /** Restart one child's running attempt and wait until it is over; a child that does not stop gives up. */
  private stopAttempt(child: Child): Effect.Effect<End | undefined> {
    return Effect.suspend(() => {
      const state = child.state
      if (state._tag !== "Running") return Effect.succeed(undefined)
      const idle = fresh()
      child.state = { _tag: "Stopping", gate: state.gate, idle }
      const stop = child.stop
      child.stop = undefined
      settle(stop)
      // a group's attempt stops as long as its children's stops take, each bounded by its own grace
      if (child.task.spec.hostsChildren) return Effect.as(Deferred.await(idle), undefined)
      return Deferred.await(idle).pipe(
        Effect.timeoutTo({
          duration: this.host.grace,
          onTimeout: (): End | undefined =>
            gaveUp(
              new GroupFailed({ reason: `child '${child.path}' did not stop within its grace`, child: child.path })
            ),
          onSuccess: () => undefined
        })
      )
    })
  }

  /** Stop the children still registered, in reverse start order, each once the one after it has ended. */
  private readonly teardown: Effect.Effect<void> = Effect.suspend(() => {
    this.phase = tearingDown
    this.signals.unsafeDone(Exit.void)
    return Effect.forEach([...this.children].reverse(), (child) => {
      if (child.state._tag === "Ended") return Effect.void
      const task = child.task
      this.open(child)
      this.host.stop(task, `group ${this.group} stopping`)
      // the registry force-aborts a child that outlives its grace
      return task.outcome.await
    }, { discard: true })
  })

  /** How the group's own events name it. */
  private get ref() {
    return { id: this.self.id, task: this.group, group: this.self.member?.group }
  }
}

/** A group spec: its attempt runs a `GroupRun` over its children. */
export const group = (
  name: string,
  children: ReadonlyArray<TaskSpec.TaskSpec<any, any>>,
  options: TaskSpec.GroupOptions
): TaskSpec.TaskSpec<GroupFailed, any> => {
  // its children are checked with it, at admission (config/resolve.ts)
  return TaskSpec.make({
    name,
    effect: Effect.withFiberRuntime((fiber) => {
      const hosted = Context.get(fiber.currentContext, CurrentAttemptControl).host
      if (hosted === undefined) return Effect.dieMessage(`group '${name}' runs only as a supervised task`)
      // the children's requirements are the group's caller's, under the group's attempt
      return new GroupRun(hosted.host, hosted.task, callerOf(fiber), {
        children,
        strategy: options.strategy ?? "oneForOne",
        autoShutdown: options.autoShutdown ?? "never",
        // checked at admission
        intensity: hosted.task.spec.groupIntensity
      }).run
    }),
    restart: undefined,
    retry: undefined,
    timeout: undefined,
    maxRetries: undefined,
    isFatal: undefined,
    intensity: undefined,
    resetAfter: undefined,
    watchdog: undefined,
    significant: false,
    cron: undefined,
    awaitsReady: false,
    awaitsForceAbort: false,
    group: { children, options }
  })
}
