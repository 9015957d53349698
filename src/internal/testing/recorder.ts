/** The recorder: every event of a supervisor, in `seq` order, none dropped; and the one-line form events print in. */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import { SupervisorRegistry } from "../supervisor/taskSupervisor.js"

export interface RecorderService {
  /** The events recorded so far, a copy. */
  readonly events: Effect.Effect<ReadonlyArray<SupervisorEvent>>
  /** The events recorded so far, the recorder's own growing array: read it, never keep it past the test. */
  readonly unsafeEvents: () => ReadonlyArray<SupervisorEvent>
}

export class Recorder extends Context.Tag("effect-taskvisor/testing/Recorder")<Recorder, RecorderService>() {}

/**
 * A recorder observing the bus of the registry of the context from its build on, the supervisor's shutdown included
 * (the layers built over the supervisor close before it: an observer stopped with them would miss the shutdown's
 * events); it goes with the bus. Nothing bounds it: it is for tests.
 */
export const layer: Layer.Layer<Recorder, never, SupervisorRegistry> = Layer.effect(
  Recorder,
  Effect.map(SupervisorRegistry, (registry) => {
    const recorded: Array<SupervisorEvent> = []
    registry.bus.observe((event) => void recorded.push(event))
    return { events: Effect.sync(() => recorded.slice()), unsafeEvents: () => recorded }
  })
)

/** Whether the event is about the task with this name (or this id). */
export const isOf = (event: SupervisorEvent, task: string | number): boolean =>
  typeof task === "number" ? "id" in event && event.id === task : "task" in event && event.task === task

/** Fields every line shows in its head, or never. */
const omitted = new Set(["_tag", "seq", "at", "id", "task", "group", "cause"])

const show = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (Duration.isDuration(value)) return Duration.format(value)
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (Array.isArray(value)) return `[${value.map((v) => show(v) ?? "").join(",")}]`
  if (Predicate.hasProperty(value, "_tag")) return String(value._tag)
  return undefined
}

/**
 * One event on one line, as the README's event table names it: `#5 @1000ms flaky AttemptFailed attempt=2
 * reason="boom"` (its seq, its time, its task, its kind, then its other fields).
 */
export const line = (event: SupervisorEvent): string => {
  const fields: Array<string> = []
  for (const [key, value] of Object.entries(event)) {
    if (omitted.has(key)) continue
    const shown = show(value)
    if (shown !== undefined) fields.push(`${key}=${shown}`)
  }
  const task = "task" in event ? ` ${event.task}` : ""
  return [`#${event.seq} @${event.at}ms${task} ${event._tag}`, ...fields].join(" ")
}
