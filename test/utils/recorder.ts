import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Subscriber from "../../src/Subscriber.js"
import * as SupervisorConfig from "../../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../../src/SupervisorEvent.js"
import * as TaskSupervisor from "../../src/TaskSupervisor.js"

/** A subscriber that records every event it receives, in order. */
export const recording = (name = "recorder", capacity = 100_000) => {
  const events: Array<SupervisorEvent> = []
  const subscriber = Subscriber.make({
    name,
    capacity,
    onEvent: (event) => Effect.sync(() => void events.push(event))
  })
  return { events, subscriber }
}

/** `[tag, task]` pairs, the compact form most sequence assertions use. */
export const kinds = (events: ReadonlyArray<SupervisorEvent>, task?: string): Array<string> =>
  events
    .filter((e) => task === undefined || ("task" in e && e.task === task))
    .map((e) => e._tag)

/**
 * A supervisor in a fresh scope with a recording subscriber and the given
 * config; `scoped` tests close it (shut it down) when they end.
 */
export const supervisorWith = (config: SupervisorConfig.Input = {}) => {
  const recorder = recording()
  const layer = TaskSupervisor.layer.pipe(
    Layer.provide(Subscriber.layer(recorder.subscriber)),
    Layer.provide(SupervisorConfig.layer(config))
  )
  return Effect.map(Layer.build(layer), (context) => ({
    supervisor: Context.get(context, TaskSupervisor.TaskSupervisor),
    events: recorder.events
  }))
}
