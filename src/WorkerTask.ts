/**
 * Worker threads as tasks: `WorkerTask.make(name, module, request, options)`
 * is an ordinary `TaskSpec` whose attempts each start a `worker_threads`
 * worker of `module` and send it `request`, so CPU-bound or untrusted work
 * restarts, backs off, times out and reports like any other task, and, unlike
 * a fiber that never yields, can be stopped for real. The worker module
 * answers with `WorkerTask.serve`. Both sides talk through @effect/platform's
 * `Worker` and `WorkerRunner` (`@effect/platform-node`'s on the worker side):
 * this module needs those optional peers, and is not re-exported by the
 * package's index; import `effect-taskvisor/WorkerTask`.
 *
 * - **Typed.** The request is an instance of a `Schema.TaggedRequest` class:
 *   it is encoded to the worker, and what the handler answers is decoded
 *   with the class's `success` schema and given to `onOutput`, each value in
 *   order (a handler returning a `Stream` answers several: progress, partial
 *   results). The attempt succeeds when the handler ends.
 * - **Failures.** A handler that fails or dies, a worker that throws (an
 *   uncaught exception) or exits (`process.exit`, or its event loop empties)
 *   before it answered: `WorkerFailed` with the reason (retryable; an exit
 *   code is carried to `AttemptFailed` and the outcome). A module that does
 *   not exist, or options Node refuses: `WorkerSpawnFailed`, `Fatal` unless
 *   `spawnFailure: "retry"`.
 * - **Stop.** When the attempt is interrupted (stop, timeout, restart,
 *   shutdown), the worker is sent WorkerRunner's interrupt (its handler's
 *   fiber is interrupted) and asked to close. A thread still there
 *   `terminateAfter` later (when shorter than the supervisor's grace) is
 *   `terminate()`d, which ends even one spinning in `while (true) {}`, and
 *   the task ends as any stopped task. Without it, a thread still there when
 *   the grace runs out leaves its task `ForceAborted`, as an in-process task
 *   that ignores interruption would, and is terminated then (after a timeout
 *   or a restart, where no force-abort comes, the grace and a margin after
 *   the request). Either way the attempt ends only once the thread is gone:
 *   none is left running.
 * - **Checked at `add`.** An invalid option, a request that is not a
 *   `Schema.TaggedRequest`, or a `terminateAfter` longer than the
 *   supervisor's grace, refuses the task where it is added, with a
 *   `ConfigError` naming the option of the task.
 *
 * @since 0.1.0
 */
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as specs from "./internal/config/taskSpec.js"
import { checkOf } from "./internal/process/process.js"
import * as internal from "./internal/process/worker.js"
import * as errors from "./internal/process/workerError.js"
import * as options_ from "./internal/process/workerOptions.js"
import * as TaskSpec from "./TaskSpec.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: typeof errors.TypeId = errors.TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

export {
  /**
   * The worker ended its request without an answer: its handler failed or
   * died, it threw, or it exited (`exitCode`); `reason` says which
   * (retryable).
   *
   * @since 0.1.0
   * @category Errors
   */
  WorkerFailed,
  /**
   * The worker thread could not be started: its module does not exist
   * (`ENOENT`) or Node refused its options; `Fatal` unless `spawnFailure`
   * is `"retry"`.
   *
   * @since 0.1.0
   * @category Errors
   */
  WorkerSpawnFailed
} from "./internal/process/workerError.js"

/**
 * Any failure of a worker task's attempt.
 *
 * @since 0.1.0
 * @category Errors
 */
export type WorkerError = errors.WorkerError

/**
 * Whether a value is one of the errors of this module.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isWorkerError: (u: unknown) => u is WorkerError = errors.isWorkerError

/**
 * The options of a worker task sending `Req`: those of any task
 * (`TaskSpec.Options`), and
 * - `workerOptions`: passed to `new Worker` (`resourceLimits`, `env`,
 *   `execArgv`, `argv`, …; not `eval`);
 * - `onOutput`: receives each value the handler answers, in order (guarded:
 *   one that throws or fails loses that value and is logged at `Warning`);
 * - `terminateAfter`: how long after the stop request the thread is
 *   `terminate()`d (default and most: the supervisor's grace);
 * - `spawnFailure`: `"fatal"` (default) or `"retry"`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<Req extends Schema.TaggedRequest.All>
  extends TaskSpec.Options<WorkerError>, options_.WorkerOptions<Schema.WithResult.Success<Req>>
{}

/**
 * A task whose attempts each start a worker thread of `module` (a path, or a
 * `file:` URL) and send it `request`; the module answers it with `serve`.
 * Its settings inherit the supervisor defaults as `TaskSpec.make`'s do; its
 * options are checked when it is added.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { RestartPolicy, TaskSupervisor } from "effect-taskvisor"
 * import * as WorkerTask from "effect-taskvisor/WorkerTask"
 *
 * // shared by both sides
 * class Digest extends Schema.TaggedRequest<Digest>()("Digest", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: { rounds: Schema.Number }
 * }) {}
 *
 * // a CPU-bound digest in a thread of its own, terminated if it does not stop within a second
 * const digest = WorkerTask.make("digest", new URL("./digest.worker.js", import.meta.url), new Digest({ rounds: 1e7 }), {
 *   restart: RestartPolicy.never,
 *   terminateAfter: "1 second",
 *   onOutput: (hex) => Effect.log(`digest: ${hex}`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <Req extends Schema.TaggedRequest.All>(
  name: string,
  module: string | URL,
  request: Req,
  options?: Options<Req>
): TaskSpec.TaskSpec<WorkerError> => {
  const plan = options_.check(module, request, (options ?? {}) as options_.WorkerOptions<unknown>)
  return specs.update(
    TaskSpec.make(name, internal.effectOf(plan), {
      ...options,
      isFatal: internal.isFatalOf(plan, options?.isFatal)
    }),
    { check: checkOf(plan, options_.withinGrace), awaitsForceAbort: true }
  )
}

/**
 * What a worker module's handler answers a request with: one value (an
 * `Effect`) or several in order (a `Stream`), typed by the request's schema.
 *
 * @since 0.1.0
 * @category Models
 */
export type Handler<Req extends Schema.TaggedRequest.All> = (
  request: Req
) =>
  | Effect.Effect<Schema.WithResult.Success<Req>, Schema.WithResult.Failure<Req>>
  | Stream.Stream<Schema.WithResult.Success<Req>, Schema.WithResult.Failure<Req>>

/**
 * Serves the requests of a `Schema.TaggedRequest` class in a worker thread
 * (called once, at the top of the worker's module): each request is decoded,
 * given to `handler`, and its answer encoded back, through @effect/platform's
 * `WorkerRunner`. The thread ends when its task asks it to close. Outside a
 * worker thread, or if the runner cannot start, it throws (uncaught, as the
 * thread's own error).
 *
 * @example
 * ```ts
 * // digest.worker.ts
 * import { Effect, Schema } from "effect"
 * import * as WorkerTask from "effect-taskvisor/WorkerTask"
 *
 * class Digest extends Schema.TaggedRequest<Digest>()("Digest", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: { rounds: Schema.Number }
 * }) {}
 *
 * declare const compute: (rounds: number) => string
 *
 * WorkerTask.serve(Digest, (request) => Effect.sync(() => compute(request.rounds)))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const serve = <Req extends Schema.TaggedRequest.All, I>(
  schema: Schema.Schema<Req, I> & { readonly _tag: Req["_tag"] },
  handler: Handler<Req>
): void => {
  // an Effect's answer goes as a one-value Stream: the runner then sends its end, which the task's side awaits
  const handlers = {
    [schema._tag]: (request: Req) => {
      const answer = handler(request)
      return Effect.isEffect(answer) ? Stream.fromEffect(answer) : answer
    }
  }
  const runner = WorkerRunner.layerSerialized(schema, handlers as any).pipe(Layer.provide(NodeWorkerRunner.layer))
  Effect.runFork(WorkerRunner.launch(runner) as Effect.Effect<void, unknown>).addObserver((exit) => {
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      setImmediate(() => {
        throw Cause.squash(exit.cause)
      })
    }
  })
}
