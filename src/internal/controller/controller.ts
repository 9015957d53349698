/** Per-slot admission over a supervisor's registry: the slot state machine and the Controller service. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Admission, ControllerSpec } from "../config/controllerSpec.js"
import { slot as slotOf } from "../config/controllerSpec.js"
import { ConfigError, ShuttingDown, TaskAlreadyExists } from "../data/supervisorError.js"
import type { SlotStatus } from "../data/supervisorEvent.js"
import * as TaskOutcome from "../data/taskOutcome.js"
import { slotGauges } from "../events/metrics.js"
import type { Registry, Submission } from "../supervisor/registry.js"
import { callerOf } from "../task/caller.js"
import type { Task } from "../task/task.js"
import * as handle from "../task/taskHandle.js"

/** One busy slot as `snapshot` reports it. */
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

/** The busy slots, sorted by key, with counts. */
export interface ControllerSnapshot {
  readonly slots: ReadonlyArray<SlotView>
  /** Slots whose status is `Running`. */
  readonly runningCount: number
  /** Submissions waiting across all slots. */
  readonly totalQueued: number
}

/** The controller's limits. */
export interface Settings {
  /** The most submissions waiting across all slots. */
  readonly queueCapacity: number
  /** The most `queue` submissions waiting in one slot; 0 means none may wait. */
  readonly maxSlotQueue: number
}

/** Work waiting for its slot, or being admitted to it. */
interface Queued {
  readonly submission: Submission
  readonly admission: Admission
}

/**
 * A busy slot, in one of its states (an idle slot is not kept): its owner
 * runs, or a `Replace` stopped the owner and waits for its terminal commit.
 */
type Slot = Busy<"Running"> | Busy<"Terminating">

interface Busy<Status extends Exclude<SlotStatus, "Idle">> {
  readonly _tag: Status
  readonly key: string
  readonly owner: Task
  /** When the slot entered this state. */
  readonly since: number
  /** The submissions waiting (a `Replace` first while `Terminating`), the same array in both states. */
  readonly queue: Array<Queued>
}

/**
 * Slot state machine. Every transition happens synchronously inside the call
 * that causes it (a submission, an owner's terminal commit, a stop of queued
 * work, shutdown), never from events.
 */
class Slots {
  private readonly slots = new Map<string, Slot>()
  private readonly owners = new Map<number, Slot>()
  private queued = 0
  /** Set once the supervisor shuts down or the controller's scope closes: nothing is admitted after. */
  private closed = false

  /** Whether the slot gauges are updated. */
  private readonly metrics: boolean

  constructor(private readonly registry: Registry, private readonly settings: Settings) {
    this.metrics = registry.settings.metrics.enabled
  }

  private countQueued(delta: number): void {
    this.queued += delta
    if (this.metrics) slotGauges.queued.modify(delta)
  }

  private countRunning(delta: number): void {
    if (this.metrics) slotGauges.running.modify(delta)
  }

  private get bus() {
    return this.registry.bus
  }

  private reject(queued: Queued, slot: string, kind: TaskOutcome.RejectionKind, reason: string) {
    const { id, outcome } = queued.submission
    this.registry.unhold(id)
    this.bus.emit("ControllerRejected", { id, slot, rejection: kind, reason })
    outcome.complete(TaskOutcome.Rejected(kind, reason))
  }

  private rejectFull(queued: Queued, key: string) {
    this.reject(queued, key, "QueueFull", `controller queue is full: ${this.queued}/${this.settings.queueCapacity}`)
  }

  private enqueue(queued: Queued) {
    this.countQueued(1)
    this.registry.hold(queued.submission.id, (reason) => this.takeBack(queued.submission.id, reason))
  }

  /** Admit `queued` as the owner of `key`; false if the registry rejected it. */
  private admit(key: string, queued: Queued, queue: Array<Queued>, note: string): boolean {
    this.registry.unhold(queued.submission.id)
    // started later: a slot's owner must be recorded before it can finish, and an owner admitted from the
    // previous one's terminal commit must not run inside it
    const owner = this.registry.admit(queued.submission, "Later")
    if (owner instanceof TaskAlreadyExists) return false
    const slot: Slot = { _tag: "Running", key, owner, since: this.bus.now(), queue }
    this.slots.set(key, slot)
    this.owners.set(owner.id, slot)
    this.countRunning(1)
    this.bus.emit("ControllerSubmitted", { id: owner.id, slot: key, reason: note })
    this.bus.emit("ControllerSlotTransition", { slot: key, from: "Idle", to: "Running", reason: "idle→running" })
    return true
  }

  submit(key: string, queued: Queued): void {
    const { id } = queued.submission
    const slot = this.slots.get(key)
    if (slot === undefined) {
      this.admit(key, queued, [], `admission=${queued.admission} status=idle`)
      return
    }
    switch (queued.admission) {
      case "DropIfRunning":
        return this.reject(
          queued,
          key,
          "SlotBusy",
          `slot is busy; DropIfRunning rejected the submission (${slot._tag.toLowerCase()})`
        )
      case "Queue": {
        if (slot.queue.length >= this.settings.maxSlotQueue) {
          return this.reject(
            queued,
            key,
            "QueueFull",
            `slot queue is full: ${slot.queue.length}/${this.settings.maxSlotQueue}`
          )
        }
        if (this.queued >= this.settings.queueCapacity) return this.rejectFull(queued, key)
        slot.queue.push(queued)
        this.enqueue(queued)
        return this.bus.emit("ControllerSubmitted", {
          id,
          slot: key,
          reason: `admission=Queue depth=${slot.queue.length}`
        })
      }
      case "Replace": {
        const displaced = slot.queue.length > 0 && slot.queue[0].admission === "Replace" ? slot.queue[0] : undefined
        if (displaced !== undefined) {
          slot.queue[0] = queued
          this.registry.hold(id, (reason) => this.takeBack(id, reason))
          this.reject(displaced, key, "SupersededByReplace", "superseded by a newer replacement")
        } else {
          if (this.queued >= this.settings.queueCapacity) return this.rejectFull(queued, key)
          slot.queue.unshift(queued)
          this.enqueue(queued)
        }
        if (slot._tag === "Running") {
          const terminating: Slot = { ...slot, _tag: "Terminating", since: this.bus.now() }
          this.slots.set(key, terminating)
          this.owners.set(slot.owner.id, terminating)
          this.countRunning(-1)
          this.bus.emit("ControllerSlotTransition", {
            slot: key,
            from: "Running",
            to: "Terminating",
            reason: "running→terminating (replace)"
          })
          this.bus.emit("ControllerSubmitted", {
            id,
            slot: key,
            reason: `admission=Replace depth=${slot.queue.length}`
          })
          this.registry.stop(slot.owner, undefined)
        } else {
          this.bus.emit("ControllerSubmitted", {
            id,
            slot: key,
            reason: `admission=Replace status=terminating depth=${slot.queue.length}`
          })
        }
      }
    }
  }

  /** An owner's terminal commit frees its slot for the next submission. */
  onFinished(task: Task): void {
    const slot = this.owners.get(task.id)
    if (slot === undefined) return
    this.owners.delete(task.id)
    this.slots.delete(slot.key)
    if (slot._tag === "Running") this.countRunning(-1)
    const queue = slot.queue
    while (this.open && queue.length > 0) {
      const next = queue.shift()!
      this.countQueued(-1)
      if (this.admit(slot.key, next, queue, `started_from_queue depth=${queue.length}`)) return
    }
  }

  /** A `remove`/`cancel` named queued work: it is taken off its slot. */
  private takeBack(id: number, reason: string | undefined): void {
    for (const slot of this.slots.values()) {
      const index = slot.queue.findIndex((queued) => queued.submission.id === id)
      if (index >= 0) {
        const [queued] = slot.queue.splice(index, 1)
        this.countQueued(-1)
        this.bus.emit("TaskRemoveRequested", { id, task: queued.submission.spec.name, reason })
        this.reject(queued, slot.key, "RemovedFromQueue", "removed from controller queue before start")
        return
      }
    }
  }

  get open(): boolean {
    return !this.closed
  }

  /** Shutdown: reject all queued work and admit nothing more. Owners are stopped by the supervisor. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const slot of this.slots.values()) {
      for (const queued of slot.queue.splice(0)) {
        this.countQueued(-1)
        this.reject(queued, slot.key, "ControllerShuttingDown", "controller is shutting down")
      }
    }
  }

  snapshot(): ControllerSnapshot {
    const now = this.bus.now()
    const slots = Array.from(this.slots.values(), (slot): SlotView => ({
      slot: slot.key,
      status: slot._tag,
      ownerId: slot.owner.id,
      queueDepth: slot.queue.length,
      statusFor: Duration.millis(Math.max(0, now - slot.since))
    })).sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0))
    let runningCount = 0
    for (const view of slots) if (view.status === "Running") runningCount++
    return { slots, runningCount, totalQueued: this.queued }
  }
}

/** A controller over a supervisor's `registry`, for the lifetime of the current scope. */
export const make = (registry: Registry, settings: Settings) =>
  Effect.gen(function*() {
    const slots = new Slots(registry, settings)
    const unobserve = registry.observe({
      component: "controller",
      onFinished: (task) => slots.onFinished(task),
      onShutdown: () => slots.close()
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        slots.close()
        unobserve()
      })
    )

    const submit = <E, R>(spec: ControllerSpec<E, R>) =>
      Effect.withFiberRuntime(
        (fiber): Effect.Effect<Submission, ShuttingDown | ConfigError, Exclude<R, Scope.Scope>> => {
          // a controller whose scope closed admits nothing, even while its supervisor runs
          if (!slots.open) return Effect.fail(new ShuttingDown())
          // without a slot of its own, the task's name is its slot: a bad name is refused as the task's `name` below
          const { slotOverride } = spec
          if (slotOverride !== undefined && (typeof slotOverride !== "string" || slotOverride.length === 0)) {
            return Effect.fail(new ConfigError({ field: "slot", reason: "a slot key must be a non-empty string" }))
          }
          const submission = registry.prepare(spec.task, callerOf(fiber))
          if (submission instanceof ShuttingDown || submission instanceof ConfigError) return Effect.fail(submission)
          const key = slotOf(spec)
          slots.submit(key, { submission, admission: spec.admission })
          return Effect.succeed(submission)
        }
      )

    return {
      submit: <E, R>(spec: ControllerSpec<E, R>) => Effect.map(submit(spec), (submission) => submission.id),
      submitAndWatch: <E, R>(spec: ControllerSpec<E, R>) =>
        Effect.map(
          submit(spec),
          (submission) => handle.make<E>(submission.id, submission.spec.name, submission.outcome)
        ),
      snapshot: Effect.sync(() => slots.snapshot())
    }
  })
