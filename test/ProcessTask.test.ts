/**
 * A process task's attempt and its end, with real child processes: exit
 * codes (0 succeeds, another is a retryable failure carrying its code,
 * `fatalExitCodes` and `isFatal` end the task `Fatal`), death by a signal,
 * the OS refusing to start it, its environment and working directory, and
 * its options refused at `add`.
 */
import * as Command from "@effect/platform/Command"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as ProcessTask from "../src/ProcessTask.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type * as TaskOutcome from "../src/TaskOutcome.js"
import { ofTag } from "./utils/events.js"
import { node, processSupervisor } from "./utils/process.js"

const retryFast = { restart: RestartPolicy.onFailure, backoff: BackoffPolicy.constant("10 millis") } as const

/** The typed failure the outcome's cause holds. */
const errorOf = (outcome: TaskOutcome.TaskOutcome<ProcessTask.ProcessError>): unknown => {
  const ended = outcome as Extract<TaskOutcome.TaskOutcome<ProcessTask.ProcessError>, { _tag: "Failed" | "Fatal" }>
  assert.oneOf(ended._tag, ["Failed", "Fatal"], `outcome ${outcome._tag}`)
  return Option.getOrUndefined(Cause.failureOption(ended.cause))
}

describe("ProcessTask exit", () => {
  it.scopedLive("exit code 0 succeeds the attempt", () =>
    Effect.gen(function*() {
      const { add, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(ProcessTask.make("zero", node("exit.mjs", "0"), { restart: RestartPolicy.never }))
      assert.strictEqual((yield* outcomeOf(handle))._tag, "Completed")
    }))

  it.scopedLive("a non-zero code is retried, and its exitCode is in AttemptFailed and the outcome", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(ProcessTask.make("three", node("exit.mjs", "3"), { ...retryFast, maxRetries: 1 }))
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Failed")
      assert.strictEqual((outcome as TaskOutcome.TaskOutcome<never> & { _tag: "Failed" }).exitCode, 3)
      const failed = ofTag(events, "AttemptFailed", "three")
      assert.deepStrictEqual(failed.map((e) => e.exitCode), [3, 3])
      const error = errorOf(outcome)
      assert.instanceOf(error, ProcessTask.ProcessExited)
      assert.strictEqual((error as ProcessTask.ProcessExited).exitCode, 3)
      assert.match(failed[0].reason, /exited with code 3/)
    }))

  it.scopedLive("a code of fatalExitCodes ends the task Fatal on its first failure", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        ProcessTask.make("fatal", node("exit.mjs", "78"), { ...retryFast, maxRetries: 5, fatalExitCodes: [64, 78] })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Fatal")
      assert.strictEqual((outcome as TaskOutcome.TaskOutcome<never> & { _tag: "Fatal" }).exitCode, 78)
      assert.lengthOf(ofTag(events, "AttemptStarting", "fatal"), 1)
    }))

  it.scopedLive("isFatal decides too, beside fatalExitCodes; one that throws does not take the supervisor down", () =>
    Effect.gen(function*() {
      const { add, outcome: outcomeOf } = yield* processSupervisor()
      const byPredicate = yield* add(ProcessTask.make("predicate", node("exit.mjs", "5"), {
        ...retryFast,
        maxRetries: 5,
        fatalExitCodes: [64],
        isFatal: (error) => error._tag === "ProcessExited" && error.exitCode === 5
      }))
      assert.strictEqual((yield* outcomeOf(byPredicate))._tag, "Fatal")
      const throwing = yield* add(ProcessTask.make("throwing", node("exit.mjs", "5"), {
        ...retryFast,
        maxRetries: 5,
        fatalExitCodes: [5],
        isFatal: () => {
          throw new Error("boom")
        }
      }))
      // fatalExitCodes is read before the task's predicate, which is not reached
      assert.strictEqual((yield* outcomeOf(throwing))._tag, "Fatal")
      const broken = yield* add(ProcessTask.make("broken", node("exit.mjs", "6"), {
        ...retryFast,
        isFatal: () => {
          throw new Error("boom")
        }
      }))
      const outcome = yield* outcomeOf(broken)
      assert.strictEqual(outcome._tag, "Failed")
      assert.match((outcome as TaskOutcome.TaskOutcome<never> & { _tag: "Failed" }).reason, /isFatal failed: boom/)
    }))

  it.scopedLive("death by a signal is a retryable failure naming the signal", () =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(
        ProcessTask.make("signaled", Command.make("sh", "-c", "kill -TERM $$"), { ...retryFast, maxRetries: 1 })
      )
      const outcome = yield* outcomeOf(handle)
      assert.strictEqual(outcome._tag, "Failed")
      const error = errorOf(outcome)
      assert.instanceOf(error, ProcessTask.ProcessSignaled)
      assert.strictEqual((error as ProcessTask.ProcessSignaled).signal, "SIGTERM")
      assert.lengthOf(ofTag(events, "AttemptFailed", "signaled"), 2)
      assert.match(ofTag(events, "AttemptFailed", "signaled")[0].reason, /killed by SIGTERM/)
    }))
})

describe("ProcessTask spawn failures", () => {
  const scratch = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskvisor-process-"))
  const notExecutable = Path.join(scratch, "not-executable.sh")
  Fs.writeFileSync(notExecutable, "#!/bin/sh\nexit 0\n", { mode: 0o644 })

  const refused = (
    name: string,
    command: Command.Command,
    options: ProcessTask.Options = {}
  ) =>
    Effect.gen(function*() {
      const { add, events, outcome: outcomeOf } = yield* processSupervisor()
      const handle = yield* add(ProcessTask.make(name, command, { ...retryFast, maxRetries: 2, ...options }))
      const outcome = yield* outcomeOf(handle)
      return { outcome, error: errorOf(outcome) as ProcessTask.ProcessSpawnFailed, events }
    })

  it.scopedLive("a command not found is Fatal with ENOENT", () =>
    Effect.gen(function*() {
      const { error, outcome } = yield* refused("missing", Command.make("no-such-command-taskvisor"))
      assert.strictEqual(outcome._tag, "Fatal")
      assert.instanceOf(error, ProcessTask.ProcessSpawnFailed)
      assert.strictEqual(error.reason, "ENOENT")
      assert.match(error.message, /no-such-command-taskvisor/)
    }))

  it.scopedLive("a working directory that does not exist is Fatal with ENOENT, naming it", () =>
    Effect.gen(function*() {
      const missing = Path.join(scratch, "missing")
      const { error, outcome } = yield* refused("nocwd", node("exit.mjs", "0"), { cwd: missing })
      assert.strictEqual(outcome._tag, "Fatal")
      assert.strictEqual(error.reason, "ENOENT")
      assert.include(error.message, `working directory ${missing}`)
    }))

  it.scopedLive("a working directory that is a file is Fatal with ENOTDIR, naming it", () =>
    Effect.gen(function*() {
      const { error, outcome } = yield* refused("filecwd", node("exit.mjs", "0"), { cwd: notExecutable })
      assert.strictEqual(outcome._tag, "Fatal")
      assert.instanceOf(error, ProcessTask.ProcessSpawnFailed)
      assert.strictEqual(error.reason, "ENOTDIR")
      assert.include(error.message, `working directory ${notExecutable}`)
    }))

  it.scopedLive("a file that is not executable is Fatal with EACCES", () =>
    Effect.gen(function*() {
      const { error, outcome } = yield* refused("noexec", Command.make(notExecutable))
      assert.strictEqual(outcome._tag, "Fatal")
      assert.strictEqual(error.reason, "EACCES")
    }))

  it.scopedLive("spawnFailure: retry makes it a retryable failure", () =>
    Effect.gen(function*() {
      const { events, outcome } = yield* refused("retried", Command.make("no-such-command-taskvisor"), {
        spawnFailure: "retry"
      })
      assert.strictEqual(outcome._tag, "Failed")
      assert.lengthOf(ofTag(events, "AttemptFailed", "retried"), 3)
    }))
})

describe("ProcessTask environment", () => {
  /** What the env.mjs fixture printed, as the task's onLine received it. */
  const envOf = (options: ProcessTask.Options, command = node("env.mjs")) =>
    Effect.gen(function*() {
      const { add, outcome: outcomeOf } = yield* processSupervisor()
      const lines: Array<string> = []
      const handle = yield* add(ProcessTask.make("env", command, {
        restart: RestartPolicy.never,
        ...options,
        onLine: (line) => Effect.sync(() => void lines.push(line.text))
      }))
      assert.strictEqual((yield* outcomeOf(handle))._tag, "Completed")
      return JSON.parse(lines.join("")) as { env: Record<string, string>; cwd: string }
    })

  it.scopedLive("only PATH of the supervisor's environment is passed by default, then the command's env and env", () =>
    Effect.gen(function*() {
      process.env.TASKVISOR_SECRET = "leaked"
      yield* Effect.addFinalizer(() => Effect.sync(() => delete process.env.TASKVISOR_SECRET))
      const command = Command.env(node("env.mjs"), { FROM_COMMAND: "c", BOTH: "command" })
      const { env } = yield* envOf({ env: { FROM_TASK: "t", BOTH: "task" } }, command)
      assert.deepStrictEqual(env, { PATH: process.env.PATH!, FROM_COMMAND: "c", FROM_TASK: "t", BOTH: "task" })
    }))

  it.scopedLive("inheritEnv: a list of names, true for all, false for none", () =>
    Effect.gen(function*() {
      process.env.TASKVISOR_SHARED = "shared"
      yield* Effect.addFinalizer(() => Effect.sync(() => delete process.env.TASKVISOR_SHARED))
      assert.deepStrictEqual((yield* envOf({ inheritEnv: ["TASKVISOR_SHARED"] })).env, { TASKVISOR_SHARED: "shared" })
      assert.strictEqual((yield* envOf({ inheritEnv: true })).env.TASKVISOR_SHARED, "shared")
      // node is started by its absolute path: no PATH needed
      assert.deepStrictEqual((yield* envOf({ inheritEnv: false, env: { ONLY: "1" } })).env, { ONLY: "1" })
    }))

  it.scopedLive("cwd sets the working directory, over the command's own", () =>
    Effect.gen(function*() {
      const dir = Fs.realpathSync(Os.tmpdir())
      const { cwd } = yield* envOf({ cwd: dir }, Command.workingDirectory(node("env.mjs"), "/"))
      assert.strictEqual(cwd, dir)
    }))
})

describe("ProcessTask options are checked at add", () => {
  const cases: ReadonlyArray<readonly [string, ProcessTask.Options, RegExp]> = [
    ["fatalExitCodes", { fatalExitCodes: [0] }, /0 is success/],
    ["spawnFailure", { spawnFailure: "maybe" as any }, /"fatal" or "retry"/],
    ["env", { env: { A: 1 as any } }, /string values/],
    ["cwd", { cwd: "" }, /non-empty/],
    ["cwd", { cwd: "/tmp\0x" }, /no NUL/],
    ["env", { env: { X: "a\0b" } }, /no NUL/],
    ["env", { env: { "A=B": "c" } }, /no "="/],
    ["env", { env: { "": "c" } }, /non-empty/],
    ["inheritEnv", { inheritEnv: "PATH" as any }, /array of variable names/],
    ["stdout", { stdout: "Loud" as any }, /log level/],
    ["onLine", { onLine: "console" as any }, /function/],
    ["maxLineLength", { maxLineLength: 0 }, /greater than zero/],
    ["readyWhen", { readyWhen: "listening" as any }, /RegExp or a predicate/],
    ["readyTimeout", { readyTimeout: "soon" as any }, /duration/],
    ["killAfter", { killAfter: -1 }, /negative/],
    ["maxRss", { maxRss: 1.5 }, /whole number of bytes/],
    ["sampleEvery", { sampleEvery: 0 }, /greater than zero/]
  ]
  it.scopedLive("each bad option refuses the task with a ConfigError naming it; nothing is started", () =>
    Effect.gen(function*() {
      const { add, events } = yield* processSupervisor()
      for (const [field, options, reason] of cases) {
        const error = yield* Effect.flip(add(ProcessTask.make("bad", node("exit.mjs", "0"), options)))
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual((error as { field: string }).field, `${field} of task 'bad'`)
        assert.match(error.message, reason)
      }
      const piped = yield* Effect.flip(
        add(ProcessTask.make("piped", Command.pipeTo(node("exit.mjs"), node("exit.mjs"))))
      )
      assert.strictEqual((piped as { field: string }).field, "command of task 'piped'")
      const nul = yield* Effect.flip(add(ProcessTask.make("nul", Command.make("echo", "a\0b"))))
      assert.strictEqual((nul as { field: string }).field, "command of task 'nul'")
      assert.match(nul.message, /NUL/)
      assert.lengthOf(ofTag(events, "AttemptStarting"), 0)
    }))
})
