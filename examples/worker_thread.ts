/**
 * CPU-bound work in worker threads with `WorkerTask.make`: each task's attempt starts a thread of
 * examples/worker_thread/primes.ts and sends it a typed request (`CountPrimes`), whose answers `onOutput` logs.
 * `primes` counts the primes below 300,000 and completes. `runaway` is asked for those below 2^53, a loop that never
 * yields: when the program shuts the supervisor down, the thread is asked to stop, does not, and once the grace (1 s)
 * has passed the task is `ForceAborted` and its thread terminated, which no in-process fiber stuck in such a loop
 * could be. The program then ends by itself, as it could not while a worker thread of it still ran.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Layer } from "effect"
import { RestartPolicy, Subscriber, SupervisorConfig, TaskSupervisor } from "effect-taskvisor"
import * as WorkerTask from "effect-taskvisor/WorkerTask"
import { CountPrimes } from "./worker_thread/requests.js"

// The worker module is TypeScript, which Node does not load in a thread by itself: the thread starts from a data: URL
// that registers tsx, then imports it. A compiled program passes the URL of its .js module instead.
const primesModule = new URL(
  `data:text/javascript,import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register();` +
    `await import(${JSON.stringify(new URL("./worker_thread/primes.ts", import.meta.url).href)})`
)

const program = Effect.gen(function*() {
  const counting = yield* Deferred.make<void>()
  const primes = yield* TaskSupervisor.add(
    WorkerTask.make("primes", primesModule, new CountPrimes({ below: 300_000 }), {
      restart: RestartPolicy.never,
      onOutput: (line) => Effect.log(`primes: ${line}`)
    })
  )
  const runaway = yield* TaskSupervisor.add(
    WorkerTask.make("runaway", primesModule, new CountPrimes({ below: Number.MAX_SAFE_INTEGER }), {
      restart: RestartPolicy.never,
      onOutput: (line) => Effect.zipRight(Effect.log(`runaway: ${line}`), Deferred.succeed(counting, undefined))
    })
  )
  yield* Effect.log(`primes ended ${(yield* primes.await)._tag}`)
  yield* Deferred.await(counting)
  // the runaway thread ignores the request to stop: shutdown waits the grace, then gives up on it
  yield* TaskSupervisor.shutdown.pipe(
    Effect.catchTag("GraceExceeded", (exceeded) => Effect.log(`shutdown: ${exceeded.message}`))
  )
  yield* Effect.log(`runaway ended ${(yield* runaway.await)._tag}`)
})

program.pipe(
  Effect.provide(
    TaskSupervisor.layer.pipe(
      Layer.provide(Subscriber.layer(Subscriber.log)),
      Layer.provide(SupervisorConfig.layer({ grace: "1 second" }))
    )
  ),
  NodeRuntime.runMain
)
