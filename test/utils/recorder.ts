import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Controller from "../../src/Controller.js"
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

/** Supervisor settings, and the options of the controller the tests build beside it. */
export interface TestConfig extends SupervisorConfig.Input {
  readonly controller?: Controller.Options | undefined
}

/**
 * A supervisor and a controller over it (`Controller.layer` provided the
 * supervisor) with exactly the given subscribers: none means nobody listens,
 * so no event is built (each still takes its seq).
 */
export const buildSupervisor = (
  { controller, ...config }: TestConfig,
  subscribers: ReadonlyArray<Subscriber.Subscriber>
) =>
  Effect.map(
    Layer.build(
      Controller.layer(controller).pipe(
        Layer.provideMerge(TaskSupervisor.layer),
        Layer.provide(Subscriber.layer(...subscribers)),
        Layer.provide(SupervisorConfig.layer(config))
      )
    ),
    (context) => ({
      context,
      supervisor: Context.get(context, TaskSupervisor.TaskSupervisor),
      controller: Context.get(context, Controller.Controller)
    })
  )

/**
 * A supervisor in a fresh scope with a recording subscriber and the given
 * config; `scoped` tests close it (shut it down) when they end.
 */
export const supervisorWith = (config: TestConfig = {}) => {
  const recorder = recording()
  return Effect.map(buildSupervisor(config, [recorder.subscriber]), (built) => ({ ...built, events: recorder.events }))
}
