/**
 * Latest-wins sync per tenant with `ControllerSpec.replace`: each tenant is one slot, a newer revision stops the
 * running sync, a waiting revision is superseded by an even newer one without ever running, and the next sync
 * starts only after the stopped one has finished its cleanup. Every decision is read from `submitAndWatch` handles.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Layer, Ref } from "effect"
import type { TaskOutcome } from "effect-taskvisor"
import { Controller, ControllerSpec, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

const describe = (outcome: TaskOutcome.TaskOutcome<unknown>) =>
  outcome._tag === "Rejected" ? `Rejected{${outcome.kind}} (${outcome.reason})` : outcome._tag

/** One sync run of `tenant` at `rev`, replacing whatever that tenant's slot is running. */
const sync = (tenant: string, rev: number, body: Effect.Effect<void>) =>
  ControllerSpec.replace(TaskSpec.once(`${tenant}/rev-${rev}`, body)).pipe(ControllerSpec.withSlot(tenant))

const program = Effect.gen(function*() {
  const rev1Started = yield* Deferred.make<void>()
  const rev1Interrupted = yield* Deferred.make<void>()
  const releaseCleanup = yield* Deferred.make<void>()
  const rev3Started = yield* Ref.make(false)

  // rev-1 syncs until it is stopped, then holds its cleanup (flushing a partial write) until released
  const rev1 = yield* Controller.submitAndWatch(sync(
    "tenant-42",
    1,
    Deferred.succeed(rev1Started, undefined).pipe(
      Effect.zipRight(Effect.log("tenant-42 rev-1: syncing")),
      Effect.zipRight(Effect.never),
      Effect.onInterrupt(() =>
        Effect.log("tenant-42 rev-1: sees interruption, cleaning up").pipe(
          Effect.zipRight(Deferred.succeed(rev1Interrupted, undefined)),
          Effect.zipRight(Deferred.await(releaseCleanup)),
          Effect.zipRight(Effect.log("tenant-42 rev-1: cleanup done"))
        )
      )
    )
  ))
  const other = yield* Controller.submitAndWatch(sync(
    "tenant-17",
    1,
    Effect.log("tenant-17 rev-1: syncing").pipe(
      Effect.zipRight(Effect.sleep("300 millis")),
      Effect.zipRight(Effect.log("tenant-17 rev-1: synced"))
    )
  ))
  yield* Deferred.await(rev1Started)

  const rev2 = yield* Controller.submitAndWatch(sync("tenant-42", 2, Effect.log("tenant-42 rev-2: syncing")))
  yield* Deferred.await(rev1Interrupted)
  const view = Controller.slot(yield* Controller.snapshot, "tenant-42")
  yield* Effect.log(`rev-2 submitted: slot tenant-42 is ${view.status}, ${view.queueDepth} waiting`)

  const rev3 = yield* Controller.submitAndWatch(sync(
    "tenant-42",
    3,
    Ref.set(rev3Started, true).pipe(
      Effect.zipRight(Effect.log("tenant-42 rev-3: syncing")),
      Effect.zipRight(Effect.sleep("200 millis")),
      Effect.zipRight(Effect.log("tenant-42 rev-3: synced"))
    )
  ))
  yield* Effect.log(`rev-3 submitted: rev-2 -> ${describe(yield* rev2.await)}`)

  yield* Effect.sleep("200 millis")
  yield* Effect.log(`before the release, rev-3 started: ${yield* Ref.get(rev3Started)}`)
  yield* Deferred.succeed(releaseCleanup, undefined)
  yield* Effect.log(`rev-1 -> ${describe(yield* rev1.await)}`)
  yield* Effect.log(`rev-3 -> ${describe(yield* rev3.await)}`)
  yield* Effect.log(`tenant-17 rev-1 -> ${describe(yield* other.await)}`)
})

const SupervisorLive = Controller.layer().pipe(
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(SupervisorConfig.layerDefaults)
)

program.pipe(Effect.provide(SupervisorLive), NodeRuntime.runMain)
