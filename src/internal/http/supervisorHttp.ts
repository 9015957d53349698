/** What the HTTP endpoint says, as JSON and Server-Sent Events, and how it checks a bearer token. */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import type { SingletonView } from "../cluster/singletons.js"
import type { Plan } from "../config/cron.js"
import type { Resolved } from "../config/resolve.js"
import type { ControllerSnapshot } from "../controller/controller.js"
import { ConfigError } from "../data/supervisorError.js"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import { labelOf } from "../data/supervisorEvent.js"
import { exitCode, reason, type TaskOutcome } from "../data/taskOutcome.js"
import { Gap } from "../events/bus.js"
import type { TaskDetails } from "../task/task.js"

/** What the JSON of a task and of its `TaskAdded` says of its spec: a cron task's schedule, and whether it awaits readiness. */
export type Shape = Pick<Resolved, "cron" | "awaitsReady">

/** A cron task's schedule as JSON, durations in milliseconds (`catchUpMs` absent: no catch-up). */
const scheduleJson = (plan: Plan | undefined) =>
  plan === undefined ? undefined : {
    expression: plan.expression,
    timeZone: plan.timeZone,
    overlap: plan.overlap,
    catchUpMs: plan.catchUp,
    jitterMs: plan.jitter
  }

/**
 * A task's details as JSON: times as the clock's milliseconds, the uptime in
 * milliseconds; whether its attempts are `Starting` until ready
 * (`awaitsReady`, present only when they are); for a cron task (`shape.cron`, its schedule), when it runs next
 * (`nextRunAt`, an ISO string, as `TaskInfo.nextRunAt` is a `Date`; absent
 * while it is paused or a run is due) and its `schedule` (the expression, its
 * time zone, overlap policy, catch-up window and jitter in milliseconds); for
 * a group, how it supervises its children (`withinMs`); for the task of a
 * cluster singleton this runner owns, the runner (`singleton`).
 */
export const taskJson = (details: TaskDetails, singletonRunner?: string, shape?: Shape) => ({
  id: details.id,
  name: details.name,
  group: details.group,
  state: details.state,
  awaitsReady: shape?.awaitsReady === true ? true : undefined,
  nextRunAt: details.nextRunAt?.toISOString(),
  schedule: scheduleJson(shape?.cron),
  attempt: details.attempt,
  restarts: details.restarts,
  lastAttempt: details.lastAttempt,
  uptimeMs: details.uptime === undefined ? undefined : Duration.toMillis(details.uptime),
  failures: details.failures,
  supervision: details.supervision === undefined ? undefined : {
    strategy: details.supervision.strategy,
    autoShutdown: details.supervision.autoShutdown,
    intensity: details.supervision.intensity === undefined ? undefined : {
      maxRestarts: details.supervision.intensity.maxRestarts,
      withinMs: Duration.toMillis(details.supervision.intensity.within)
    },
    children: details.supervision.children
  },
  singleton: singletonRunner === undefined ? undefined : { runner: singletonRunner }
})

/**
 * A singleton as JSON: its owner (absent when no runner answered for it),
 * whether its task runs there, whether the owner is this runner (`local`) and
 * whether this runner fenced it; when it runs nowhere, since when (the clock's
 * milliseconds) and for how long (`unownedForMs`); its `unownedAfterMs`.
 */
export const singletonJson = (view: SingletonView, now: number) => ({
  name: view.name,
  owner: view.owner,
  running: view.running,
  local: view.local,
  fenced: view.fenced,
  unownedSince: view.unownedSince,
  unownedForMs: view.unownedSince === undefined ? undefined : Math.max(0, now - view.unownedSince),
  unownedAfterMs: Duration.toMillis(view.unownedAfter)
})

/** Why a singleton keeps its runner from being ready. */
export interface SingletonProblem {
  readonly name: string
  readonly status: "fenced" | "not_running"
  /** How long it has run nowhere, in milliseconds, when this runner knows. */
  readonly forMs: number | undefined
  readonly reason: string
}

/**
 * The singletons that keep this runner from being ready, as `now` (the
 * clock's milliseconds) finds them: each it fenced (it stopped their task for
 * want of a confirmed lease and holds them until it confirms one), and each it
 * owns whose task has not run for longer than its `unownedAfter` (parked or
 * ended: an owner holding it with nothing running). A task an operator
 * `paused` is not a fault of the runner (replacing it would undo the pause):
 * it is alarmed (`SingletonUnowned`) but keeps the runner ready. A singleton
 * another runner owns, or none, is not this runner's problem.
 */
export const singletonProblems = (
  views: ReadonlyArray<SingletonView>,
  now: number,
  paused: (name: string) => boolean
): Array<SingletonProblem> =>
  views.flatMap((view): Array<SingletonProblem> => {
    const forMs = view.unownedSince === undefined ? undefined : Math.max(0, now - view.unownedSince)
    if (view.fenced) {
      return [{
        name: view.name,
        status: "fenced",
        forMs,
        reason: "this runner could not confirm its lease and stopped its task"
      }]
    }
    if (
      !view.local || view.running || forMs === undefined || forMs < Duration.toMillis(view.unownedAfter) ||
      paused(view.name)
    ) return []
    return [{
      name: view.name,
      status: "not_running",
      forMs,
      reason: `owned here, and its task has not run for ${forMs} ms`
    }]
  })

const outcomeJson = (outcome: TaskOutcome<unknown>) => ({
  _tag: outcome._tag,
  reason: reason(outcome),
  exitCode: exitCode(outcome)
})

/**
 * An event as JSON: its fields, with its `label`, durations in milliseconds,
 * an outcome by its tag, reason and exit code, and a cause as its pretty text.
 * Times stay the clock's milliseconds, as the event has them: `at`, and a cron
 * task's `scheduledAt` (`RunSkipped`, `RunBuffered`, `RunCanceled`). The
 * `TaskAdded` of a cron task (`shape.cron`, its schedule) carries its `schedule`,
 * and that of a task whose attempts await readiness `awaitsReady`, as its row
 * does: a client learns from it that the task waits for its times, or starts
 * each attempt `Starting`.
 */
export const eventJson = (event: SupervisorEvent, shape?: Shape): Record<string, unknown> => {
  const json: Record<string, unknown> = { label: labelOf(event) }
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined) continue
    json[key] = Duration.isDuration(value)
      ? Duration.toMillis(value)
      : key === "outcome"
      ? outcomeJson(value as TaskOutcome<unknown>)
      : Cause.isCause(value)
      ? Cause.pretty(value)
      : value
  }
  if (shape?.cron !== undefined) json.schedule = scheduleJson(shape.cron)
  if (shape?.awaitsReady === true) json.awaitsReady = true
  return json
}

/**
 * One Server-Sent Event: an event as a `message`, its `seq` as id, its JSON
 * with its `label` (a `TaskAdded` with what `shapeOf` finds of the task's spec);
 * a run of events lost for the client as a `gap`, the seqs of the first
 * and last lost and how many, the last's seq as id.
 */
export const sse = (item: SupervisorEvent | Gap, shapeOf: (id: number) => Shape | undefined): string =>
  item instanceof Gap
    ? `event: gap\nid: ${item.last}\ndata: ${
      JSON.stringify({ from: item.first, to: item.last, lost: item.last - item.first + 1 })
    }\n\n`
    : `id: ${item.seq}\ndata: ${
      JSON.stringify(eventJson(item, item._tag === "TaskAdded" ? shapeOf(item.id) : undefined))
    }\n\n`

/** A controller's slots as JSON, durations in milliseconds. */
export const controllerJson = (snapshot: ControllerSnapshot) => ({
  runningCount: snapshot.runningCount,
  totalQueued: snapshot.totalQueued,
  slots: snapshot.slots.map((slot) => ({
    slot: slot.slot,
    status: slot.status,
    ownerId: slot.ownerId,
    queueDepth: slot.queueDepth,
    statusForMs: Duration.toMillis(slot.statusFor)
  }))
})

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/**
 * What an `Authorization` header is checked against: the token's digest,
 * worked out once; or a `ConfigError` naming what makes the token one no
 * request can carry. A bearer token is sent as visible ASCII (RFC 6750's
 * `b64token` is a subset): a header's bytes reach Node as Latin-1, browsers
 * refuse to send characters beyond it, and a space or a control character
 * ends the token.
 */
export const bearer = (token: unknown): Buffer | ConfigError => {
  const text = typeof token === "string" ? token : Redacted.isRedacted(token) ? Redacted.value(token) : token
  if (typeof text !== "string") {
    return new ConfigError({ field: "token", reason: "must be a string or a Redacted string" })
  }
  if (text === "") {
    return new ConfigError({ field: "token", reason: "must not be empty (leave it out to turn runtime controls off)" })
  }
  // the character's position and kind, never the character: the message must not give the secret away
  const characters = Array.from(text)
  const at = characters.findIndex((c) => c < "!" || c > "~")
  if (at < 0) return digest(text)
  const code = characters[at].codePointAt(0)!
  const kind = code === 0x20 ? "a space" : code > 0x7e && code !== 0x7f ? "outside ASCII" : "a control character"
  return new ConfigError({
    field: "token",
    reason: `must be visible ASCII, as a bearer token is sent (RFC 6750): character ${at + 1} is ${kind}`
  })
}

/**
 * Whether an `Authorization` header carries the bearer token (`expected`, from
 * `bearer`): compared in constant time (digests of equal length, whatever the
 * header holds).
 */
export const authorized = (expected: Buffer, header: string | undefined): boolean => {
  const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header.trim())
  const offered = digest(match === null ? "" : match[1])
  return timingSafeEqual(offered, expected) && match !== null
}
