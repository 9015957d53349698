/** The errors of the test kit, sharing one `TypeId`: the ones it fails a test with, and the failure it scripts. */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"
import { describe } from "../data/taskError.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/testing/TestingError")

export type TypeId = typeof TypeId

/** `advanceUntil` moved the clock as far as it may and the condition still did not hold. */
export class AdvanceTimeout extends Data.TaggedError("AdvanceTimeout")<{
  /** What was awaited. */
  readonly what: string
  /** How far the clock moved, in milliseconds. */
  readonly elapsed: number
  /** Why it stopped: its `limit` reached, or nothing left to wake up. */
  readonly stopped: "Limit" | "Idle"
  /** The events recorded so far, one line each. */
  readonly seen: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why = this.stopped === "Limit" ? "within its limit" : "and nothing is scheduled to wake up"
    const shown = this.seen.length > maxLines
      ? [`(${this.seen.length - maxLines} earlier events)`, ...this.seen.slice(-maxLines)]
      : this.seen
    return `${this.what} did not happen after ${this.elapsed} ms of TestClock time ${why}; events so far:\n${
      lines(shown)
    }`
  }
}

/** The recorded events do not read as `expectEvents` expected. */
export class EventsMismatch extends Data.TaggedError("EventsMismatch")<{
  readonly mode: "exact" | "prefix" | "subsequence"
  /** The task whose events were compared; `undefined` for every event. */
  readonly task: string | number | undefined
  /** The comparison, one line each: `=` matched, `≠` differs, `-` expected and missing, `+` seen and unexpected. */
  readonly diff: ReadonlyArray<string>
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const whose = this.task === undefined ? "the events" : `the events of ${this.task}`
    return `${whose} do not match (${this.mode}), expected | seen:\n${lines(this.diff)}`
  }
}

/** A condition or callback given to the kit threw. */
export class ConditionFailed extends Data.TaggedError("ConditionFailed")<{
  readonly what: string
  readonly cause: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the condition for ${this.what} threw: ${describe(this.cause)}`
  }
}

/** A scripted failure carrying an exit code, as a child process's exit does. */
export class ScriptedExit extends Data.TaggedError("ScriptedExit")<{ readonly exitCode: number }> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `exited with code ${this.exitCode}`
  }
}

/** How many of the last events a message lists. */
const maxLines = 200

export type TestingError = AdvanceTimeout | EventsMismatch | ConditionFailed | ScriptedExit

export const isTestingError = (u: unknown): u is TestingError => Predicate.hasProperty(u, TypeId)

const lines = (all: ReadonlyArray<string>): string =>
  all.length === 0 ? "  (none)" : all.map((l) => `  ${l}`).join("\n")
