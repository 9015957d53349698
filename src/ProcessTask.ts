/**
 * Child processes as tasks: `ProcessTask.make(name, command, options)` is an
 * ordinary `TaskSpec` whose attempts each start an `@effect/platform`
 * `Command` once, so a worker binary, a tunnel or an ffmpeg pipeline
 * restarts, backs off, times out, stops gracefully and reports like any
 * other task. It needs a `CommandExecutor` (`NodeContext.layer` of
 * `@effect/platform-node`).
 *
 * - **Exit.** Code 0 succeeds the attempt; another code fails it with
 *   `ProcessExited` (retryable; its `exitCode` is carried to `AttemptFailed`
 *   and the outcome); `fatalExitCodes` end the task `Fatal`, as does the
 *   task's `isFatal`. Death by a signal fails it with `ProcessSignaled`.
 * - **Spawn.** A command not found, a working directory missing, a file not
 *   executable: `ProcessSpawnFailed` with the OS's reason (`ENOENT`,
 *   `EACCES`), `Fatal` unless `spawnFailure: "retry"`.
 * - **Environment.** The child sees only `PATH` of the supervisor's
 *   environment (`inheritEnv`: `true` passes all of it, `false` none, or a
 *   list of names), then the command's own `env`, then `env`. `cwd`
 *   replaces the command's working directory. Both are read at each start.
 * - **Output.** Lines of stdout go to the logger at `Info`, of stderr at
 *   `Warning` (`stdout` / `stderr` choose the level, or `"ignore"`),
 *   annotated with `task`, `stream` and `pid`; with `onLine`, they go to it
 *   instead (a stream set to `"ignore"` is dropped for it too). A last line
 *   without a newline is delivered when the stream ends; a line longer than
 *   `maxLineLength` characters (64 Ki by default) is delivered in pieces,
 *   each but the last marked `continues`, and the buffer never holds more
 *   than that. `onLine` is called in order and holds the output back while
 *   it runs; one that throws, fails or dies loses that line, is logged at
 *   `Warning`, and gets the next one. Output is read as UTF-8, a `\r` before
 *   a newline dropped; lines the child prints while it is being stopped are
 *   delivered before the attempt ends. Its stdin is as the command sets it
 *   (by default a pipe nothing is written to).
 * - **Readiness.** With `readyWhen` (a `RegExp` or a predicate on a line of
 *   either stream) the attempt is `Starting` until a line matches, and fails
 *   `ProcessNotReady` if `readyTimeout` passes first; with `readyTimeout`
 *   alone it is ready once the process has run that long. A predicate
 *   matches when it returns `true` (not any truthy value); one that throws,
 *   or returns a Promise, is logged and counts as no match. A process that exits before it
 *   is ready ends its attempt as any exit does.
 * - **Stop.** The child leads a process group of its own. When the attempt
 *   is interrupted (stop, timeout, restart, shutdown), the group gets
 *   SIGTERM, then SIGKILL after `killAfter` (5 seconds by default, at most
 *   the supervisor's grace less a margin for SIGKILL: a tenth of the grace,
 *   at least 500 ms, at most half of it), and the attempt ends once no
 *   process of the group is left. When the child exits by itself, what it left in its
 *   group (its own children) is stopped the same way before the attempt ends.
 *   A process that leaves the group (`setsid`, a daemon's double fork) is
 *   not followed.
 * - **Memory.** With `maxRss` (bytes), the resident memory of the group is
 *   sampled every `sampleEvery` (1 second by default; `/proc` on Linux, `ps`
 *   elsewhere) and the attempt fails with `ProcessMemoryExceeded` once a
 *   sample is over it (retryable, as pm2's `max_memory_restart`).
 * - **Checked at `add`.** An invalid option, or a pipeline of commands (run
 *   it through a shell instead), refuses the task where it is added, with a
 *   `ConfigError` naming the option of the task.
 *
 * @since 0.1.0
 */
import type * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as specs from "./internal/config/taskSpec.js"
import * as internal from "./internal/process/process.js"
import * as errors from "./internal/process/processError.js"
import * as options_ from "./internal/process/processOptions.js"
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
   * The process exited by itself with a code other than 0 (retryable unless
   * in `fatalExitCodes`); its `exitCode` goes to the events and the outcome.
   *
   * @since 0.1.0
   * @category Errors
   */
  ProcessExited,
  /**
   * The resident memory of the process's group went over `maxRss` (retryable).
   *
   * @since 0.1.0
   * @category Errors
   */
  ProcessMemoryExceeded,
  /**
   * No line matched `readyWhen` within `readyTimeout` (retryable).
   *
   * @since 0.1.0
   * @category Errors
   */
  ProcessNotReady,
  /**
   * The process was ended by a signal it did not handle, which `signal`
   * names (retryable).
   *
   * @since 0.1.0
   * @category Errors
   */
  ProcessSignaled,
  /**
   * The OS refused to start the process: `reason` is its code (`ENOENT`,
   * `EACCES`); `Fatal` unless `spawnFailure` is `"retry"`.
   *
   * @since 0.1.0
   * @category Errors
   */
  ProcessSpawnFailed
} from "./internal/process/processError.js"

/**
 * Any failure of a process task's attempt.
 *
 * @since 0.1.0
 * @category Errors
 */
export type ProcessError = errors.ProcessError

/**
 * Whether a value is one of the errors of this module.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isProcessError: (u: unknown) => u is ProcessError = errors.isProcessError

/**
 * A line of the process's output as `onLine` receives it: its stream, its
 * text (without the newline), the process's pid, and whether it `continues`
 * in the next piece (a line longer than `maxLineLength`).
 *
 * @since 0.1.0
 * @category Models
 */
export type Line = options_.Line

/**
 * The options of a process task: those of any task (`TaskSpec.Options`), and
 * - `fatalExitCodes`: exit codes (1 to 255) that end the task `Fatal`;
 * - `spawnFailure`: `"fatal"` (default) or `"retry"`;
 * - `env`, `cwd`, `inheritEnv` (default `["PATH"]`);
 * - `stdout` (default `"Info"`), `stderr` (default `"Warning"`): a log level
 *   or `"ignore"`; `onLine`: a sink instead of the logger; `maxLineLength`
 *   (default 65,536 characters);
 * - `readyWhen`, `readyTimeout`;
 * - `killAfter` (default 5 seconds);
 * - `maxRss` (bytes), `sampleEvery` (default 1 second).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options extends TaskSpec.Options<ProcessError>, options_.ProcessOptions {}

/**
 * A task whose attempts each run `command` once, in a process group of its
 * own. Its settings inherit the supervisor defaults as `TaskSpec.make`'s do;
 * its options are checked when it is added.
 *
 * @example
 * ```ts
 * import { Command } from "@effect/platform"
 * import { BackoffPolicy, ProcessTask, RestartPolicy } from "effect-taskvisor"
 *
 * // a server restarted when it crashes, ready once it says so
 * const server = ProcessTask.make("api", Command.make("node", "server.mjs"), {
 *   restart: RestartPolicy.onFailure,
 *   backoff: BackoffPolicy.exponential("1 second"),
 *   env: { PORT: "8080" },
 *   readyWhen: /listening on/,
 *   readyTimeout: "10 seconds",
 *   killAfter: "3 seconds",
 *   maxRss: 512 * 1024 * 1024
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  name: string,
  command: Command.Command,
  options?: Options
): TaskSpec.TaskSpec<ProcessError, CommandExecutor.CommandExecutor> => {
  const plan = options_.check(command, options ?? {})
  return specs.update(
    TaskSpec.make(name, internal.effectOf(name, plan), {
      ...options,
      isFatal: internal.isFatalOf(plan, options?.isFatal)
    }),
    { awaitsReady: internal.awaitsReady(plan), check: internal.checkOf(plan) }
  )
}
