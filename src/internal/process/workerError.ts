/** The ways a worker task's attempt fails, sharing one `TypeId`. */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/WorkerError")

export type TypeId = typeof TypeId

/**
 * The worker thread ended its request without an answer: its handler
 * failed, it threw, or it exited (`exitCode`).
 */
export class WorkerFailed extends Data.TaggedError("WorkerFailed")<{
  /** The worker's module, as the task names it. */
  readonly module: string
  readonly threadId: number
  /** What happened, as a phrase: `its handler failed: …`, `it threw: …`, `it exited with code 3`. */
  readonly reason: string
  /** The code the thread exited with, if it exited by itself. */
  readonly exitCode: number | undefined
  /** The handler's failure, or what the thread threw. */
  readonly error: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `worker thread ${this.threadId} of ${this.module}: ${this.reason}`
  }
}

/** The worker thread could not be started: its module does not exist (`ENOENT`), or Node refused its options. */
export class WorkerSpawnFailed extends Data.TaggedError("WorkerSpawnFailed")<{
  readonly module: string
  /** `ENOENT`, or the code of Node's refusal (`ERR_WORKER_PATH`, …). */
  readonly reason: string
  readonly description: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `cannot start a worker thread of ${this.module}: ${this.reason}: ${this.description}`
  }
}

export type WorkerError = WorkerFailed | WorkerSpawnFailed

export const isWorkerError = (u: unknown): u is WorkerError => Predicate.hasProperty(u, TypeId)
