/** The restart policy as data (its model, prototype and guard), its constructors, and the check a supervisor runs on it. */
import type * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import { ConfigError } from "../data/supervisorError.js"
import * as validate from "./validate.js"

export const TypeId: unique symbol = Symbol.for("effect-taskvisor/RestartPolicy")

export type TypeId = typeof TypeId

/** What every variant shares: its `TypeId`, structural equality, `pipe` and inspection. */
export interface Variant extends Equal.Equal, Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
}

export interface Never extends Variant {
  readonly _tag: "Never"
}

export interface OnFailure extends Variant {
  readonly _tag: "OnFailure"
}

export interface Always extends Variant {
  readonly _tag: "Always"
  /** `undefined`: run again after at least 1 ms. */
  readonly interval: Duration.Duration | undefined
}

export type RestartPolicy = Never | OnFailure | Always

/**
 * Why the interval a policy was built from is invalid; only such a policy has
 * one. It is reported where the policy is used (`check`), as a typed error.
 */
const Invalid: unique symbol = Symbol.for("effect-taskvisor/RestartPolicy/Invalid")

interface Invalidated {
  readonly [Invalid]?: string
}

const invalidOf = (self: RestartPolicy): string | undefined => (self as Invalidated)[Invalid]

const intervalOf = (self: RestartPolicy): Duration.Duration | undefined =>
  self._tag === "Always" ? self.interval : undefined

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  [Equal.symbol](this: RestartPolicy, that: unknown): boolean {
    return isRestartPolicy(that) && this._tag === that._tag && Equal.equals(intervalOf(this), intervalOf(that)) &&
      invalidOf(this) === invalidOf(that)
  },
  [Hash.symbol](this: RestartPolicy): number {
    return Hash.cached(this, Hash.combine(Hash.hash(intervalOf(this)))(Hash.string(this._tag)))
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: RestartPolicy) {
    const invalid = invalidOf(this)
    return {
      _id: "RestartPolicy",
      _tag: this._tag,
      ...(this._tag === "Always" ? { interval: this.interval?.toJSON() } : {}),
      ...(invalid === undefined ? {} : { invalid: `interval ${invalid}` })
    }
  }
}

export const isRestartPolicy = (u: unknown): u is RestartPolicy => Predicate.hasProperty(u, TypeId)

type Matchers = Data.TaggedEnum.Constructor<RestartPolicy>

export const $is: Matchers["$is"] = (tag) => (u: unknown): u is any => isRestartPolicy(u) && u._tag === tag

export const $match: Matchers["$match"] = function() {
  if (arguments.length === 1) {
    const cases = arguments[0]
    return (self: RestartPolicy) => cases[self._tag](self)
  }
  return arguments[1][arguments[0]._tag](arguments[0])
} as Matchers["$match"]

export const never: RestartPolicy = Object.assign(Object.create(Proto), { _tag: "Never" })

export const onFailure: RestartPolicy = Object.assign(Object.create(Proto), { _tag: "OnFailure" })

/** `Always` with `interval` decoded; an invalid one gives a policy that carries why, refused where it is used. */
export const always = (options?: { readonly interval?: Duration.DurationInput | undefined }): RestartPolicy => {
  const decoded = options?.interval === undefined ? undefined : validate.decodeDuration(options.interval)
  const policy = Object.assign(Object.create(Proto), {
    _tag: "Always",
    interval: decoded === undefined || typeof decoded === "string" || Duration.isZero(decoded) ? undefined : decoded
  })
  if (typeof decoded === "string") policy[Invalid] = decoded
  return policy
}

/** Like `always`, but an invalid interval throws a `ConfigError` naming `interval` at once. */
export const unsafeAlways = (options?: { readonly interval?: Duration.DurationInput | undefined }): RestartPolicy => {
  const policy = always(options)
  const invalid = invalidOf(policy)
  if (invalid !== undefined) throw new ConfigError({ field: "interval", reason: invalid })
  return policy
}

/**
 * Why a value is not a policy a supervisor can run, or `undefined` if it is
 * one: it is not a `RestartPolicy` (a cast, a plain object), or it was built
 * from an invalid value.
 */
const problemOf = (u: unknown): string | undefined => {
  if (!isRestartPolicy(u)) return "must be a RestartPolicy (never, onFailure, always)"
  const invalid = invalidOf(u)
  return invalid === undefined ? undefined : `interval ${invalid}`
}

/** A policy a supervisor can run (see `problemOf`), or a `ConfigError` naming `field`. */
export const check = (field: string, u: unknown): RestartPolicy | ConfigError => {
  const problem = problemOf(u)
  return problem === undefined ? u as RestartPolicy : new ConfigError({ field, reason: problem })
}
