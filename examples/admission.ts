/**
 * Admission into a busy slot: deploy-v1 is admitted into the idle slot "deploy" and waits on a gate, the controller
 * snapshot shows the slot's owner, and deploy-v2 submitted with `dropIfRunning` is rejected `SlotBusy` without its
 * body ever running. Releasing the gate completes v1, then the supervisor shuts down.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Layer, Ref } from "effect"
import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const program = Effect.gen(function*() {
  const started = yield* Deferred.make<void>()
  const gate = yield* Deferred.make<void>()
  const v2Ran = yield* Ref.make(false)

  const v1 = yield* Controller.submitAndWatch(
    ControllerSpec.queue(TaskSpec.once(
      "deploy-v1",
      Effect.log("deploy-v1: rolling out, waiting for the gate").pipe(
        Effect.zipRight(Deferred.succeed(started, undefined)),
        Effect.zipRight(Deferred.await(gate)),
        Effect.zipRight(Effect.log("deploy-v1: rolled out"))
      )
    )).pipe(ControllerSpec.withSlot("deploy"))
  )
  yield* Effect.log(`deploy-v1 admitted as task #${v1.id}`)
  yield* Deferred.await(started)

  const snapshot = yield* Controller.snapshot
  const slot = Controller.slot(snapshot, "deploy")
  yield* Effect.log(
    `snapshot: runningCount=${snapshot.runningCount} totalQueued=${snapshot.totalQueued}; ` +
      `slot "deploy": status=${slot.status} owner=#${slot.ownerId} depth=${slot.queueDepth}`
  )

  const v2 = yield* Controller.submitAndWatch(
    ControllerSpec.dropIfRunning(TaskSpec.once("deploy-v2", Ref.set(v2Ran, true))).pipe(
      ControllerSpec.withSlot("deploy")
    )
  )
  const v2Outcome = yield* v2.await
  if (v2Outcome._tag === "Rejected") {
    yield* Effect.log(`deploy-v2 -> Rejected{${v2Outcome.kind}}: ${v2Outcome.reason}`)
  } else {
    yield* Effect.log(`deploy-v2 -> ${v2Outcome._tag}`)
  }
  yield* Effect.log(`deploy-v2 body ran: ${yield* Ref.get(v2Ran)}`)

  yield* Deferred.succeed(gate, undefined)
  yield* Effect.log(`deploy-v1 -> ${(yield* v1.await)._tag}`)
  yield* TaskSupervisor.shutdown
  yield* Effect.log("supervisor shut down")
})

const SupervisorLive = Controller.layer().pipe(
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layerDefaults)
)

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
