/** A task spec's settings checked and resolved against the supervisor's defaults, once, at admission. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import { ConfigError } from "../data/supervisorError.js"
import type { Recorder } from "../events/metrics.js"
import * as Cron from "./cron.js"
import * as RestartPolicy from "./restartPolicy.js"
import * as Retry from "./retry.js"
import type { Settings } from "./settings.js"
import { type AutoShutdown, type Group, type Strategy, type TaskSpec, TypeId as TaskSpecTypeId } from "./taskSpec.js"
import * as validate from "./validate.js"

/** What a timed-out attempt returns instead of its value (private: no task can return it). */
export const TimedOut: unique symbol = Symbol("effect-taskvisor/TimedOut")

/** An attempt of `effect` bounded by `timeout`, if it has one: a timed-out attempt succeeds with `TimedOut`. */
export const bounded = (
  effect: Effect.Effect<unknown, unknown>,
  timeout: Duration.Duration | undefined
): Effect.Effect<unknown, unknown> =>
  timeout === undefined ? effect : Effect.timeoutTo(effect, {
    duration: timeout,
    onTimeout: () => TimedOut,
    onSuccess: () => undefined
  })

/** A task spec with every setting resolved against the supervisor defaults. */
export interface Resolved {
  readonly name: string
  /** For a group: how it supervises its children, as `inspect` reports it. */
  readonly supervision: Supervision | undefined
  /** The task's own effect, unbounded. */
  readonly effect: Effect.Effect<unknown, unknown>
  /** One attempt: the task's effect bounded by its timeout (a timed-out attempt succeeds with `TimedOut`). */
  readonly body: Effect.Effect<unknown, unknown>
  readonly restart: RestartPolicy.RestartPolicy
  readonly schedule: Schedule.Schedule<unknown, unknown, unknown>
  /** The schedule's initial state, read once at admission. */
  readonly initial: unknown
  readonly timeout: Duration.Duration | undefined
  readonly maxRetries: number | undefined
  readonly isFatal: ((error: unknown) => boolean) | undefined
  readonly intensity: validate.Intensity | undefined
  /** Milliseconds of uptime after which an attempt resets the backoff and retry budget. */
  readonly resetAfter: number | undefined
  readonly watchdog: Duration.Duration | undefined
  /** Whether ending by itself shuts its supervisor down (`autoShutdown`), for a task added to the supervisor. */
  readonly significant: boolean
  /** Whether it is a group, whose attempt supervises children. */
  readonly hostsChildren: boolean
  /** For a group: the most restarts of its children within a window. */
  readonly groupIntensity: validate.Intensity | undefined
  /** For a group: the paths of its children and of theirs, at every level (none for a plain task). */
  readonly descendants: ReadonlyArray<string>
  /** Where its metrics go; `undefined`: the supervisor's metrics are off. */
  readonly metrics: Recorder | undefined
  /** For a cron task: its schedule. */
  readonly cron: Cron.Plan | undefined
  /** Whether each attempt is `Starting` until its body runs `ready`. */
  readonly awaitsReady: boolean
  /** Whether its attempt is told when its task is force-aborted (`AttemptControl.forceAborted`). */
  readonly awaitsForceAbort: boolean
}

/** How a group supervises its children: its options resolved, its children by path in start order. */
export interface Supervision {
  readonly strategy: Strategy
  readonly autoShutdown: AutoShutdown
  /** The most restarts of its children within a window; `undefined`: no limit. */
  readonly intensity: { readonly maxRestarts: number; readonly within: Duration.Duration } | undefined
  readonly children: ReadonlyArray<string>
}

/** The supervisor's settings a spec is resolved against. */
export type Admission = Pick<Settings, "defaults" | "grace">

/** A plain task's descendants: none, one array for all of them. */
const noDescendants: ReadonlyArray<string> = []

/** How a refused field of a spec is named: with the name the task registers under (a group's child's path). */
const fieldOf = (name: string, field: string): string => `${field} of task '${name}'`

/**
 * Every field a spec carries is a user value: a spec assembled around the
 * types (a cast, a plain object) is refused here with a `ConfigError` naming
 * the field, before anything runs.
 */
export const resolve = (
  spec: TaskSpec<unknown, unknown>,
  /** The defaults it inherits, and the grace its kind's `check` may hold its options against. */
  settings: Admission,
  /** Where its metrics go; `undefined`: nowhere (metrics are off, or it is only checked, not to run). */
  metrics: Recorder | undefined,
  /** The name it registers under: a group's child's path. */
  name: string = spec.name
): Resolved | ConfigError => {
  if (typeof spec.name !== "string") {
    return new ConfigError({ field: "name", reason: `a task name must be a string, got ${String(spec.name)}` })
  }
  if (spec.name.length === 0) return new ConfigError({ field: "name", reason: "a task needs a non-empty name" })
  const { defaults } = settings
  if (!Effect.isEffect(spec.effect)) {
    return new ConfigError({ field: fieldOf(name, "effect"), reason: "must be an Effect" })
  }
  const restart = RestartPolicy.check(fieldOf(name, "restart"), spec.restart ?? defaults.restart)
  if (restart instanceof ConfigError) return restart
  const retry = Retry.runnableOf(spec.retry ?? defaults.retry)
  if (typeof retry === "string") return new ConfigError({ field: fieldOf(name, "backoff"), reason: retry })
  if (spec.isFatal !== undefined && typeof spec.isFatal !== "function") {
    return new ConfigError({ field: fieldOf(name, "isFatal"), reason: "must be a predicate function" })
  }
  // a group's attempt lasts as long as its children: only its own timeout bounds it, not the tasks' default
  let timeout = spec.group === undefined ? defaults.timeout : undefined
  if (spec.timeout === null) {
    timeout = undefined
  } else if (spec.timeout !== undefined) {
    const decoded = validate.duration(fieldOf(name, "timeout"), spec.timeout)
    if (decoded instanceof ConfigError) return decoded
    timeout = Duration.isZero(decoded) ? undefined : decoded
  }
  let maxRetries = defaults.maxRetries
  if (spec.maxRetries === null) {
    maxRetries = undefined
  } else if (spec.maxRetries !== undefined) {
    const checked = validate.integer(fieldOf(name, "maxRetries"), spec.maxRetries, 0)
    if (checked instanceof ConfigError) return checked
    maxRetries = checked
  }
  let intensity: validate.Intensity | undefined
  const intensityInput = spec.intensity === undefined ? defaults.intensity : spec.intensity
  if (intensityInput !== null && intensityInput !== undefined) {
    const checked = validate.intensity(fieldOf(name, "intensity"), intensityInput, true)
    if (checked instanceof ConfigError) return checked
    intensity = checked
  }
  const resetAfter = spec.resetAfter === undefined
    ? undefined
    : validate.positiveDuration(fieldOf(name, "resetAfter"), spec.resetAfter)
  if (resetAfter instanceof ConfigError) return resetAfter
  const watchdog = spec.watchdog === undefined
    ? undefined
    : validate.positiveDuration(fieldOf(name, "watchdog"), spec.watchdog)
  if (watchdog instanceof ConfigError) return watchdog
  const cron = spec.cron === undefined ? undefined : Cron.check((field) => fieldOf(name, field), spec.cron)
  if (cron instanceof ConfigError) return cron
  const refused = typeof spec.check === "function" ? spec.check((field) => fieldOf(name, field), settings) : undefined
  if (refused !== undefined) return refused
  // a group's children are checked with it: a bad child refuses the group at admission
  const group = spec.group === undefined ? undefined : checkGroup(spec, settings, name)
  if (group instanceof ConfigError) return group
  const effect = spec.effect as Effect.Effect<unknown, unknown>
  return {
    name,
    supervision: spec.group === undefined ? undefined : supervisionOf(spec.group, name),
    effect,
    body: bounded(effect, timeout),
    restart,
    schedule: retry.schedule,
    initial: retry.initial,
    timeout,
    maxRetries,
    isFatal: spec.isFatal,
    intensity,
    resetAfter: resetAfter === undefined ? undefined : Duration.toMillis(resetAfter),
    watchdog,
    significant: spec.significant === true,
    hostsChildren: group !== undefined,
    groupIntensity: group?.intensity,
    descendants: group?.descendants ?? noDescendants,
    metrics,
    cron,
    awaitsReady: spec.awaitsReady === true,
    awaitsForceAbort: spec.awaitsForceAbort === true
  }
}

/** A group's options as `inspect` reports them (checked by `checkGroup`), its children by path. */
const supervisionOf = (group: Group, name: string): Supervision => ({
  strategy: group.options.strategy ?? "oneForOne",
  autoShutdown: group.options.autoShutdown ?? "never",
  intensity: group.options.intensity === undefined ? undefined : {
    maxRestarts: group.options.intensity.maxRestarts,
    within: Duration.decode(group.options.intensity.within)
  },
  children: group.children.map((child) => `${name}/${child.name}`)
})

const strategies: ReadonlySet<unknown> = new Set(["oneForOne", "oneForAll", "restForOne"])

/**
 * A group's options and children, each child resolved under its path: the
 * intensity of its children, checked, and the paths of its descendants (a
 * path used twice in its tree, as a child named `a/b` beside a group `a` with
 * a child `b` would make, is refused).
 */
const checkGroup = (
  spec: TaskSpec<unknown, unknown>,
  settings: Admission,
  name: string
):
  | { readonly intensity: validate.Intensity | undefined; readonly descendants: ReadonlyArray<string> }
  | ConfigError =>
{
  const { children, options } = spec.group!
  if (options.strategy !== undefined && !strategies.has(options.strategy)) {
    return new ConfigError({ field: fieldOf(name, "strategy"), reason: "must be oneForOne, oneForAll or restForOne" })
  }
  const autoShutdown = options.autoShutdown === undefined
    ? undefined
    : validate.autoShutdown(fieldOf(name, "autoShutdown"), options.autoShutdown)
  if (autoShutdown instanceof ConfigError) return autoShutdown
  const intensity = options.intensity === undefined
    ? undefined
    : validate.intensity(fieldOf(name, "intensity of its children"), options.intensity, false)
  if (intensity instanceof ConfigError) return intensity
  const names = new Set<unknown>()
  for (const child of children) {
    if (!Predicate.hasProperty(child, TaskSpecTypeId)) {
      return new ConfigError({ field: fieldOf(name, "children"), reason: "must be task specs" })
    }
    if (names.has(child.name)) {
      return new ConfigError({
        field: fieldOf(name, "children"),
        reason: `names must be unique within their group: '${child.name}' is used twice`
      })
    }
    names.add(child.name)
  }
  const descendants = new Set<string>()
  for (const child of children) {
    const resolved = resolve(child, settings, undefined, `${name}/${child.name}`)
    if (resolved instanceof ConfigError) return resolved
    for (const path of [resolved.name, ...resolved.descendants]) {
      if (descendants.has(path)) {
        return new ConfigError({
          field: fieldOf(name, "children"),
          reason: `the path '${path}' is used twice in the group's tree`
        })
      }
      descendants.add(path)
    }
  }
  return { intensity, descendants: Array.from(descendants) }
}
