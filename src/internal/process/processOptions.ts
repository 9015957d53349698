/** A process task's options, as given and as checked once when the spec is made (refused at admission). */
import type * as Command from "@effect/platform/Command"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Predicate from "effect/Predicate"
import { decodeDuration } from "../config/validate.js"

/** One line of a process's output, or one piece of a line longer than `maxLineLength`. */
export interface Line {
  readonly stream: "stdout" | "stderr"
  readonly text: string
  readonly pid: number
  /** Whether the line goes on in the next piece (it was longer than `maxLineLength`). */
  readonly continues: boolean
}

/** Where a stream's lines go: logged at a level, or dropped. */
export type Output = LogLevel.Literal | "ignore"

/** The options of a process task besides those of any task. */
export interface ProcessOptions {
  readonly fatalExitCodes?: ReadonlyArray<number> | undefined
  readonly spawnFailure?: "fatal" | "retry" | undefined
  readonly env?: Record<string, string> | undefined
  readonly cwd?: string | undefined
  readonly inheritEnv?: boolean | ReadonlyArray<string> | undefined
  readonly stdout?: Output | undefined
  readonly stderr?: Output | undefined
  readonly onLine?: ((line: Line) => Effect.Effect<void>) | undefined
  readonly maxLineLength?: number | undefined
  readonly readyWhen?: RegExp | ((line: string) => boolean) | undefined
  readonly readyTimeout?: Duration.DurationInput | undefined
  readonly killAfter?: Duration.DurationInput | undefined
  readonly maxRss?: number | undefined
  readonly sampleEvery?: Duration.DurationInput | undefined
}

/** A process task's options, checked, with their defaults. */
export interface Plan {
  readonly command: Command.StandardCommand
  readonly fatalExitCodes: ReadonlySet<number>
  readonly spawnFailureIsFatal: boolean
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string | undefined
  /** `true`: all of the supervisor's environment; otherwise the names passed on. */
  readonly inheritEnv: true | ReadonlyArray<string>
  /** `undefined`: the stream's lines are dropped. */
  readonly stdout: LogLevel.LogLevel | undefined
  readonly stderr: LogLevel.LogLevel | undefined
  readonly onLine: ((line: Line) => Effect.Effect<void>) | undefined
  readonly maxLineLength: number
  readonly readyWhen: ((line: string) => boolean) | undefined
  readonly readyTimeout: Duration.Duration | undefined
  readonly killAfter: Duration.Duration
  /** Bytes. */
  readonly maxRss: number | undefined
  readonly sampleEvery: Duration.Duration
}

/** Why an option is refused: the option's name and the reason. */
export interface Refusal {
  readonly _tag: "Refusal"
  readonly field: string
  readonly reason: string
}

export const refuse = (field: string, reason: string): Refusal => ({ _tag: "Refusal", field, reason })

export const isRefusal = (u: unknown): u is Refusal => Predicate.isTagged(u, "Refusal")

export const defaultMaxLineLength = 65536

const levels: ReadonlyMap<unknown, LogLevel.LogLevel> = new Map(
  LogLevel.allLevels.map((level) => [level._tag, level] as const)
)

const outputOf = (
  field: string,
  input: unknown,
  fallback: LogLevel.LogLevel
): LogLevel.LogLevel | undefined | Refusal => {
  if (input === undefined) return fallback
  if (input === "ignore") return undefined
  return levels.get(input) ??
    refuse(field, `must be a log level (${Array.from(levels.keys()).join(", ")}) or "ignore", got ${String(input)}`)
}

export const durationOf = (field: string, input: unknown, positive: boolean): Duration.Duration | Refusal => {
  const decoded = decodeDuration(input as Duration.DurationInput)
  if (typeof decoded === "string") return refuse(field, decoded)
  return positive && Duration.isZero(decoded) ? refuse(field, "must be greater than zero") : decoded
}

const isStringRecord = (u: unknown): u is Record<string, string> =>
  Predicate.isRecord(u) && Object.values(u).every(Predicate.isString)

/** A predicate testing a line against a pattern: a copy without the `g` and `y` flags, whose tests keep no state. */
const matcherOf = (pattern: RegExp): (line: string) => boolean => {
  const stateless = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""))
  return (line) => stateless.test(line)
}

/**
 * The options checked, or the first refused one. Nothing here calls a user
 * function; `readyWhen` and `onLine` are called later, each behind a guard.
 */
export const check = (command: unknown, options: ProcessOptions): Plan | Refusal => {
  if (
    !Predicate.hasProperty(command, "_tag") || (command._tag !== "StandardCommand" && command._tag !== "PipedCommand")
  ) {
    return refuse("command", "must be a Command of @effect/platform")
  }
  if (command._tag === "PipedCommand") {
    return refuse("command", "a pipeline of commands is not supported: run it through a shell (`sh -c`) instead")
  }
  const codes = options.fatalExitCodes ?? []
  if (!Array.isArray(codes)) return refuse("fatalExitCodes", "must be an array of exit codes")
  for (const code of codes) {
    if (!Number.isInteger(code) || code < 1 || code > 255) {
      return refuse("fatalExitCodes", `must hold exit codes from 1 to 255 (0 is success), got ${String(code)}`)
    }
  }
  const spawnFailure = options.spawnFailure ?? "fatal"
  if (spawnFailure !== "fatal" && spawnFailure !== "retry") {
    return refuse("spawnFailure", `must be "fatal" or "retry", got ${String(spawnFailure)}`)
  }
  // the OS takes no NUL in a command, an argument, a path or a variable, nor "=" in a variable's name
  const { args, command: program } = command as Command.StandardCommand
  if ([program, ...args].some((part) => part.includes("\0"))) {
    return refuse("command", "its program and arguments must not hold a NUL character")
  }
  const env = options.env ?? {}
  if (!isStringRecord(env)) return refuse("env", "must be an object of string values")
  for (const [name, value] of Object.entries(env)) {
    if (name.length === 0 || name.includes("=") || name.includes("\0") || value.includes("\0")) {
      return refuse(
        "env",
        `a variable's name must be non-empty with no "=" or NUL, its value no NUL, got ${JSON.stringify(name)}`
      )
    }
  }
  if (
    options.cwd !== undefined &&
    (typeof options.cwd !== "string" || options.cwd.length === 0 || options.cwd.includes("\0"))
  ) {
    return refuse("cwd", "must be a non-empty path with no NUL character")
  }
  const inherit = options.inheritEnv ?? ["PATH"]
  let inheritEnv: true | ReadonlyArray<string>
  if (inherit === true || inherit === false) {
    inheritEnv = inherit ? true : []
  } else if (Array.isArray(inherit) && inherit.every(Predicate.isString)) {
    inheritEnv = inherit
  } else {
    return refuse("inheritEnv", "must be true, false or an array of variable names")
  }
  const stdout = outputOf("stdout", options.stdout, LogLevel.Info)
  if (isRefusal(stdout)) return stdout
  const stderr = outputOf("stderr", options.stderr, LogLevel.Warning)
  if (isRefusal(stderr)) return stderr
  if (options.onLine !== undefined && !Predicate.isFunction(options.onLine)) {
    return refuse("onLine", "must be a function")
  }
  const maxLineLength = options.maxLineLength ?? defaultMaxLineLength
  if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) {
    return refuse(
      "maxLineLength",
      `must be a whole number of characters greater than zero, got ${String(maxLineLength)}`
    )
  }
  const readyWhen = options.readyWhen === undefined
    ? undefined
    : options.readyWhen instanceof RegExp
    ? matcherOf(options.readyWhen)
    : Predicate.isFunction(options.readyWhen)
    ? options.readyWhen
    : refuse("readyWhen", "must be a RegExp or a predicate on a line")
  if (isRefusal(readyWhen)) return readyWhen
  const readyTimeout = options.readyTimeout === undefined
    ? undefined
    : durationOf("readyTimeout", options.readyTimeout, true)
  if (isRefusal(readyTimeout)) return readyTimeout
  const killAfter = durationOf("killAfter", options.killAfter ?? "5 seconds", false)
  if (isRefusal(killAfter)) return killAfter
  if (options.maxRss !== undefined && (!Number.isSafeInteger(options.maxRss) || options.maxRss < 1)) {
    return refuse("maxRss", `must be a whole number of bytes greater than zero, got ${String(options.maxRss)}`)
  }
  const sampleEvery = durationOf("sampleEvery", options.sampleEvery ?? "1 second", true)
  if (isRefusal(sampleEvery)) return sampleEvery
  return {
    command: command as Command.StandardCommand,
    fatalExitCodes: new Set(codes),
    spawnFailureIsFatal: spawnFailure === "fatal",
    env,
    cwd: options.cwd,
    inheritEnv,
    stdout,
    stderr,
    onLine: options.onLine,
    maxLineLength,
    readyWhen,
    readyTimeout,
    killAfter,
    maxRss: options.maxRss,
    sampleEvery
  }
}
