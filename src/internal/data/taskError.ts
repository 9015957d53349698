/** The errors a task attempt ends with, sharing one `TypeId`, and how a failure is described in events and outcomes. */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/TaskError")

export type TypeId = typeof TypeId

export class TaskFatal extends Data.TaggedError("TaskFatal")<{
  readonly reason: string
  readonly exitCode?: number | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason
  }
}

export class TaskTimeout extends Data.TaggedError("TaskTimeout")<{
  readonly timeout: Duration.Duration
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `timed out after ${Duration.format(this.timeout)}`
  }
}

export class TaskPanicked extends Data.TaggedError("TaskPanicked")<{
  readonly defect: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `task panicked: ${describe(this.defect)}`
  }
}

export class TaskStalled extends Data.TaggedError("TaskStalled")<{
  readonly watchdog: Duration.Duration
  readonly sinceProgress: Duration.Duration
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stalled: no progress for ${Duration.format(this.sinceProgress)}`
  }
}

export class GroupFailed extends Data.TaggedError("GroupFailed")<{
  readonly reason: string
  /** The child that gave up, if one did (rather than the group's restart intensity). */
  readonly child: string | undefined
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason
  }
}

export type TaskError = TaskFatal | TaskTimeout | TaskPanicked | TaskStalled | GroupFailed

export const isTaskError = (u: unknown): u is TaskError => Predicate.hasProperty(u, TypeId)

export const isTaskFatal = (u: unknown): u is TaskFatal => Predicate.isTagged(u, "TaskFatal")

export const describe = (error: unknown): string => {
  try {
    return describeUnsafe(error)
  } catch {
    // a failure whose message or toString throws must not take its task or subscriber down with it
    return "a failure that cannot be described"
  }
}

/** A failure's `_tag`, if it has a readable one (a getter that throws is read as none: it is reported elsewhere). */
const tagOf = (error: unknown): string | undefined => {
  try {
    return Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag !== ""
      ? error._tag
      : undefined
  } catch {
    return undefined
  }
}

/** The supervisor's own errors, whose message says what they are (`timed out after 5s`). */
const own: ReadonlySet<unknown> = new Set(["TaskFatal", "TaskTimeout", "TaskStalled", "TaskPanicked", "GroupFailed"])

/**
 * A failure as a reason: a tagged error by its tag and its message
 * (`ParseError: cannot decode BAD`), the supervisor's own errors by their
 * message, anything else by its message or its text.
 */
const describeUnsafe = (error: unknown): string => {
  const tag = tagOf(error)
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== "") {
    const message = error.message
    return tag === undefined || own.has(tag) || message === tag || message.startsWith(`${tag}:`)
      ? message
      : `${tag}: ${message}`
  }
  if (tag !== undefined) {
    return tag
  }
  if (typeof error === "string") {
    return error
  }
  try {
    const json = JSON.stringify(error)
    return json === undefined ? String(error) : json
  } catch {
    return String(error)
  }
}

export const exitCodeOf = (error: unknown): number | undefined =>
  Predicate.hasProperty(error, "exitCode") && typeof error.exitCode === "number" ? error.exitCode : undefined
