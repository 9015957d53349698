/**
 * The operator's view: a small fleet (a flaky poller, a periodic report, a controller slot that takes a new import
 * every few seconds) served with the dashboard, the JSON routes and the live events on http://127.0.0.1:8080/ until
 * Ctrl-C (`PORT` sets another port, 0 a free one), which shuts the supervisor down gracefully: each task's stop and
 * outcome are logged, then the end of the shutdown. With TASKVISOR_TOKEN set, the POST routes (restart, pause, resume,
 * trigger, cancel) accept it as a bearer token:
 * `curl -X POST -H "Authorization: Bearer $TASKVISOR_TOKEN" http://127.0.0.1:8080/tasks/poller/pause`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import { Config, Effect, Layer, Option, Random, Schedule } from "effect"
import { Controller, ControllerSpec, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as SupervisorHttp from "effect-taskvisor/SupervisorHttp"

/** Fails about one run in three, after a little while. */
const poll = Effect.gen(function*() {
  yield* Effect.sleep("2 seconds")
  if ((yield* Random.nextIntBetween(0, 3)) === 0) return yield* Effect.fail("upstream answered 503")
  yield* Effect.never
})

const fleet = Effect.gen(function*() {
  yield* TaskSupervisor.add(TaskSpec.restartable("poller", poll))
  yield* TaskSupervisor.add(TaskSpec.periodic("report", Effect.sleep("500 millis"), "10 seconds"))
  let n = 0
  yield* Effect.repeat(
    Effect.suspend(() =>
      Controller.submit(
        ControllerSpec.replace(TaskSpec.once(`import-${++n}`, Effect.sleep("4 seconds"))).pipe(
          ControllerSpec.withSlot("imports")
        )
      )
    ),
    Schedule.spaced("3 seconds")
  ).pipe(Effect.forkScoped)
  const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
  yield* Effect.log(`dashboard on http://127.0.0.1:${address.port}/ (Ctrl-C stops)`)
  return yield* Effect.never
})

const HttpLive = Layer.unwrapEffect(
  Effect.map(
    Config.all([Config.option(Config.redacted("TASKVISOR_TOKEN")), Config.withDefault(Config.integer("PORT"), 8080)]),
    ([token, port]) => SupervisorHttp.layer({ port, token: Option.getOrUndefined(token) })
  )
)

// from the shutdown on, every event is logged: the tasks stopping, their outcomes, and the end within the grace
let stopping = false
const shutdownLog = Subscriber.make({
  name: "shutdown-log",
  onEvent: (event) => {
    if (event._tag === "ShutdownRequested") stopping = true
    return stopping ? Effect.log(Subscriber.formatEvent(event)) : Effect.void
  }
})

const MainLive = HttpLive.pipe(
  Layer.provideMerge(Controller.layer()),
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(Subscriber.layer(shutdownLog)),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))
)

fleet.pipe(Effect.scoped, Effect.provide(MainLive), NodeRuntime.runMain)
