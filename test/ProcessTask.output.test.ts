/**
 * A process task's output and readiness, with real child processes: lines
 * to the logger (level per stream, annotated task, stream and pid) or to
 * `onLine` (guarded), a last line without a newline, a huge line split and
 * marked; `readyWhen` holds the attempt `Starting` until a line matches,
 * `readyTimeout` fails it or, alone, makes it ready.
 */
import * as Command from "@effect/platform/Command"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ProcessTask from "../src/ProcessTask.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type * as TaskOutcome from "../src/TaskOutcome.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { ofTag } from "./utils/events.js"
import { has, node, processSupervisor } from "./utils/process.js"

interface Logged {
  readonly level: string
  /** The cause logged with the message, as `Cause.pretty` prints it ("" for none). */
  readonly cause: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

/** A logger that keeps what is logged, to provide around `add` (attempts run with their caller's fiber refs). */
const keeping = () => {
  const logged: Array<Logged> = []
  const logger = Logger.make<unknown, void>(({ annotations, cause, logLevel, message }) =>
    void logged.push({
      level: logLevel.label,
      cause: Cause.isEmpty(cause) ? "" : Cause.pretty(cause),
      message: Array.isArray(message) && message.length === 1 ? message[0] : message,
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  )
  return { logged, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const once = { restart: RestartPolicy.never } as const

describe("ProcessTask output", () => {
  it.scopedLive("lines go to the logger at Info (stdout) and Warning (stderr), annotated, the last one without a newline too", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const { layer, logged } = keeping()
      const handle = yield* add(ProcessTask.make("logged", node("output.mjs", "10"), once)).pipe(Effect.provide(layer))
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      const lines = logged.filter((entry) => entry.annotations.stream !== undefined)
      const pid = lines[0].annotations.pid
      assert.isNumber(pid)
      const stdout = lines.filter((entry) => entry.annotations.stream === "stdout")
      assert.deepStrictEqual(stdout.map((entry) => [entry.level, entry.message]), [
        ["INFO", "first line"],
        ["INFO", "x".repeat(10)],
        ["INFO", "no newline at the end"]
      ])
      const stderr = lines.filter((entry) => entry.annotations.stream === "stderr")
      assert.deepStrictEqual(stderr.map((entry) => [entry.level, entry.message]), [["WARN", "a warning"]])
      for (const entry of lines) {
        assert.strictEqual(entry.annotations.task, "logged")
        assert.strictEqual(entry.annotations.pid, pid)
      }
    }))

  it.scopedLive("stdout and stderr choose the level, or ignore the stream", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const { layer, logged } = keeping()
      const handle = yield* add(
        ProcessTask.make("levels", node("output.mjs", "10"), { ...once, stdout: "Debug", stderr: "ignore" })
      ).pipe(Effect.provide(layer), Effect.provide(Logger.minimumLogLevel(LogLevel.Debug)))
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      const lines = logged.filter((entry) => entry.annotations.stream !== undefined)
      assert.deepStrictEqual(lines.map((entry) => [entry.level, entry.annotations.stream]), [
        ["DEBUG", "stdout"],
        ["DEBUG", "stdout"],
        ["DEBUG", "stdout"]
      ])
    }))

  it.scopedLive("onLine gets every line instead of the logger; a line longer than maxLineLength comes in marked pieces", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const { layer, logged } = keeping()
      const lines: Array<ProcessTask.Line> = []
      const handle = yield* add(ProcessTask.make("sink", node("output.mjs", "200000"), {
        ...once,
        onLine: (line) => Effect.sync(() => void lines.push(line))
      })).pipe(Effect.provide(layer))
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      assert.isEmpty(logged.filter((entry) => entry.annotations.stream !== undefined))
      const stdout = lines.filter((line) => line.stream === "stdout")
      assert.deepStrictEqual(stdout.map((line) => [line.text.length, line.continues]), [
        ["first line".length, false],
        [65536, true],
        [65536, true],
        [65536, true],
        [200000 - 3 * 65536, false],
        ["no newline at the end".length, false]
      ])
      assert.strictEqual(stdout.slice(1, 5).map((line) => line.text).join(""), "x".repeat(200000))
      assert.deepStrictEqual(lines.filter((line) => line.stream === "stderr").map((line) => line.text), ["a warning"])
      assert.isTrue(lines.every((line) => line.pid === lines[0].pid))
    }))

  it.scopedLive("a line without a newline is cut at maxLineLength as it comes, the rest delivered at the end", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const lines: Array<ProcessTask.Line> = []
      const command = node("output.mjs", "0")
      const handle = yield* add(ProcessTask.make("small", command, {
        ...once,
        maxLineLength: 4,
        stderr: "ignore",
        onLine: (line) => Effect.sync(() => void lines.push(line))
      }))
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      assert.deepStrictEqual(lines.map((line) => [line.text, line.continues]), [
        ["firs", true],
        ["t li", true],
        ["ne", false],
        ["", false],
        ["no n", true],
        ["ewli", true],
        ["ne a", true],
        ["t th", true],
        ["e en", true],
        ["d", false]
      ])
    }))

  it.scopedLive("an onLine that throws, fails or dies loses its line, is reported, and the task goes on", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const { layer, logged } = keeping()
      const kept: Array<string> = []
      let calls = 0
      const handle = yield* add(ProcessTask.make("faulty", node("output.mjs", "10"), {
        ...once,
        onLine: (line) => {
          calls++
          if (calls === 1) throw new Error("sink threw")
          if (calls === 2) return Effect.fail("sink failed") as unknown as Effect.Effect<void>
          if (calls === 3) return Effect.die("sink died")
          return Effect.sync(() => void kept.push(line.text))
        }
      })).pipe(Effect.provide(layer))
      assert.strictEqual((yield* outcome(handle))._tag, "Completed")
      assert.strictEqual(calls, 4)
      assert.lengthOf(kept, 1)
      const reports = logged.filter((entry) => String(entry.message).startsWith("onLine failed"))
      assert.lengthOf(reports, 3)
      assert.isTrue(reports.every((entry) => entry.level === "WARN" && entry.annotations.task === "faulty"))
    }))
})

describe("ProcessTask output, sinks that misbehave", () => {
  const sh = (script: string) => Command.make("sh", "-c", script)
  const within = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.timeoutFail(effect, { duration: "10 seconds", onTimeout: () => new Error("no outcome within 10 s") })

  it.scopedLive("an onLine that never returns holds neither the attempt's end nor its stop past the output's deadline", () =>
    Effect.gen(function*() {
      const { add, outcome, provide } = yield* processSupervisor({ grace: "5 seconds" })
      const stuck = { ...once, onLine: () => Effect.never, killAfter: "500 millis" } as const
      const ended = yield* add(ProcessTask.make("ended", sh("echo 1"), stuck))
      assert.strictEqual((yield* within(outcome(ended)))._tag, "Completed")
      const stopped = yield* add(ProcessTask.make("stopped", sh("echo 1; sleep 30"), stuck))
      yield* Effect.sleep("200 millis")
      yield* provide(TaskSupervisor.remove("stopped"))
      // within the grace: Canceled, not ForceAborted
      assert.strictEqual((yield* within(outcome(stopped)))._tag, "Canceled")
    }))

  it.scopedLive("an onLine or a readyWhen that returns a Promise (an async function) is reported, and nothing crashes", () =>
    Effect.gen(function*() {
      const { add, outcome } = yield* processSupervisor()
      const { layer, logged } = keeping()
      const rejecting = yield* add(ProcessTask.make("rejecting", sh("echo 1; echo 2"), {
        ...once,
        onLine: (() => Promise.reject(new Error("rejected"))) as unknown as () => Effect.Effect<void>
      })).pipe(Effect.provide(layer))
      assert.strictEqual((yield* within(outcome(rejecting)))._tag, "Completed")
      const reports = logged.filter((entry) => String(entry.message).startsWith("onLine failed"))
      assert.lengthOf(reports, 2)
      assert.isTrue(
        reports.every((entry) => entry.cause.includes("onLine returned a Promise, not an Effect")),
        reports.map((entry) => entry.cause).join("\n")
      )
      const asyncReady = yield* add(ProcessTask.make("async-ready", sh("echo up; sleep 5"), {
        ...once,
        readyWhen: (async () => {
          throw new Error("rejected")
        }) as unknown as (line: string) => boolean,
        readyTimeout: "500 millis"
      })).pipe(Effect.provide(layer))
      const notReady = yield* within(outcome(asyncReady))
      assert.strictEqual(notReady._tag, "Failed")
      assert.isTrue(logged.some((entry) => String(entry.message).startsWith("readyWhen returned a Promise")))
    }))
})

describe("ProcessTask readiness", () => {
  it.scopedLive("with readyWhen the attempt is Starting until a line matches, then Running", () =>
    Effect.gen(function*() {
      const { add, outcome, provide, until } = yield* processSupervisor()
      const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskvisor-ready-")), "go")
      const booting = yield* Deferred.make<void>()
      const handle = yield* add(ProcessTask.make("server", node("ready.mjs", file), {
        ...once,
        readyWhen: /listening on \d+/g,
        onLine: (line) => line.text === "booting" ? Deferred.succeed(booting, undefined) : Effect.void
      }))
      yield* Deferred.await(booting).pipe(Effect.timeout("10 seconds"))
      const state = () =>
        provide(TaskSupervisor.list).pipe(Effect.map((rows) => rows.find((row) => row.name === "server")?.state))
      assert.strictEqual(yield* state(), "Starting")
      Fs.writeFileSync(file, "")
      yield* until("AttemptReady", (events) => has(events, "AttemptReady", "server"))
      assert.strictEqual(yield* state(), "Running")
      yield* provide(TaskSupervisor.remove("server"))
      assert.strictEqual((yield* outcome(handle))._tag, "Canceled")
    }))

  it.scopedLive("readyTimeout fails the attempt with ProcessNotReady when no line matches in time", () =>
    Effect.gen(function*() {
      const { add, events, outcome } = yield* processSupervisor()
      const handle = yield* add(ProcessTask.make("never-ready", node("stubborn.mjs", "0"), {
        ...once,
        readyWhen: () => false,
        readyTimeout: "200 millis"
      }))
      const ended = yield* outcome(handle)
      assert.strictEqual(ended._tag, "Failed")
      const error = Option.getOrUndefined(
        Cause.failureOption((ended as Extract<TaskOutcome.TaskOutcome<unknown>, { _tag: "Failed" }>).cause)
      )
      assert.instanceOf(error, ProcessTask.ProcessNotReady)
      assert.match(ofTag(events, "AttemptFailed", "never-ready")[0].reason, /not ready within 200ms/)
      assert.isFalse(has(events, "AttemptReady", "never-ready"))
    }))

  it.scopedLive("readyTimeout alone makes the attempt ready once the process has run that long", () =>
    Effect.gen(function*() {
      const { add, events, provide, until } = yield* processSupervisor()
      yield* add(ProcessTask.make("warmup", node("stubborn.mjs", "0"), { ...once, readyTimeout: "150 millis" }))
      yield* until("AttemptReady", (events) => has(events, "AttemptReady", "warmup"))
      // not before: it became ready by the time, not at once
      assert.isAtLeast(Duration.toMillis(ofTag(events, "AttemptReady", "warmup")[0].duration), 149)
      yield* provide(TaskSupervisor.remove("warmup"))
    }))
})
