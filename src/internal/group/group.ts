/** Groups: a task whose attempt supervises children, with OTP's restart strategies. */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import { GroupFailed } from "../data/taskError.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { Bus } from "../events/bus.js"
import { RestartWindow } from "../primitives/restartWindow.js"
import * as TaskSpec from "../spec/taskSpec.js"
import type * as validate from "../spec/validate.js"
import { type Caller, callerOf } from "../task/caller.js"
import type { Member, Task } from "../task/task.js"

/** What a group's attempt needs of its supervisor (the registry). */
export interface Host {
  readonly bus: Bus
  /** How long a child may take to stop. */
  readonly grace: Duration.Duration
  now(): number
  /** Register a group's child under its path and schedule its start; why it was refused otherwise. */
  admitChild(spec: TaskSpec.TaskSpec<unknown, unknown>, path: string, member: Member, caller: Caller): Task | string
  /** Claim a task's stop, as `remove` does. */
  stop(task: Task, reason: string | undefined): boolean
}

/** Where a group's attempt finds its supervisor and its own task (its attempt's control's `host`). */
export interface Hosted {
  readonly host: Host
  readonly task: Task
}

/** A group: its options resolved once, when the spec is built. */
interface Definition {
  readonly children: ReadonlyArray<TaskSpec.TaskSpec<unknown, unknown>>
  readonly strategy: TaskSpec.Strategy
  readonly autoShutdown: TaskSpec.AutoShutdown
  readonly intensity: validate.Intensity | undefined
}

/** A child of one group attempt, in start order. */
class Slot {
  /** The child's registered task, until its terminal commit. */
  task: Task | undefined = undefined
  /** Its restart policy is `never` (OTP's temporary child): a restart of the group stops it for good. */
  temporary = false
  running = false
  ended = false
  /** Ended by completing (not temporary, not stopped by a caller): a restart of the group starts it again. */
  completed = false
  /** Open (`undefined`) or closed: the child waits for it before its next attempt. */
  gate: Deferred.Deferred<void> | undefined = undefined
  /** Completed to restart the child's running attempt. */
  stopAttempt: Deferred.Deferred<void> | undefined = undefined
  /** Completed when the child starts an attempt or ends. */
  startedOrEnded: Deferred.Deferred<void> | undefined = undefined
  /** Completed when the child's attempt is over (restarting, held back, or ended). */
  idle: Deferred.Deferred<void> | undefined = undefined

  constructor(readonly index: number, readonly spec: TaskSpec.TaskSpec<unknown, unknown>, readonly path: string) {}
}

type Signal =
  | { readonly _tag: "Restarting"; readonly slot: Slot; readonly reason: string }
  | {
    readonly _tag: "Finished"
    readonly slot: Slot
    readonly task: Task
    readonly outcome: TaskOutcome<unknown>
    /** Its stop was claimed (a caller removed it, or the group stops it): it did not end by itself. */
    readonly claimed: boolean
  }

/** How a group attempt ends: by itself (`autoShutdown`), or giving up. */
type End = { readonly _tag: "Done" } | { readonly _tag: "GaveUp"; readonly error: GroupFailed }

const done: End = { _tag: "Done" }

const strategyLabel = { oneForOne: "OneForOne", oneForAll: "OneForAll", restForOne: "RestForOne" } as const

const settle = (deferred: Deferred.Deferred<void> | undefined): void => {
  if (deferred !== undefined) Deferred.unsafeDone(deferred, Exit.void)
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
  private readonly slots: Array<Slot>
  private readonly bySlot = new Map<Task, Slot>()
  private readonly signals = Effect.runSync(Mailbox.make<Signal>())
  private readonly window: RestartWindow | undefined
  /** Children held back after a restart, to start again in start order, each once the previous one has. */
  private pending: Array<Slot> = []
  /** Whose services the children run with: the group's attempt's caller. */
  private caller: Caller | undefined = undefined
  /** Set once the attempt stops its children: controls of a child no longer apply. */
  private tearingDown = false
  /** The children a restart under way stops (and, but for the temporary ones, starts again). */
  private restartSet: ReadonlySet<Slot> | undefined = undefined

  constructor(private readonly host: Host, private readonly self: Task, private readonly definition: Definition) {
    this.group = self.spec.name
    this.slots = definition.children.map((spec, index) => new Slot(index, spec, `${this.group}/${spec.name}`))
    this.window = definition.intensity === undefined ? undefined : new RestartWindow(definition.intensity)
  }

  // -- what the children's retry loops and the registry call, synchronously --------------------------------------

  gate(task: Task): Effect.Effect<void> | undefined {
    const gate = this.bySlot.get(task)?.gate
    return gate === undefined ? undefined : Deferred.await(gate)
  }

  recycle(task: Task): Effect.Effect<void> | undefined {
    if (this.definition.strategy === "oneForOne") return undefined
    const slot = this.bySlot.get(task)
    if (slot === undefined) return undefined
    slot.stopAttempt = fresh()
    return Deferred.await(slot.stopAttempt)
  }

  started(task: Task): void {
    const slot = this.bySlot.get(task)
    if (slot === undefined) return
    slot.running = true
    settle(slot.startedOrEnded)
    // its turn to start is over: the next held child's comes
    if (this.pending[0] === slot) this.advance()
  }

  restarting(task: Task, reason: string): void {
    const slot = this.bySlot.get(task)
    if (slot === undefined) return
    this.attemptOver(slot)
    // held already, it is part of a restart under way: that restart absorbs it, as OTP's does
    if (slot.gate !== undefined) return
    // held at its gate until the group has decided what restarts with it
    if (this.definition.strategy !== "oneForOne") slot.gate ??= fresh()
    this.signals.unsafeOffer({ _tag: "Restarting", slot, reason })
  }

  paused(task: Task): void {
    const slot = this.bySlot.get(task)
    if (slot === undefined) return
    this.attemptOver(slot)
    // held or not, it goes when resumed; its turn to start passes to the next held child
    this.open(slot)
    this.unqueue(slot)
  }

  get stopping(): boolean {
    return this.tearingDown || this.self.stopped
  }

  recycled(task: Task): void {
    const slot = this.bySlot.get(task)
    if (slot !== undefined) this.attemptOver(slot)
  }

  finished(task: Task, outcome: TaskOutcome<unknown>, claimed: boolean): void {
    const slot = this.bySlot.get(task)
    if (slot === undefined) return
    this.bySlot.delete(task)
    slot.task = undefined
    slot.ended = true
    slot.completed = !claimed && !slot.temporary && outcome._tag === "Completed"
    // ending by itself while a restart under way stops it anyway (completed, or temporary): part of that restart
    const absorbed = !claimed && this.restartSet?.has(slot) === true && (slot.completed || slot.temporary)
    this.attemptOver(slot)
    settle(slot.startedOrEnded)
    this.open(slot)
    this.unqueue(slot)
    if (!absorbed) this.signals.unsafeOffer({ _tag: "Finished", slot, task, outcome, claimed })
  }

  /** Open the child's gate, if it is held. */
  private open(slot: Slot): void {
    const gate = slot.gate
    slot.gate = undefined
    settle(gate)
  }

  /** The child leaves the queue of children held back; the next one's turn comes if it was first. */
  private unqueue(slot: Slot): void {
    this.pending = this.pending.filter((pending) => pending !== slot)
    this.advance()
  }

  private attemptOver(slot: Slot): void {
    slot.running = false
    slot.stopAttempt = undefined
    settle(slot.idle)
  }

  /**
   * Let the first child held back start; the next one goes once it has
   * started (or ended). A paused child's gate opens and the turn passes on: it
   * goes when resumed.
   */
  private advance(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]
      if (head.running || head.ended) {
        this.pending.shift()
        continue
      }
      this.open(head)
      if (head.task?.state._tag !== "Paused") return
      this.pending.shift()
    }
  }

  // -- the attempt ---------------------------------------------------------------------------------------------------

  readonly run: Effect.Effect<void, GroupFailed> = Effect.withFiberRuntime((fiber) => {
    // the children's requirements are the group's caller's, under the group's attempt
    this.caller = callerOf(fiber)
    return Effect.ensuring(
      Effect.flatMap(this.startAll(), (refused) => refused === undefined ? this.loop : Effect.succeed(refused)),
      this.teardown
    ).pipe(Effect.flatMap((end) => end._tag === "Done" ? Effect.void : Effect.fail(end.error)))
  })

  /** Start the children in order, each once the previous one has started its first attempt (or ended). */
  private startAll(): Effect.Effect<End | undefined> {
    return Effect.reduce(this.slots, undefined as End | undefined, (refused, slot) => {
      if (refused !== undefined) return Effect.succeed(refused)
      const refusal = this.admit(slot)
      if (refusal !== undefined) return Effect.succeed(refusal)
      if (slot.running || slot.ended) return Effect.succeed(undefined)
      slot.startedOrEnded = fresh()
      return Effect.as(Deferred.await(slot.startedOrEnded), undefined)
    })
  }

  /** Register a child (it starts once the current step is over, at its gate if it has one); why it could not. */
  private admit(slot: Slot): End | undefined {
    const admitted = this.host.admitChild(slot.spec, slot.path, this, this.caller!)
    if (typeof admitted === "string") {
      return {
        _tag: "GaveUp",
        error: new GroupFailed({ reason: `child '${slot.path}' could not start: ${admitted}`, child: slot.path })
      }
    }
    slot.task = admitted
    slot.temporary = admitted.spec.restart._tag === "Never"
    slot.ended = slot.completed = false
    this.bySlot.set(admitted, slot)
    return undefined
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
        // a child that was stopped, or whose slot a restart has filled again since, decides nothing
        return Effect.succeed(
          signal.claimed || signal.slot.task !== undefined ? undefined : this.ended(signal.slot, signal.outcome)
        )
      case "Restarting":
        return this.restart(signal.slot, signal.reason)
    }
  }

  /**
   * A child ended by itself: a permanent or transient child that gave up
   * ends the attempt (a temporary child's exit never escalates, as in OTP); a
   * significant one, whatever its restart type and however it ended, may end
   * it by `autoShutdown`. (A child a caller removed is simply gone.)
   */
  private ended(slot: Slot, outcome: TaskOutcome<unknown>): End | undefined {
    if (!slot.temporary && (outcome._tag === "Failed" || outcome._tag === "Fatal" || outcome._tag === "ForceAborted")) {
      return {
        _tag: "GaveUp",
        error: new GroupFailed({
          reason: `child '${slot.path}' gave up: ${
            outcome._tag === "ForceAborted" ? "it did not stop within its grace" : outcome.reason
          }`,
          child: slot.path
        })
      }
    }
    if (!slot.spec.significant) return undefined
    switch (this.definition.autoShutdown) {
      case "anySignificant":
        return done
      case "allSignificant":
        return this.slots.every((other) => !other.spec.significant || other.ended) ? done : undefined
      case "never":
        return undefined
    }
  }

  /** A child restarts: count it against the group's intensity, and restart the children its strategy names. */
  private restart(slot: Slot, reason: string): Effect.Effect<End | undefined> {
    if (slot.ended) return Effect.succeed(undefined)
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
      return Effect.succeed({ _tag: "GaveUp", error: new GroupFailed({ reason: why, child: undefined }) })
    }
    const { strategy } = this.definition
    // the siblings its strategy names, running or completed; a temporary one is stopped, not restarted
    const affected = this.slots.filter((other) =>
      other !== slot && (other.task !== undefined || other.completed) &&
      (strategy === "oneForAll" || (strategy === "restForOne" && other.index > slot.index))
    )
    const restarted = [slot, ...affected.filter((other) => !other.temporary)].sort((a, b) => a.index - b.index)
    this.host.bus.emit("GroupRestarting", {
      ...this.ref,
      strategy: strategyLabel[strategy],
      child: slot.path,
      children: restarted.map((each) => each.path),
      reason
    })
    if (affected.length === 0) {
      this.open(slot)
      return Effect.succeed(undefined)
    }
    for (const each of restarted) each.gate ??= fresh()
    this.restartSet = new Set([slot, ...affected])
    // the others stop in reverse start order, each within its grace; then all start again in start order
    const stopped = Effect.reduce(
      [...affected].reverse(),
      undefined as End | undefined,
      (end, other) => end === undefined ? this.stopForRestart(other) : Effect.succeed(end)
    )
    return Effect.map(stopped, (end) => {
      this.restartSet = undefined
      if (end !== undefined) return end
      for (const each of restarted) {
        if (!each.completed) continue
        // held like the others until its turn in start order
        each.gate = fresh()
        const refused = this.admit(each)
        if (refused !== undefined) return refused
      }
      this.pending = [...new Set([...this.pending, ...restarted])]
        .filter((each) => !each.ended)
        .sort((a, b) => a.index - b.index)
      this.advance()
      return undefined
    })
  }

  /** A sibling of a restarting child: a temporary one is stopped for good, another's attempt is restarted. */
  private stopForRestart(slot: Slot): Effect.Effect<End | undefined> {
    const { task } = slot
    if (task === undefined || !slot.temporary) return this.stopAttempt(slot)
    this.host.stop(task, `group ${this.group} restarting`)
    // the registry force-aborts it if it outlives its grace
    return Effect.as(task.outcome.await, undefined)
  }

  /** Restart one child's running attempt and wait until it is over; a child that does not stop gives up. */
  private stopAttempt(slot: Slot): Effect.Effect<End | undefined> {
    return Effect.suspend(() => {
      if (!slot.running || slot.task === undefined) return Effect.succeed(undefined)
      slot.idle = fresh()
      settle(slot.stopAttempt)
      // a group's attempt stops as long as its children's stops take, each bounded by its own grace
      if (slot.task.spec.hostsChildren) return Effect.as(Deferred.await(slot.idle), undefined)
      return Deferred.await(slot.idle).pipe(
        Effect.timeoutTo({
          duration: this.host.grace,
          onTimeout: (): End | undefined => ({
            _tag: "GaveUp",
            error: new GroupFailed({ reason: `child '${slot.path}' did not stop within its grace`, child: slot.path })
          }),
          onSuccess: () => undefined
        })
      )
    })
  }

  /** Stop the children still registered, in reverse start order, each once the one after it has ended. */
  private readonly teardown: Effect.Effect<void> = Effect.suspend(() => {
    this.tearingDown = true
    this.signals.unsafeDone(Exit.void)
    return Effect.forEach([...this.slots].reverse(), (slot) => {
      const task = slot.task
      if (task === undefined) return Effect.void
      this.open(slot)
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
  // its children are checked with it, at admission (spec/resolve.ts)
  return TaskSpec.make({
    name,
    effect: Effect.flatMap(TaskSpec.CurrentAttemptControl, (control) => {
      const hosted = control.host as Hosted | undefined
      if (hosted === undefined) return Effect.dieMessage(`group '${name}' runs only as a supervised task`)
      return new GroupRun(hosted.host, hosted.task, {
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
    group: { children, options }
  })
}
