/** The ways a process task's attempt fails, sharing one `TypeId`. */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/ProcessError")

export type TypeId = typeof TypeId

/** The process exited by itself with a code other than 0. */
export class ProcessExited extends Data.TaggedError("ProcessExited")<{
  readonly exitCode: number
  readonly pid: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `process ${this.pid} exited with code ${this.exitCode}`
  }
}

/** The process was ended by a signal it did not handle (`SIGSEGV`, or a `kill` from outside). */
export class ProcessSignaled extends Data.TaggedError("ProcessSignaled")<{
  readonly signal: string
  readonly pid: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `process ${this.pid} was killed by ${this.signal}`
  }
}

/** The process could not be started: the OS refused (`reason`: `ENOENT`, `EACCES`, …). */
export class ProcessSpawnFailed extends Data.TaggedError("ProcessSpawnFailed")<{
  /** The OS's error code, `ENOENT` or `EACCES` for instance, or `Unknown`. */
  readonly reason: string
  /** What was refused: the command, or its working directory. */
  readonly target: string
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
    return `cannot start ${this.target}: ${this.reason}: ${this.description}`
  }
}

/** The process printed no line its `readyWhen` accepts within its `readyTimeout`. */
export class ProcessNotReady extends Data.TaggedError("ProcessNotReady")<{
  readonly timeout: Duration.Duration
  readonly pid: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `process ${this.pid} was not ready within ${Duration.format(this.timeout)}`
  }
}

/** The resident memory of the process's group went over its `maxRss`. */
export class ProcessMemoryExceeded extends Data.TaggedError("ProcessMemoryExceeded")<{
  /** Bytes, as sampled. */
  readonly rss: number
  /** Bytes: the task's `maxRss`. */
  readonly limit: number
  readonly pid: number
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `process ${this.pid} used ${mebibytes(this.rss)} of memory, over its limit of ${mebibytes(this.limit)}`
  }
}

const mebibytes = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`

export type ProcessError =
  | ProcessExited
  | ProcessSignaled
  | ProcessSpawnFailed
  | ProcessNotReady
  | ProcessMemoryExceeded

export const isProcessError = (u: unknown): u is ProcessError => Predicate.hasProperty(u, TypeId)
