import * as Duration from "effect/Duration"
import type * as Runtime from "effect/Runtime"
import type { ControllerSnapshot, SlotStatus, SlotView } from "../Controller.js"
import type { Admission } from "../ControllerSpec.js"
import * as SupervisorEvent from "../SupervisorEvent.js"
import * as TaskOutcome from "../TaskOutcome.js"
import type { Entry, Resolved } from "./actor.js"
import type { Outcome } from "./handle.js"
import type { Bus } from "./subscribers.js"

/** Work waiting for a slot, or being admitted to it. */
export interface Submission {
  readonly id: number
  readonly admission: Admission
  readonly spec: Resolved
  readonly caller: Runtime.Runtime<any>
  readonly outcome: Outcome
}

interface Slot {
  readonly key: string
  owner: Entry
  status: Exclude<SlotStatus, "Idle">
  since: number
  readonly queue: Array<Submission>
}

/** What the controller needs from the registry. */
export interface Registry {
  readonly bus: Bus
  /** Register and start the task, or reject it (publishing `TaskAddFailed`) if its name is taken. */
  readonly admit: (submission: Submission) => Entry | undefined
  /** Claim the owner's stop (grace-bounded), as `remove` does. */
  readonly stop: (entry: Entry) => void
}

export interface Settings {
  readonly queueCapacity: number
  readonly maxSlotQueue: number
}

/**
 * Slot state machine. Every transition happens synchronously inside the call
 * that causes it (a submission, an owner's terminal commit, a stop of queued
 * work, shutdown), never from events.
 */
export class Controller {
  private readonly slots = new Map<string, Slot>()
  private readonly owners = new Map<number, Slot>()
  private queued = 0
  private closed = false

  constructor(private readonly registry: Registry, private readonly settings: Settings) {}

  private get bus() {
    return this.registry.bus
  }

  private submitted(id: number, slot: string, reason: string) {
    const bus = this.bus
    if (bus.active) {
      bus.publish(SupervisorEvent.ControllerSubmitted({ seq: bus.next(), at: bus.now(), id, slot, reason }))
    }
  }

  private reject(submission: Submission, slot: string, kind: TaskOutcome.RejectionKind, reason: string) {
    const bus = this.bus
    if (bus.active) {
      bus.publish(SupervisorEvent.ControllerRejected({
        seq: bus.next(),
        at: bus.now(),
        id: submission.id,
        slot,
        rejection: kind,
        reason
      }))
    }
    submission.outcome.complete(TaskOutcome.Rejected(kind, reason))
  }

  private rejectFull(submission: Submission, key: string) {
    this.reject(submission, key, "QueueFull", `controller queue is full: ${this.queued}/${this.settings.queueCapacity}`)
  }

  private transition(slot: Slot, from: SlotStatus, to: SlotStatus, reason: string) {
    const bus = this.bus
    if (bus.active) {
      bus.publish(SupervisorEvent.ControllerSlotTransition({
        seq: bus.next(),
        at: bus.now(),
        slot: slot.key,
        from,
        to,
        reason
      }))
    }
  }

  /** Admit `submission` as the owner of `key`; false if the registry rejected it. */
  private admit(key: string, submission: Submission, queue: Array<Submission>, note: string): boolean {
    const owner = this.registry.admit(submission)
    if (owner === undefined) return false
    const slot: Slot = { key, owner, status: "Running", since: this.bus.now(), queue }
    this.slots.set(key, slot)
    this.owners.set(owner.id, slot)
    this.submitted(submission.id, key, note)
    this.transition(slot, "Idle", "Running", "idle→running")
    return true
  }

  submit(key: string, submission: Submission): void {
    const slot = this.slots.get(key)
    if (slot === undefined) {
      this.admit(key, submission, [], `admission=${submission.admission} status=idle`)
      return
    }
    switch (submission.admission) {
      case "DropIfRunning":
        return this.reject(
          submission,
          key,
          "SlotBusy",
          `slot is busy; DropIfRunning rejected the submission (${slot.status.toLowerCase()})`
        )
      case "Queue": {
        if (slot.queue.length >= this.settings.maxSlotQueue) {
          return this.reject(
            submission,
            key,
            "QueueFull",
            `slot queue is full: ${slot.queue.length}/${this.settings.maxSlotQueue}`
          )
        }
        if (this.queued >= this.settings.queueCapacity) return this.rejectFull(submission, key)
        slot.queue.push(submission)
        this.queued++
        return this.submitted(submission.id, key, `admission=Queue depth=${slot.queue.length}`)
      }
      case "Replace": {
        const displaced = slot.queue.length > 0 && slot.queue[0].admission === "Replace" ? slot.queue[0] : undefined
        if (displaced !== undefined) {
          slot.queue[0] = submission
          this.reject(displaced, key, "SupersededByReplace", "superseded by a newer replacement")
        } else {
          if (this.queued >= this.settings.queueCapacity) return this.rejectFull(submission, key)
          slot.queue.unshift(submission)
          this.queued++
        }
        if (slot.status === "Running") {
          slot.status = "Terminating"
          slot.since = this.bus.now()
          this.transition(slot, "Running", "Terminating", "running→terminating (replace)")
          this.submitted(submission.id, key, `admission=Replace depth=${slot.queue.length}`)
          this.registry.stop(slot.owner)
        } else {
          this.submitted(submission.id, key, `admission=Replace status=terminating depth=${slot.queue.length}`)
        }
      }
    }
  }

  /** Called by the registry's terminal commit: a finished owner frees its slot for the next submission. */
  onFinished(entry: Entry): void {
    const slot = this.owners.get(entry.id)
    if (slot === undefined) return
    this.owners.delete(entry.id)
    this.slots.delete(slot.key)
    const queue = slot.queue
    while (!this.closed && queue.length > 0) {
      const next = queue.shift()!
      this.queued--
      if (this.admit(slot.key, next, queue, `started_from_queue depth=${queue.length}`)) return
    }
  }

  /** Take queued work off its slot (a `remove`/`cancel` by id); false if `id` is not queued. */
  removeQueued(id: number, reason: string | undefined): boolean {
    for (const slot of this.slots.values()) {
      const index = slot.queue.findIndex((submission) => submission.id === id)
      if (index >= 0) {
        const [submission] = slot.queue.splice(index, 1)
        this.queued--
        const bus = this.bus
        if (bus.active) {
          bus.publish(SupervisorEvent.TaskRemoveRequested({
            seq: bus.next(),
            at: bus.now(),
            id,
            task: submission.spec.name,
            reason
          }))
        }
        this.reject(submission, slot.key, "RemovedFromQueue", "removed from controller queue before start")
        return true
      }
    }
    return false
  }

  /** Shutdown: reject all queued work and admit nothing more. Owners are stopped by the registry. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const slot of this.slots.values()) {
      for (const submission of slot.queue.splice(0)) {
        this.queued--
        this.reject(submission, slot.key, "ControllerShuttingDown", "controller is shutting down")
      }
    }
  }

  snapshot(): ControllerSnapshot {
    const now = this.bus.now()
    const slots = Array.from(this.slots.values(), (slot): SlotView => ({
      slot: slot.key,
      status: slot.status,
      ownerId: slot.owner.id,
      queueDepth: slot.queue.length,
      statusFor: Duration.millis(Math.max(0, now - slot.since))
    })).sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0))
    let runningCount = 0
    for (const view of slots) if (view.status === "Running") runningCount++
    return { slots, runningCount, totalQueued: this.queued }
  }
}
