import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as ClusterRunner from "../src/ClusterRunner.js"
import * as ClusterTask from "../src/ClusterTask.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { recording } from "./utils/recorder.js"

/** Poll `condition` every 20 ms until it holds; a defect naming `what` after `within` of real time. */
const eventually = (what: string, condition: () => boolean, within: Duration.DurationInput = "10 seconds") =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(within)
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting until ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

const ofTag = <K extends SupervisorEvent["_tag"]>(events: ReadonlyArray<SupervisorEvent>, tag: K) =>
  events.filter((e): e is Extract<SupervisorEvent, { _tag: K }> => e._tag === tag)

/** A supervisor with a recording subscriber, beside the given cluster runner layer. */
const node = <ROut, E>(runner: Layer.Layer<ROut, E>) => {
  const recorder = recording()
  const supervisor = TaskSupervisor.layer.pipe(
    Layer.provide(Subscriber.layer(recorder.subscriber)),
    Layer.provide(SupervisorConfig.layer({ grace: "2 seconds" }))
  )
  return { recorder, layer: Layer.merge(supervisor, runner) }
}

/** Build `layer` in a fresh scope; returns its context and the scope that releases it. */
const build = <ROut, E>(layer: Layer.Layer<ROut, E>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { context, scope }
  })

describe("ClusterTask.singleton on the embedded runner", () => {
  it.live("runs its task under the local supervisor, says so on the bus, and stops it gracefully on release", () =>
    Effect.gen(function*() {
      const { layer, recorder } = node(ClusterRunner.layerEmbedded())
      const log: Array<string> = []
      const spec = TaskSpec.make(
        "nightly-import",
        Effect.acquireRelease(Effect.sync(() => log.push("start")), () => Effect.sync(() => log.push("stop"))).pipe(
          Effect.zipRight(Effect.never)
        )
      )
      const base = yield* build(layer)
      const { scope } = yield* build(
        ClusterTask.singleton(spec, { unownedAfter: "200 millis" }).pipe(
          Layer.provide(Layer.succeedContext(base.context))
        )
      ).pipe(Effect.provide(base.context))
      yield* eventually("the task started", () => log.includes("start"))
      const supervisor = Context.get(base.context, TaskSupervisor.TaskSupervisor)
      assert.isTrue(yield* supervisor.isAlive("nightly-import"))
      const acquired = ofTag(recorder.events, "SingletonAcquired")
      assert.strictEqual(acquired.length, 1)
      assert.strictEqual(acquired[0].singleton, "nightly-import")
      const config = Context.get(base.context, ShardingConfig.ShardingConfig)
      const runner = Option.getOrThrow(config.runnerAddress)
      assert.strictEqual(acquired[0].runner, `${runner.host}:${runner.port}`)
      // it runs: no alarm, however long it is watched
      yield* Effect.sleep("500 millis")
      assert.deepStrictEqual(ofTag(recorder.events, "SingletonUnowned"), [])

      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(log, ["start", "stop"])
      const released = ofTag(recorder.events, "SingletonReleased")
      assert.strictEqual(released.length, 1)
      assert.strictEqual(released[0].release, "Shutdown")
      // the release comes after the task's end
      const finished = recorder.events.findIndex((e) => e._tag === "TaskFinished" && e.task === "nightly-import")
      assert.isTrue(finished >= 0 && finished < recorder.events.indexOf(released[0]))
      assert.isFalse(yield* supervisor.isAlive("nightly-import"))
      yield* Scope.close(base.scope, Exit.void)
    }))
})

void RunnerStorage
void Sharding
void MessageStorage
void RunnerHealth
void Runners
void Metric
void Duration
void RestartPolicy
