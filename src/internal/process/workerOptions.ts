/** A worker task's options, as given and as checked once when the spec is made (refused at admission). */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Url from "node:url"
import type * as WorkerThreads from "node:worker_threads"
import type { Limits } from "../config/taskSpec.js"
import { durationOf, isRefusal, type Refusal, refuse } from "./processOptions.js"

/** The options of a worker task besides those of any task; `O`: what its handler answers. */
export interface WorkerOptions<O> {
  /** Passed to `new Worker` (`resourceLimits`, `env`, `execArgv`, …); `eval` is refused. */
  readonly workerOptions?: WorkerThreads.WorkerOptions | undefined
  readonly onOutput?: ((output: O) => Effect.Effect<void>) | undefined
  readonly terminateAfter?: Duration.DurationInput | undefined
  readonly spawnFailure?: "fatal" | "retry" | undefined
}

/** A worker task's module and options, checked, with their defaults. */
export interface Plan<Req, O> {
  /** As `new Worker` takes it. */
  readonly module: string | URL
  /** How errors name the module: its path or URL (a `data:` URL's code left out). */
  readonly label: string
  /** The file the module is, to check it exists before each start; `undefined` for a `data:` URL. */
  readonly file: string | undefined
  readonly request: Req
  readonly workerOptions: WorkerThreads.WorkerOptions
  readonly onOutput: ((output: O) => Effect.Effect<void>) | undefined
  /** `undefined`: as long as the grace allows. */
  readonly terminateAfter: Duration.Duration | undefined
  readonly spawnFailureIsFatal: boolean
}

/**
 * The file a module names: a `file:` URL's path, a path as given;
 * `undefined` for a URL of another scheme; a refusal for a `file:` URL that
 * names no file.
 */
const fileOf = (module: string | URL): string | undefined | Refusal => {
  if (typeof module === "string" && !module.startsWith("file:")) return module
  try {
    const url = typeof module === "string" ? new URL(module) : module
    return url.protocol === "file:" ? Url.fileURLToPath(url) : undefined
  } catch (error) {
    return refuse("module", `is not a valid file URL: ${String(module)} (${String(error)})`)
  }
}

/**
 * The module, request and options checked, or the first refused one.
 * Nothing here calls a user function; `onOutput` is called later, behind a guard.
 */
export const check = <Req, O>(
  module: unknown,
  request: Req,
  options: WorkerOptions<O>
): Plan<Req, O> | Refusal => {
  if (!(module instanceof URL) && (typeof module !== "string" || module.length === 0)) {
    return refuse("module", "must be a path or a URL of a worker module")
  }
  const file = fileOf(module)
  if (isRefusal(file)) return file
  if (!Predicate.hasProperty(request, Schema.symbolSerializable) || !Predicate.hasProperty(request, "_tag")) {
    return refuse("request", "must be an instance of a Schema.TaggedRequest class")
  }
  const workerOptions = options.workerOptions ?? {}
  if (!Predicate.isRecord(workerOptions)) return refuse("workerOptions", "must be an object of Worker options")
  // Node reads any truthy `eval` as code to run
  if (workerOptions.eval) return refuse("workerOptions", "eval is not supported: pass a module instead")
  if (options.onOutput !== undefined && !Predicate.isFunction(options.onOutput)) {
    return refuse("onOutput", "must be a function")
  }
  const terminateAfter = options.terminateAfter === undefined
    ? undefined
    : durationOf("terminateAfter", options.terminateAfter, false)
  if (isRefusal(terminateAfter)) return terminateAfter
  const spawnFailure = options.spawnFailure ?? "fatal"
  if (spawnFailure !== "fatal" && spawnFailure !== "retry") {
    return refuse("spawnFailure", `must be "fatal" or "retry", got ${String(spawnFailure)}`)
  }
  return {
    module,
    label: module instanceof URL && module.protocol === "data:" ? "a data: URL" : String(module),
    file,
    request,
    workerOptions,
    onOutput: options.onOutput,
    terminateAfter,
    spawnFailureIsFatal: spawnFailure === "fatal"
  }
}

/** `terminateAfter` at most the supervisor's grace: past it, the task is force-aborted before the thread ends. */
export const withinGrace = (plan: Plan<unknown, unknown>, limits: Limits): Refusal | undefined =>
  plan.terminateAfter !== undefined && Duration.greaterThan(plan.terminateAfter, limits.grace)
    ? refuse(
      "terminateAfter",
      `must be at most the supervisor's grace (${Duration.format(limits.grace)}), got ${
        Duration.format(plan.terminateAfter)
      }`
    )
    : undefined
