/**
 * A task the application cannot do without: the orders consumer is `significant`, and the supervisor's
 * `autoShutdown` ends the supervisor when it gives up. The program's main effect is `TaskSupervisor.join`, which fails
 * with `SignificantTaskFailed`, so `NodeRuntime.runMain` exits with code 1 after a graceful shutdown of everything
 * else (the heartbeat is stopped, the database pool closed). Ctrl-C before that is a normal shutdown, exit code 0.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Context, Data, Effect, Layer } from "effect"
import { BackoffPolicy, Subscriber, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class BrokerUnreachable extends Data.TaggedError("BrokerUnreachable")<{ readonly message: string }> {}

class Database extends Context.Tag("examples/Database")<Database, { readonly query: Effect.Effect<number> }>() {
  static readonly layer = Layer.scoped(
    Database,
    Effect.acquireRelease(
      Effect.as(Effect.log("database: pool opened"), { query: Effect.succeed(1) }),
      () => Effect.log("database: pool closed")
    )
  )
}

// the broker never comes back: three retries, then the consumer gives up
const consumer = TaskSpec.restartable(
  "orders-consumer",
  Effect.fail(new BrokerUnreachable({ message: "broker at 127.0.0.1:5672 refused the connection" }))
).pipe(
  TaskSpec.withBackoff(BackoffPolicy.exponential("200 millis")),
  TaskSpec.withMaxRetries(3),
  TaskSpec.significant
)

const heartbeat = TaskSpec.periodic("heartbeat", Effect.flatMap(Database, (db) => db.query), "300 millis")

const AppLive = Layer.mergeAll(TaskSpec.toLayer(consumer), TaskSpec.toLayer(heartbeat)).pipe(
  Layer.provideMerge(TaskSupervisor.layer),
  Layer.provide(Subscriber.layer(Subscriber.log)),
  Layer.provide(SupervisorConfig.layer({ grace: "5 seconds", autoShutdown: "anySignificant" })),
  Layer.provide(Database.layer)
)

TaskSupervisor.join.pipe(Effect.provide(AppLive), NodeRuntime.runMain)
