/**
 * Tasks declared in a Layer graph: `TaskSpec.toLayer` adds a task when its layer is built and cancels it when the
 * layer's scope closes. Both tasks need a `Database` service, provided with `Layer.provide`. The program serves for
 * ~2 s and returns; closing the scope cancels the tasks, shuts the supervisor down, then closes the database pool.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Context, Effect, Layer } from "effect"
import { Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class Database extends Context.Tag("examples/Database")<Database, {
  readonly execute: (sql: string) => Effect.Effect<number>
}>() {
  static readonly layer = Layer.scoped(
    Database,
    Effect.acquireRelease(
      Effect.as(Effect.log("database: pool opened"), { execute: (_sql: string) => Effect.succeed(3) }),
      () => Effect.log("database: pool closed")
    )
  )
}

const OutboxRelay = TaskSpec.toLayer(TaskSpec.periodic(
  "outbox-relay",
  Effect.gen(function*() {
    const db = yield* Database
    const sent = yield* db.execute("UPDATE outbox SET sent = true WHERE sent = false")
    yield* Effect.log(`outbox-relay: published ${sent} messages`)
  }),
  "500 millis"
))

const SessionSweeper = TaskSpec.toLayer(TaskSpec.restartable(
  "session-sweeper",
  Effect.gen(function*() {
    const db = yield* Database
    while (true) {
      const expired = yield* db.execute("DELETE FROM sessions WHERE expires_at < now()")
      yield* Effect.log(`session-sweeper: removed ${expired} expired sessions`)
      yield* Effect.sleep("700 millis")
    }
  }).pipe(Effect.onInterrupt(() => Effect.log("session-sweeper: stopped")))
))

const SupervisorLive = TaskSupervisor.layer.pipe(
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layerDefaults)
)

// The database is built first and released last, so it outlives the supervisor and every task.
const AppLive = Layer.mergeAll(OutboxRelay, SessionSweeper).pipe(
  Layer.provideMerge(SupervisorLive),
  Layer.provide(Database.layer)
)

const program = Effect.gen(function*() {
  const tasks = yield* TaskSupervisor.list
  yield* Effect.log(`serving with tasks: ${tasks.map((t) => t.name).join(", ")}`)
  yield* Effect.sleep("2 seconds")
  yield* Effect.log("done; closing the application scope")
})

program.pipe(Effect.provide(AppLive), NodeRuntime.runMain)
