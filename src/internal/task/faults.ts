/** Fault injection: a plan of faults for chosen attempts of named tasks, checked once, and the attempts it changes. */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import { PCGRandom } from "effect/Utils"
import { bounded, type Resolved } from "../config/resolve.js"
import * as validate from "../config/validate.js"
import { ConfigError } from "../data/supervisorError.js"
import { describe } from "../data/taskError.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/InjectedFault")

export type TypeId = typeof TypeId

/** What an injected `fail` fails with, and an injected `die` dies with, unless the plan names another. */
export class InjectedFault extends Data.TaggedError("InjectedFault")<{
  readonly task: string
  readonly attempt: number
}> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `injected into attempt ${this.attempt} of '${this.task}'`
  }
}

export const isInjectedFault = (u: unknown): u is InjectedFault => Predicate.hasProperty(u, TypeId)

/** The attempt fails with `error`. */
export interface Fail {
  readonly _tag: "Fail"
  readonly error?: unknown
}

/** The attempt dies with `defect`. */
export interface Die {
  readonly _tag: "Die"
  readonly defect?: unknown
}

/** The attempt never ends by itself: its timeout, a stop or a control ends it. */
export interface Hang {
  readonly _tag: "Hang"
}

/** The attempt's effect starts `duration` late (the wait counts against its timeout). */
export interface Delay {
  readonly _tag: "Delay"
  readonly duration: Duration.DurationInput
}

/** The attempt's effect runs, and takes `duration` more to stop once interrupted (by a stop, a control, its timeout). */
export interface IgnoresInterruption {
  readonly _tag: "IgnoresInterruption"
  readonly duration: Duration.DurationInput
}

export type Fault = Fail | Die | Hang | Delay | IgnoresInterruption

export const fail = (error?: unknown): Fault => error === undefined ? { _tag: "Fail" } : { _tag: "Fail", error }

export const die = (defect?: unknown): Fault => defect === undefined ? { _tag: "Die" } : { _tag: "Die", defect }

export const hang: Fault = { _tag: "Hang" }

export const delay = (duration: Duration.DurationInput): Fault => ({ _tag: "Delay", duration })

export const ignoresInterruption = (duration: Duration.DurationInput): Fault => ({
  _tag: "IgnoresInterruption",
  duration
})

/**
 * Which attempts of a task a rule applies to (the first is 1): those listed,
 * every `every`-th, `from` one on, or each with a chance of `probability`,
 * drawn from the plan's seed, the rule, the task's name and the attempt.
 */
export type Attempts =
  | ReadonlyArray<number>
  | { readonly every: number }
  | { readonly from: number }
  | { readonly probability: number }

export interface FaultRule {
  /** The task's name (a group's child's path), or a predicate on it. */
  readonly task: string | ((name: string) => boolean)
  /** Every attempt when omitted. */
  readonly attempts?: Attempts | undefined
  readonly fault: Fault
}

export interface FaultPlan {
  /** What `probability` draws from; 0 when omitted. */
  readonly seed?: number | undefined
  readonly rules: ReadonlyArray<FaultRule>
}

/** A rule's fault, made: the attempt `attempt` of `task`, whose effect is `effect`, as it runs with the fault. */
type Apply = (effect: Effect.Effect<unknown, unknown>, task: string, attempt: number) => Effect.Effect<unknown, unknown>

/** A rule checked: whether it selects the attempt `attempt` of `task` (a predicate that throws is caught by `attempt`). */
interface Rule {
  readonly selects: (task: string, attempt: number) => boolean
  readonly apply: Apply
}

/** The faults of a checked plan, as the actor asks for them when it builds an attempt. */
export class Faults {
  constructor(private readonly rules: ReadonlyArray<Rule>) {}

  /**
   * The attempt `attempt` of `spec` with the faults of every rule that
   * selects it (the first rule outermost), bounded by the task's timeout as
   * its own effect is; `undefined` when no rule selects it.
   */
  attempt(spec: Resolved, attempt: number): Effect.Effect<unknown, unknown> | undefined {
    const { name } = spec
    const { rules } = this
    let effect: Effect.Effect<unknown, unknown> | undefined = undefined
    for (let i = rules.length - 1; i >= 0; i--) {
      const rule = rules[i]
      let selected: boolean
      try {
        selected = rule.selects(name, attempt)
      } catch (defect) {
        return bounded(Effect.dieMessage(`${fieldOf(i, "task")} threw: ${describe(defect)}`), spec.timeout)
      }
      if (selected) effect = rule.apply(effect ?? spec.effect, name, attempt)
    }
    return effect === undefined ? undefined : bounded(effect, spec.timeout)
  }
}

/** What a task's attempts find, when the supervisor was built with fault injection. */
export class FaultInjection extends Context.Tag("effect-taskvisor/FaultInjection")<FaultInjection, Faults>() {}

/** How a refused field of a plan is named. */
const fieldOf = (index: number, field: string): string => `rules[${index}].${field} of the fault plan`

/** The draw in [0, 1) of the attempt `attempt` of `task` under the rule `rule` of the plan seeded `seed`. */
const draw = (seed: number, rule: number, task: string, attempt: number): number =>
  new PCGRandom(Hash.string(`${seed}/${rule}/${attempt}/${task}`)).number()

const wholeFrom1 = (input: unknown): input is number =>
  typeof input === "number" && Number.isSafeInteger(input) && input >= 1

/** `attempts` of the rule `index`, checked: what it selects given the attempt, or why it cannot be read. */
const checkAttempts = (
  index: number,
  seed: number,
  attempts: unknown
): ((task: string, attempt: number) => boolean) | ConfigError => {
  const field = fieldOf(index, "attempts")
  if (attempts === undefined) return () => true
  if (Array.isArray(attempts)) {
    if (attempts.length === 0 || !attempts.every(wholeFrom1)) {
      return new ConfigError({ field, reason: "must list attempt numbers, each a whole number from 1" })
    }
    const listed: ReadonlySet<number> = new Set(attempts)
    return (_, attempt) => listed.has(attempt)
  }
  const keys = Predicate.isRecord(attempts) ? Object.keys(attempts) : []
  const key = keys.length === 1 ? keys[0] : undefined
  const value = key === undefined ? undefined : (attempts as Record<string, unknown>)[key]
  switch (key) {
    case "every":
    case "from": {
      if (!wholeFrom1(value)) {
        return new ConfigError({
          field: fieldOf(index, `attempts.${key}`),
          reason: `must be a whole number from 1, got ${String(value)}`
        })
      }
      return key === "every" ? (_, attempt) => attempt % value === 0 : (_, attempt) => attempt >= value
    }
    case "probability": {
      if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
        return new ConfigError({
          field: fieldOf(index, "attempts.probability"),
          reason: `must be between 0 and 1, got ${String(value)}`
        })
      }
      return (task, attempt) => draw(seed, index, task, attempt) < value
    }
    default:
      return new ConfigError({
        field,
        reason: `must be a list of attempt numbers, { every: n }, { from: n } or { probability: p }, got ${
          keys.length === 0 ? String(attempts) : `{ ${keys.join(", ")} }`
        }`
      })
  }
}

/** The fault of the rule `index`, checked and made, or why it cannot be. */
const checkFault = (index: number, fault: unknown): Apply | ConfigError => {
  const tag = Predicate.hasProperty(fault, "_tag") ? fault._tag : undefined
  switch (tag) {
    case "Fail": {
      const error = (fault as Fail).error
      return (_, task, attempt) => Effect.fail(error === undefined ? new InjectedFault({ task, attempt }) : error)
    }
    case "Die": {
      const defect = (fault as Die).defect
      return (_, task, attempt) => Effect.die(defect === undefined ? new InjectedFault({ task, attempt }) : defect)
    }
    case "Hang":
      return () => Effect.never
    case "Delay":
    case "IgnoresInterruption": {
      const duration = validate.duration(
        fieldOf(index, "fault.duration"),
        (fault as Delay | IgnoresInterruption).duration
      )
      if (duration instanceof ConfigError) return duration
      return tag === "Delay"
        ? (effect) => Effect.zipRight(Effect.sleep(duration), effect)
        : (effect) => Effect.onInterrupt(effect, () => Effect.sleep(duration))
    }
    default:
      return new ConfigError({
        field: fieldOf(index, "fault"),
        reason: "must be one of Fault.fail, die, hang, delay or ignoresInterruption"
      })
  }
}

/** A plan checked (each field is a user value), or a `ConfigError` naming the first bad field. */
export const make = (plan: FaultPlan): Faults | ConfigError => {
  if (!Predicate.isRecord(plan)) {
    return new ConfigError({ field: "fault plan", reason: "must be an object with rules" })
  }
  const seed = plan.seed ?? 0
  if (!Number.isSafeInteger(seed)) {
    return new ConfigError({ field: "seed of the fault plan", reason: `must be a whole number, got ${String(seed)}` })
  }
  if (!Array.isArray(plan.rules)) {
    return new ConfigError({ field: "rules of the fault plan", reason: "must be a list of rules" })
  }
  const rules: Array<Rule> = []
  for (let index = 0; index < plan.rules.length; index++) {
    const rule: unknown = plan.rules[index]
    if (!Predicate.isRecord(rule)) {
      return new ConfigError({ field: `rules[${index}] of the fault plan`, reason: "must be a rule" })
    }
    const { task } = rule
    if (!(typeof task === "string" && task !== "") && typeof task !== "function") {
      return new ConfigError({ field: fieldOf(index, "task"), reason: "must be a task's name or a predicate on it" })
    }
    const attempts = checkAttempts(index, seed, rule.attempts)
    if (attempts instanceof ConfigError) return attempts
    const apply = checkFault(index, rule.fault)
    if (apply instanceof ConfigError) return apply
    const named = typeof task === "string"
      ? (name: string) => name === task
      : (task as (name: string) => boolean)
    rules.push({ selects: (name, attempt) => named(name) && attempts(name, attempt), apply })
  }
  return new Faults(rules)
}

/** The plan, checked as the layer is built. */
export const layer = (plan: FaultPlan): Layer.Layer<FaultInjection, ConfigError> =>
  Layer.effect(
    FaultInjection,
    Effect.suspend(() => {
      const faults = make(plan)
      return faults instanceof ConfigError ? Effect.fail(faults) : Effect.succeed(faults)
    })
  )
