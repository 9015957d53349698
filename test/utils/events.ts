import { assert } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { SupervisorEvent } from "../../src/SupervisorEvent.js"
import { settleUntil } from "./fibers.js"

/** The events of one kind, optionally of one task, typed as that kind. */
export const ofTag = <K extends SupervisorEvent["_tag"]>(
  events: ReadonlyArray<SupervisorEvent>,
  tag: K,
  task?: string
): Array<Extract<SupervisorEvent, { readonly _tag: K }>> =>
  events.filter((e): e is Extract<SupervisorEvent, { readonly _tag: K }> =>
    e._tag === tag && (task === undefined || ("task" in e && e.task === task))
  )

/** The events of one task. */
export const ofTask = (events: ReadonlyArray<SupervisorEvent>, task: string): Array<SupervisorEvent> =>
  events.filter((e) => "task" in e && e.task === task)

/** The events of the task with this id. */
export const ofId = (events: ReadonlyArray<SupervisorEvent>, id: number): Array<SupervisorEvent> =>
  events.filter((e) => "id" in e && e.id === id)

/** Whole milliseconds of a duration. */
export const ms = (duration: Duration.Duration): number => Duration.toMillis(duration)

/** `seq` starts at 1 and increases by exactly 1 (nothing lost), and `at` never goes back. */
export const assertSeq = (events: ReadonlyArray<SupervisorEvent>): void => {
  assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
  for (let i = 1; i < events.length; i++) {
    assert.isAtLeast(events[i].at, events[i - 1].at, `event ${events[i].seq} (${events[i]._tag}) went back in time`)
  }
}

const terminal = new Set(["AttemptSucceeded", "AttemptCanceled", "AttemptFailed", "AttemptTimedOut", "AttemptStalled"])

/** A caller's requests, which may come at any time. */
const requests = new Set(["TaskRemoveRequested", "TaskRestartRequested", "TaskPaused", "TaskResumed", "TaskTriggered"])

/** What may follow an attempt's terminal event, in this order, each at most once. */
const afterAttempt = ["IntensityExceeded", "TaskParked", "BackoffScheduled"]

/**
 * One task's events follow taskvisor's per-task order: `TaskAddRequested`,
 * `TaskAdded`, then per attempt (numbered 1, 2, …) `AttemptStarting`, exactly
 * one terminal attempt event and at most one each of `IntensityExceeded`,
 * `TaskParked` and `BackoffScheduled`, in that order, then `TaskFinished`
 * immediately followed by `TaskRemoved`. A `TaskRemoveRequested` and an
 * operator's control (`TaskRestartRequested`, `TaskPaused`, `TaskResumed`,
 * `TaskTriggered`) may appear anywhere after `TaskAdded`, and a group's
 * `GroupRestarting` and its own `IntensityExceeded` anywhere between attempts
 * (they are about its children).
 */
export const assertTaskOrder = (events: ReadonlyArray<SupervisorEvent>, task: string): void =>
  assertOwnOrder(ofTask(events, task), task, false)

/**
 * `assertTaskOrder` for the task with this id (a name can be reused after
 * cleanup, an id never is). With `lastAttemptOpen`, the last attempt must have
 * no terminal event (a force-aborted task: its attempt never returned);
 * without it, every attempt must have exactly one.
 */
export const assertIdOrder = (
  events: ReadonlyArray<SupervisorEvent>,
  id: number,
  options?: { readonly lastAttemptOpen?: boolean | undefined }
): void => assertOwnOrder(ofId(events, id), `#${id}`, options?.lastAttemptOpen === true)

/**
 * `assertIdOrder` for every task added (its events grouped once, so a batch
 * of thousands is checked in one pass); `open`: the ids whose last attempt
 * has no terminal event.
 */
export const assertEveryIdOrder = (events: ReadonlyArray<SupervisorEvent>, open: ReadonlyArray<number> = []): void => {
  const byId = new Map<number, Array<SupervisorEvent>>()
  for (const e of events) {
    if (!("id" in e)) continue
    const own = byId.get(e.id)
    if (own === undefined) byId.set(e.id, [e])
    else own.push(e)
  }
  for (const e of ofTag(events, "TaskAdded")) assertOwnOrder(byId.get(e.id)!, `#${e.id}`, open.includes(e.id))
}

const assertOwnOrder = (own: ReadonlyArray<SupervisorEvent>, task: string, lastAttemptOpen: boolean): void => {
  const tags = own.map((e) => e._tag)
  assert.deepStrictEqual(tags.slice(0, 2), ["TaskAddRequested", "TaskAdded"], `${task}: admission`)
  assert.deepStrictEqual(tags.slice(-2), ["TaskFinished", "TaskRemoved"], `${task}: end`)
  assert.strictEqual(tags.filter((t) => t === "TaskFinished").length, 1, `${task}: one TaskFinished`)
  assert.strictEqual(own[own.length - 1].seq, own[own.length - 2].seq + 1, `${task}: TaskRemoved right after`)
  const middle = own.slice(2, -2).filter((e) =>
    !requests.has(e._tag) && e._tag !== "GroupRestarting" &&
    !(e._tag === "IntensityExceeded" && e.reason.endsWith("of its children"))
  )
  let expected = 1
  let i = 0
  while (i < middle.length) {
    const start = middle[i]
    assert.strictEqual(start._tag, "AttemptStarting", `${task}: event ${start.seq} should start attempt ${expected}`)
    assert.strictEqual((start as { attempt: number }).attempt, expected, `${task}: attempt number`)
    const end = middle[i + 1]
    if (lastAttemptOpen && i + 1 === middle.length) {
      i++
      break
    }
    assert.isDefined(end, `${task}: attempt ${expected} has no terminal event`)
    assert.isTrue(terminal.has(end._tag), `${task}: ${end._tag} after AttemptStarting ${expected}`)
    assert.strictEqual((end as { attempt: number }).attempt, expected, `${task}: terminal attempt number`)
    i += 2
    for (const follower of afterAttempt) {
      if (middle[i]?._tag !== follower) continue
      if (follower === "BackoffScheduled") {
        assert.strictEqual((middle[i] as { attempt: number }).attempt, expected, `${task}: backoff attempt number`)
      }
      i++
    }
    expected++
  }
  if (lastAttemptOpen) {
    assert.strictEqual(
      middle[middle.length - 1]?._tag,
      "AttemptStarting",
      `${task}: the last attempt should have no terminal event`
    )
  }
  const added = own[1].seq
  const finished = own[own.length - 2].seq
  for (const e of middle) {
    assert.isAbove(e.seq, added, `${task}: ${e._tag} before TaskAdded`)
    assert.isBelow(e.seq, finished, `${task}: ${e._tag} after TaskFinished`)
  }
}

/**
 * Assert a task's whole event sequence: `TaskAddRequested`, `TaskAdded`, then
 * `between` in this order, then `TaskFinished`, `TaskRemoved` (the admission
 * and the end every admitted task has, so a test lists only what is its
 * own). `task`: its name, or its id (a name can be reused after cleanup, an
 * id never is).
 */
export const expectTaskEvents = (
  events: ReadonlyArray<SupervisorEvent>,
  task: string | number,
  between: ReadonlyArray<SupervisorEvent["_tag"]>,
  message?: string
): void => {
  const own = typeof task === "number" ? ofId(events, task) : ofTask(events, task)
  const label = `the events of ${typeof task === "number" ? `#${task}` : task}`
  assert.deepStrictEqual(
    own.map((e) => e._tag),
    ["TaskAddRequested", "TaskAdded", ...between, "TaskFinished", "TaskRemoved"],
    message === undefined ? label : `${label}: ${message}`
  )
}

/**
 * Wait (`settleUntil`, the clock still) until the recorder has the task's
 * `TaskRemoved`, its last event: every event of its life is in by then.
 * `task`: its name, or its id.
 */
export const settleUntilRemoved = (
  events: ReadonlyArray<SupervisorEvent>,
  task: string | number
): Effect.Effect<void> =>
  settleUntil(
    `the TaskRemoved of ${typeof task === "number" ? `#${task}` : task}`,
    Effect.sync(() =>
      (typeof task === "number" ? ofId(events, task) : ofTask(events, task)).some((e) => e._tag === "TaskRemoved")
    )
  )
