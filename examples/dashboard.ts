/**
 * The operator's view: a small fleet (a flaky poller, a periodic report, a controller slot that takes a new import
 * every few seconds) served with the dashboard, the JSON routes and the live events on http://127.0.0.1:8080/ until
 * Ctrl-C. With TASKVISOR_TOKEN set, the POST routes (restart, pause, resume, trigger, cancel) accept it as a bearer
 * token: `curl -X POST -H "Authorization: Bearer $TASKVISOR_TOKEN" http://127.0.0.1:8080/tasks/poller/pause`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Effect, Layer, Option, Random, Schedule } from "effect"
import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
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
  yield* Effect.log("dashboard on http://127.0.0.1:8080/ (Ctrl-C stops)")
  return yield* Effect.never
})

const HttpLive = Layer.unwrapEffect(
  Effect.map(
    Config.option(Config.redacted("TASKVISOR_TOKEN")),
    (token) => SupervisorHttp.layer({ port: 8080, token: Option.getOrUndefined(token) })
  )
)

const MainLive = HttpLive.pipe(
  Layer.provideMerge(Controller.layer()),
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))
)

fleet.pipe(Effect.scoped, Effect.provide(MainLive), NodeRuntime.runMain)
