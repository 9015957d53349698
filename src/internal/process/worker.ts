/** A worker task's attempt: a thread started once, its request answered, its outputs delivered, the thread ended. */
import * as Worker from "@effect/platform/Worker"
import { isWorkerError as isPlatformWorkerError } from "@effect/platform/WorkerError"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { describe } from "../data/taskError.js"
import { CurrentAttemptControl } from "../task/attemptControl.js"
import { marginOf, refused } from "./process.js"
import { isRefusal, type Refusal } from "./processOptions.js"
import { toSink } from "./processOutput.js"
import type { WorkerError, WorkerFailed } from "./workerError.js"
import type { Plan } from "./workerOptions.js"
import { platform, start, type Thread } from "./workerThread.js"

/** A request the worker answers, as the attempt handles it: its outputs are whatever `onOutput` takes. */
type Request = Schema.TaggedRequest.All

/** When the task sets no `terminateAfter` and no supervisor bounds it with a grace. */
const unbounded = Duration.seconds(5)

/**
 * When a thread still there after the stop asked it to close is terminated:
 * `terminateAfter` later, if that is within the grace; otherwise once the
 * supervisor gives up on the attempt (force-aborts its task), or, when none
 * will (a timeout or a restart interrupted it, not a stop), the grace and a
 * margin later. Outside a supervisor, `terminateAfter` (5 seconds by default).
 */
const forceOf = (plan: Plan<Request, unknown>): Effect.Effect<Effect.Effect<void>> =>
  Effect.map(CurrentAttemptControl, ({ forceAborted, grace }) => {
    const after = plan.terminateAfter
    if (grace === undefined) return Effect.sleep(after ?? unbounded)
    if (after !== undefined && Duration.lessThan(after, grace)) return Effect.sleep(after)
    return Effect.race(forceAborted, Effect.sleep(Duration.sum(grace, marginOf(grace))))
  })

/** Why the conversation with the thread failed: the handler's failure or defect, or a message it could not pass. */
const failureOf = (thread: Thread, cause: Cause.Cause<unknown>): WorkerFailed =>
  Either.match(Cause.failureOrCause(cause), {
    onLeft: (error) =>
      isPlatformWorkerError(error)
        ? thread.failure(`a message could not pass (${error.reason}): ${describe(error.cause)}`, error)
        : ParseResult.isParseError(error)
        ? thread.failure(`its answer does not match the request's schema: ${error.message}`, error)
        : thread.failure(`its handler failed: ${describe(error)}`, error),
    onRight: (cause) => {
      const defect = Cause.squash(cause)
      return thread.failure(`its handler died: ${describe(defect)}`, defect)
    }
  })

/**
 * The request sent through @effect/platform's worker manager over the
 * thread, once it says it is ready, and its outputs delivered in order until
 * its handler ends.
 */
const converse = (thread: Thread, plan: Plan<Request, unknown>): Effect.Effect<void, WorkerFailed> =>
  Effect.gen(function*() {
    const manager = yield* Effect.provideService(Worker.makeManager, Worker.PlatformWorker, platform)
    const worker = yield* Worker.makeSerialized<Request>({}).pipe(
      Effect.provideService(Worker.WorkerManager, manager),
      Effect.provideService(Worker.Spawner, () => thread.worker)
    )
    const onOutput = plan.onOutput
    const outputs = worker.execute(plan.request) as Stream.Stream<unknown, unknown>
    yield* onOutput === undefined
      ? Stream.runDrain(outputs)
      : Stream.runForEach(outputs, (output) => toSink("onOutput", onOutput, output, "an output of the worker"))
  }).pipe(
    Effect.scoped,
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.fail(failureOf(thread, cause))
    )
  )

/**
 * One attempt: a thread of the module is started, sent the request, and
 * the attempt succeeds when its handler ends. However the attempt ends, the
 * thread is gone before it does: asked to close (its handler interrupted),
 * then terminated (see `forceOf`).
 */
export const attempt = (plan: Plan<Request, unknown>): Effect.Effect<void, WorkerError> =>
  Effect.scoped(Effect.gen(function*() {
    const force = yield* forceOf(plan)
    const thread = yield* Effect.acquireRelease(start(plan), (thread) => thread.stop(force))
    yield* Effect.raceFirst(converse(thread, plan), thread.failed)
  }))

/** The effect of a worker task's spec: one attempt of its plan. */
export const effectOf = (plan: Plan<Request, unknown> | Refusal): Effect.Effect<void, WorkerError> =>
  isRefusal(plan) ? refused(plan) : attempt(plan)

/** Its `isFatal`: a spawn failure unless `spawnFailure` is `"retry"`, then the task's own predicate. */
export const isFatalOf = (
  plan: Plan<Request, unknown> | Refusal,
  own: ((error: WorkerError) => boolean) | undefined
) =>
(error: WorkerError): boolean => {
  if (!isRefusal(plan) && error._tag === "WorkerSpawnFailed" && plan.spawnFailureIsFatal) return true
  return own !== undefined && own(error) === true
}
