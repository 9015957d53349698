/** How an attempt's end is read: how it ended, its failure as reported, whether that failure ends the task. */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { type Resolved, TimedOut } from "../config/resolve.js"
import { describe, exitCodeOf, isTaskFatal, TaskPanicked, TaskStalled, TaskTimeout } from "../data/taskError.js"
import * as TaskOutcome from "../data/taskOutcome.js"

/** A user value that threw when the retry loop read it: what was read, and what it threw. */
export class Broken {
  constructor(readonly what: string, readonly cause: Cause.Cause<unknown>) {}
}

/** Read a user value that may throw (a getter, a callback). */
export const guard = <A>(what: string, read: () => A): A | Broken => {
  try {
    return read()
  } catch (defect) {
    return new Broken(what, Cause.die(defect))
  }
}

/** What an attempt watched by a watchdog returns when it reports no progress for the watchdog's period. */
export class Stalled {
  constructor(readonly sinceProgress: number) {}
}

/** What a cron task's attempt returns when the run of its next scheduled time replaces it (`cancelRunning`). */
export class Superseded {
  constructor(readonly scheduledAt: number) {}
}

/** What an attempt returns when its group restarts it (private: no task can return it). */
export const Recycled: unique symbol = Symbol("effect-taskvisor/Recycled")

/** How an attempt ended other than by its own success or failure. */
export type Ending = typeof TimedOut | typeof Recycled | Stalled | Superseded | undefined

/** How an attempt that succeeded ended: by itself, or by its timeout, watchdog or group. */
export const endingOf = (value: unknown): Ending =>
  value === TimedOut || value === Recycled || value instanceof Stalled || value instanceof Superseded
    ? value
    : undefined

/** What failed in an attempt that ended (`cause`: it failed by itself), its timeout or watchdog standing for it. */
export const causeOf = (
  spec: Resolved,
  cause: Cause.Cause<unknown> | undefined,
  ending: Ending
): Cause.Cause<unknown> | undefined =>
  ending === TimedOut
    ? Cause.fail(new TaskTimeout({ timeout: spec.timeout! }))
    : ending instanceof Stalled
    ? Cause.fail(new TaskStalled({ watchdog: spec.watchdog!, sinceProgress: Duration.millis(ending.sinceProgress) }))
    : cause

/** A failed attempt's failure, as its events, its outcome and the retry schedule are told it. */
export class AttemptFailure {
  constructor(
    readonly cause: Cause.Cause<unknown>,
    /** The error: a typed failure, the timeout's or watchdog's, else the defect as `TaskPanicked`. */
    readonly error: unknown,
    /** A typed failure of the task's own (not a timeout, a stall or a defect): it may be fatal. */
    readonly typed: boolean,
    readonly reason: string,
    readonly exitCode: number | undefined,
    /** Its exit code could not be read. */
    readonly unreadable: Broken | undefined
  ) {}
}

/** The failure of an attempt that failed, timed out or stalled (not one interrupted only). */
export const failureOf = (cause: Cause.Cause<unknown>, ending: Ending): AttemptFailure => {
  if (ending === TimedOut || ending instanceof Stalled) {
    // the failure `causeOf` stood for it
    const error = Cause.squash(cause)
    return new AttemptFailure(cause, error, false, describe(error), undefined, undefined)
  }
  const typed = Cause.failureOption(cause)
  const error = Option.isSome(typed)
    ? typed.value
    : new TaskPanicked({ defect: Option.getOrUndefined(Cause.dieOption(cause)) })
  const reason = describe(error)
  const code = guard("reading exitCode", () => exitCodeOf(error))
  return code instanceof Broken
    ? new AttemptFailure(cause, error, Option.isSome(typed), reason, undefined, code)
    : new AttemptFailure(cause, error, Option.isSome(typed), reason, code, undefined)
}

/** Whether a typed failure is fatal; reading its `_tag` and calling `isFatal` may throw. */
const isFatal = (spec: Resolved, error: unknown): boolean | Broken => {
  const fatal = guard("reading _tag", () => isTaskFatal(error))
  if (fatal !== false) return fatal
  return spec.isFatal === undefined ? false : guard("isFatal", () => spec.isFatal!(error) === true)
}

/**
 * A user value the retry loop needed (a getter of the failure, the `isFatal`
 * predicate, the retry schedule) broke while handling a failure: the task
 * cannot decide whether or when to retry, so it stops `Failed`, keeping both causes.
 */
export const brokenOutcome = (broken: Broken, failure: AttemptFailure): TaskOutcome.TaskOutcome<unknown> => {
  const error = Cause.failureOption(broken.cause).pipe(
    Option.orElse(() => Cause.dieOption(broken.cause)),
    Option.getOrElse(() => "interrupted")
  )
  return TaskOutcome.Failed({
    reason: `${broken.what} failed: ${describe(error)} (while handling: ${failure.reason})`,
    exitCode: failure.exitCode,
    cause: Cause.sequential(failure.cause, broken.cause)
  })
}

/** The outcome a failure ends its task with whatever its restart policy (it is fatal, or could not be read). */
export const terminalOutcome = (
  spec: Resolved,
  failure: AttemptFailure
): TaskOutcome.TaskOutcome<unknown> | undefined => {
  if (failure.unreadable !== undefined) return brokenOutcome(failure.unreadable, failure)
  if (!failure.typed) return undefined
  const fatal = isFatal(spec, failure.error)
  if (fatal === true) {
    return TaskOutcome.Fatal({ reason: failure.reason, exitCode: failure.exitCode, cause: failure.cause })
  }
  return fatal instanceof Broken ? brokenOutcome(fatal, failure) : undefined
}
