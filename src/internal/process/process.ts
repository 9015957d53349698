/** A process task's attempt: the command started once, its output pumped, its readiness and memory watched, its group stopped. */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type { Limits } from "../config/taskSpec.js"
import { ConfigError } from "../data/supervisorError.js"
import { describe } from "../data/taskError.js"
import { CurrentTask, grace, ready } from "../task/attemptControl.js"
import {
  type ProcessError,
  ProcessExited,
  ProcessMemoryExceeded,
  ProcessNotReady,
  ProcessSignaled,
  ProcessSpawnFailed
} from "./processError.js"
import * as Group from "./processGroup.js"
import { isRefusal, type Plan, type Refusal } from "./processOptions.js"
import { type Delivery, pump, settledPromise } from "./processOutput.js"

/**
 * The command as the plan runs it: its environment only what is inherited,
 * its own and the task's `env`; the task's `cwd` over its own; its output piped.
 */
const prepare = (plan: Plan): Command.Command => {
  const inherited: Record<string, string | undefined> = {}
  if (plan.inheritEnv !== true) {
    for (const name of plan.inheritEnv) inherited[name] = process.env[name]
  }
  const env = { ...inherited, ...Object.fromEntries(plan.command.env), ...plan.env }
  const command = Command.env(plan.command, env, { extendEnv: plan.inheritEnv === true }).pipe(
    Command.stdout("pipe"),
    Command.stderr("pipe")
  )
  return plan.cwd === undefined ? command : Command.workingDirectory(command, plan.cwd)
}

/** The executor's refusal to start the command, as the OS gave it. */
export const spawnFailed =
  (command: string, cwd: string | undefined) => (error: PlatformError.PlatformError): ProcessSpawnFailed => {
    const cause = error._tag === "SystemError" ? error.cause : undefined
    const code = Predicate.hasProperty(cause, "code") && typeof cause.code === "string"
      ? cause.code
      : error._tag === "SystemError"
      ? error.reason
      : "BadArgument"
    const inCwd = error._tag === "SystemError" && error.method === "access"
    return new ProcessSpawnFailed({
      reason: code,
      target: inCwd ? `command ${command} in working directory ${cwd}` : `command ${command}`,
      description: error._tag === "SystemError" ? error.description ?? error.message : error.message
    })
  }

/**
 * What Node's `spawn` threw where the executor does not catch it (a working
 * directory that is a file: `ENOTDIR`), as a spawn failure with its code;
 * any other defect stays one.
 */
const spawnThrew = (command: string, cwd: string | undefined) => (defect: unknown) =>
  Predicate.hasProperty(defect, "code") && typeof defect.code === "string"
    ? Effect.fail(
      new ProcessSpawnFailed({
        reason: defect.code,
        target: cwd === undefined ? `command ${command}` : `command ${command} in working directory ${cwd}`,
        description: describe(defect)
      })
    )
    : Effect.die(defect)

/**
 * The signal named by the executor's failure of `exitCode` for a process a
 * signal ended: @effect/platform-node gives it only in its description
 * (`Process interrupted due to receipt of signal: SIGKILL`), a form pinned
 * by test/EffectInternals.test.ts.
 */
export const signalOf = (error: PlatformError.PlatformError): string => {
  const description = error._tag === "SystemError" ? error.description ?? "" : error.message
  return /receipt of signal: (\S+)$/.exec(description)?.[1] ?? "an unknown signal"
}

/** A margin of the grace for what must come after a deadline: a tenth of it, at least 500 ms (at most half of it). */
export const marginOf = (grace: Duration.Duration): Duration.Duration =>
  Duration.min(Duration.max(Duration.times(grace, 0.1), Duration.millis(500)), Duration.times(grace, 0.5))

/**
 * How long the group has after SIGTERM: `killAfter`, leaving a margin of the
 * supervisor's grace for SIGKILL and the reaping of the group to fit in it.
 */
const killAfterOf = (plan: Plan): Effect.Effect<Duration.Duration> =>
  Effect.map(
    grace,
    (bound) =>
      bound === undefined ? plan.killAfter : Duration.min(plan.killAfter, Duration.subtract(bound, marginOf(bound)))
  )

/** Never ends by itself; fails once the group holds more than `maxRss` in a sample. */
const watchMemory = (plan: Plan, pid: number, limit: number): Effect.Effect<never, ProcessMemoryExceeded> =>
  Group.rss(pid).pipe(
    Effect.flatMap((rss) => rss > limit ? Effect.fail(new ProcessMemoryExceeded({ rss, limit, pid })) : Effect.void),
    Effect.repeat(Schedule.spaced(plan.sampleEvery)),
    Effect.zipRight(Effect.never)
  )

/** Marks the attempt ready once its condition holds; fails if `readyTimeout` passes before a line matches. */
const watchReadiness = (
  plan: Plan,
  pid: number,
  matched: Deferred.Deferred<void>
): Effect.Effect<never, ProcessNotReady> => {
  const becomeReady = plan.readyWhen === undefined
    ? Effect.sleep(plan.readyTimeout!)
    : plan.readyTimeout === undefined
    ? Deferred.await(matched)
    : Effect.timeoutFail(Deferred.await(matched), {
      duration: plan.readyTimeout,
      onTimeout: () => new ProcessNotReady({ timeout: plan.readyTimeout!, pid })
    })
  return Effect.zipRight(becomeReady, Effect.zipRight(ready, Effect.never))
}

/**
 * A `readyWhen` that matches completes `matched`; one that throws is
 * reported at Warning level and counts as no match.
 */
const readinessCheck = (plan: Plan, matched: Deferred.Deferred<void>) => (text: string): Effect.Effect<void> => {
  const readyWhen = plan.readyWhen
  if (readyWhen === undefined) return Effect.void
  return Effect.flatMap(Deferred.isDone(matched), (done) => {
    if (done) return Effect.void
    try {
      const answer: unknown = readyWhen(text)
      if (settledPromise(answer)) {
        return Effect.logWarning("readyWhen returned a Promise, not true or false; it counts as no match")
      }
      return answer === true ? Deferred.succeed(matched, undefined) : Effect.void
    } catch (error) {
      return Effect.logWarning("readyWhen threw on a line of the process; it counts as no match", error)
    }
  }).pipe(Effect.asVoid)
}

/** How the leader ended by itself: its exit code, or the signal that ended it (in the executor's failure). */
type Exit = Either.Either<CommandExecutor.ExitCode, PlatformError.PlatformError>

/**
 * How long the output is read on once the group is gone: its pipes close
 * with it, unless a process that left the group (`setsid`) holds them.
 */
const drainAtLeast = Duration.seconds(1)

/** The attempt's result: code 0 succeeds; another code, or a signal, fails. */
const ended = (pid: number, exit: Exit) =>
  Either.isLeft(exit)
    ? Effect.fail(new ProcessSignaled({ signal: signalOf(exit.left), pid }))
    : exit.right === 0
    ? Effect.void
    : Effect.fail(new ProcessExited({ exitCode: exit.right, pid }))

/**
 * The end of the child, however the attempt ends: every process left in
 * its group is stopped (SIGTERM, SIGKILL after `killAfter`), then its
 * output is read to the end, which comes once the group is gone (unless a
 * process that left the group holds its pipes: then at most `drainAtLeast`
 * or `killAfter` later, when the reading is interrupted; a sink that does
 * not let go is left after as long again).
 */
const close = (
  child: CommandExecutor.Process,
  pumps: Fiber.RuntimeFiber<void>,
  killAfter: Duration.Duration
): Effect.Effect<void> =>
  Group.stop(child, killAfter).pipe(
    // interruptible, for its deadline to end it in a finalizer
    Effect.zipRight(
      Effect.interruptible(Fiber.await(pumps)).pipe(Effect.timeout(Duration.max(killAfter, drainAtLeast)))
    ),
    Effect.ignore,
    // past it the reading is interrupted; awaited at most as long again, for a sink that does not let go
    Effect.zipRight(
      Effect.interruptible(Fiber.interrupt(pumps)).pipe(Effect.timeout(Duration.max(killAfter, drainAtLeast)))
    ),
    Effect.ignore
  )

/**
 * One attempt: the command is started once, in a process group of its own.
 * It succeeds when the process exits with code 0. However the attempt ends,
 * every process left in the group is stopped before it does, and what it
 * printed meanwhile is delivered.
 */
export const attempt = (name: string, plan: Plan): Effect.Effect<void, ProcessError, CommandExecutor.CommandExecutor> =>
  Effect.scoped(Effect.gen(function*() {
    const executor = yield* CommandExecutor.CommandExecutor
    const killAfter = yield* killAfterOf(plan)
    const command = prepare(plan)
    const cwd = Option.getOrUndefined((command as Command.StandardCommand).cwd)
    const task = (yield* CurrentTask).name || name
    const matched = yield* Deferred.make<void>()
    const delivery = (level: Plan["stdout"]): Delivery => ({
      task,
      onLine: plan.onLine,
      level,
      seen: readinessCheck(plan, matched)
    })
    // the output is read by a fiber of its own, which the attempt's interruption does not end: what the child
    // prints while it stops is delivered too. The child's end is registered with its start, before an interruption
    // can come between them, and runs before the executor's own release (SIGTERM only, then a wait without end).
    const { child, pumps } = yield* executor.start(command).pipe(
      Effect.mapError(spawnFailed(plan.command.command, cwd)),
      Effect.catchAllDefect(spawnThrew(plan.command.command, cwd)),
      Effect.flatMap((child) =>
        // interruptible, though forked where nothing may interrupt: `close` ends it past its deadline
        Effect.forkDaemon(Effect.interruptible(Effect.all([
          pump(child.stdout, "stdout", child.pid, plan.maxLineLength, delivery(plan.stdout)),
          pump(child.stderr, "stderr", child.pid, plan.maxLineLength, delivery(plan.stderr))
        ], { concurrency: 2, discard: true }))).pipe(
          Effect.tap((pumps) => Effect.addFinalizer(() => close(child, pumps, killAfter))),
          Effect.map((pumps) => ({ child, pumps }))
        )
      ),
      Effect.uninterruptible
    )
    const pid = child.pid
    const watchers: Array<Effect.Effect<never, ProcessNotReady | ProcessMemoryExceeded>> = []
    if (plan.readyWhen !== undefined || plan.readyTimeout !== undefined) {
      watchers.push(watchReadiness(plan, pid, matched))
    }
    if (plan.maxRss !== undefined) watchers.push(watchMemory(plan, pid, plan.maxRss))
    const exit = yield* watchers.reduce<Effect.Effect<Exit, ProcessNotReady | ProcessMemoryExceeded>>(
      (first, watcher) => Effect.raceFirst(first, watcher),
      Effect.either(child.exitCode)
    )
    // the leader is gone: what it left in its group is stopped, and its output read to the end, before its result
    yield* close(child, pumps, killAfter)
    return yield* ended(pid, exit)
  }))

/** What a refused plan's attempt does if it is run outside a supervisor (a supervisor refuses it at admission). */
export const refused = (refusal: Refusal): Effect.Effect<never> =>
  Effect.die(new ConfigError({ field: refusal.field, reason: refusal.reason }))

/** The effect of a process task's spec: one attempt of its plan. */
export const effectOf = (
  name: string,
  plan: Plan | Refusal
): Effect.Effect<void, ProcessError, CommandExecutor.CommandExecutor> =>
  isRefusal(plan) ? refused(plan) : attempt(name, plan)

/**
 * Its `isFatal`: a code of `fatalExitCodes`, a spawn failure unless
 * `spawnFailure` is `"retry"`, then the task's own predicate (guarded by the
 * supervisor as any `isFatal`).
 */
export const isFatalOf = (
  plan: Plan | Refusal,
  own: ((error: ProcessError) => boolean) | undefined
) =>
(error: ProcessError): boolean => {
  if (!isRefusal(plan)) {
    if (error._tag === "ProcessExited" && plan.fatalExitCodes.has(error.exitCode)) return true
    if (error._tag === "ProcessSpawnFailed" && plan.spawnFailureIsFatal) return true
  }
  return own !== undefined && own(error) === true
}

/**
 * The check its spec runs at admission: the refusal of one of its options,
 * or of its plan against the supervisor's `limits`, named as a field of the task.
 */
export const checkOf =
  <P>(plan: P | Refusal, against?: (plan: P, limits: Limits) => Refusal | undefined) =>
  (field: (name: string) => string, limits: Limits): ConfigError | undefined => {
    const refusal = isRefusal(plan) ? plan : against?.(plan, limits)
    return refusal === undefined ? undefined : new ConfigError({ field: field(refusal.field), reason: refusal.reason })
  }

/** Whether its attempts start `Starting`: with `readyWhen` or `readyTimeout`. */
export const awaitsReady = (plan: Plan | Refusal): boolean =>
  !isRefusal(plan) && (plan.readyWhen !== undefined || plan.readyTimeout !== undefined)
