/** A worker task's thread: started, watched until it is gone, asked to close, terminated past a deadline. */
import * as Worker from "@effect/platform/Worker"
import { WorkerError as PlatformWorkerError } from "@effect/platform/WorkerError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as WorkerThreads from "node:worker_threads"
import { describe } from "../data/taskError.js"
import { WorkerFailed, WorkerSpawnFailed } from "./workerError.js"
import type { Plan } from "./workerOptions.js"

/** How the thread ended: its exit code, and what it threw first, if it did. */
interface Ended {
  readonly code: number
  readonly thrown: Option.Option<unknown>
}

/** What is known of the thread: it runs (and may have thrown: its exit follows), or it is gone. */
type State =
  | { readonly _tag: "Running"; readonly thrown: Option.Option<unknown> }
  | { readonly _tag: "Gone"; readonly ended: Ended }

/**
 * WorkerRunner's message asking the thread to close: its handlers are
 * interrupted, its port closed, and its event loop left to empty (the port
 * protocol of @effect/platform-node, pinned by test/EffectInternals.test.ts).
 */
export const closeMessage: ReadonlyArray<number> = [1]

export class Thread {
  private state: State = { _tag: "Running", thrown: Option.none() }
  private readonly gone = Deferred.unsafeMake<Ended>(FiberId.none)
  /** Its id, read as it starts: Node sets `threadId` to -1 once the thread has exited. */
  readonly threadId: number

  constructor(readonly worker: WorkerThreads.Worker, private readonly module: string) {
    this.threadId = worker.threadId
    worker.on("error", (error) => {
      if (this.state._tag === "Running" && Option.isNone(this.state.thrown)) {
        this.state = { _tag: "Running", thrown: Option.some(error) }
      }
    })
    worker.once("exit", (code) => {
      const ended: Ended = { code, thrown: this.state._tag === "Running" ? this.state.thrown : Option.none() }
      this.state = { _tag: "Gone", ended }
      Deferred.unsafeDone(this.gone, Exit.succeed(ended))
    })
  }

  /** Fails once the thread is gone, with how it ended: what it threw, or its exit code. */
  get failed(): Effect.Effect<never, WorkerFailed> {
    return Effect.flatMap(Deferred.await(this.gone), ({ code, thrown }) =>
      Effect.fail(
        new WorkerFailed({
          module: this.module,
          threadId: this.threadId,
          reason: Option.match(thrown, {
            onNone: () => `it exited with code ${code} before it answered`,
            onSome: (error) => `it threw: ${describe(error)}`
          }),
          exitCode: Option.isNone(thrown) ? code : undefined,
          error: Option.getOrUndefined(thrown)
        })
      ))
  }

  /** A failure of its conversation (its handler's, sent back by WorkerRunner, or a message's), as reported. */
  failure(reason: string, error: unknown): WorkerFailed {
    return new WorkerFailed({ module: this.module, threadId: this.threadId, reason, exitCode: undefined, error })
  }

  /**
   * Ends the thread: asks it to close, `terminate()`s it if it is still
   * there when `force` completes, and is done once it is gone. It runs in a
   * finalizer: its waits are made interruptible for the race to end them.
   */
  stop(force: Effect.Effect<void>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.state._tag === "Gone") return Effect.void
      this.worker.postMessage(closeMessage)
      return Effect.raceFirst(
        Effect.interruptible(Deferred.await(this.gone)),
        Effect.interruptible(Effect.zipRight(force, Effect.promise(() => this.worker.terminate())))
      ).pipe(Effect.zipRight(Deferred.await(this.gone)), Effect.asVoid)
    }).pipe(Effect.uninterruptible)
  }
}

/**
 * Starts the plan's thread: its module must exist (a file that does not is
 * `ENOENT`), and Node must accept its options.
 */
export const start = (plan: Plan<unknown, unknown>): Effect.Effect<Thread, WorkerSpawnFailed> => {
  const refused = (reason: string, description: string) =>
    new WorkerSpawnFailed({ module: plan.label, reason, description })
  const exists = plan.file === undefined ? Effect.void : Effect.tryPromise({
    try: () => Fs.access(plan.file!),
    catch: (error) => refused((error as NodeJS.ErrnoException).code ?? "Unknown", describe(error))
  })
  return Effect.zipRight(
    exists,
    Effect.try({
      try: () => new Thread(new WorkerThreads.Worker(plan.module, plan.workerOptions), plan.label),
      catch: (error) => refused((error as NodeJS.ErrnoException).code ?? "Unknown", describe(error))
    })
  )
}

/**
 * @effect/platform's worker over a thread the attempt owns: messages pass
 * through as NodeWorker passes them, but the thread's end is the attempt's
 * to watch (`Thread.failed`) and to bring about (`Thread.stop`), so the
 * platform neither closes it nor reports its exit (the manager would start
 * another after a second).
 */
export const platform: Worker.PlatformWorker = Worker.makePlatform<WorkerThreads.Worker>()({
  setup: ({ worker }) =>
    Effect.succeed({
      postMessage: (message: unknown, transfers?: ReadonlyArray<WorkerThreads.Transferable>) =>
        worker.postMessage(message, transfers),
      worker
    }),
  listen: ({ deferred, emit, port }) =>
    Effect.sync(() => {
      port.worker.on("message", emit)
      port.worker.on("messageerror", (cause) => {
        Deferred.unsafeDone(deferred, Exit.fail(new PlatformWorkerError({ reason: "decode", cause })))
      })
    })
})
