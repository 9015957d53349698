/** Event assertions: the recorded events against a list written like the README's event table. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Predicate from "effect/Predicate"
import { ConfigError } from "../data/supervisorError.js"
import type { Kind, SupervisorEvent } from "../data/supervisorEvent.js"
import { Constructors } from "../data/supervisorEvent.js"
import { EventsMismatch } from "./errors.js"
import { isOf, line, Recorder } from "./recorder.js"

/** What a field must be: a duration as any input; an object (an outcome) by the fields given; anything else equal. */
export type Pattern<T> = T extends Duration.Duration ? Duration.DurationInput
  : T extends ReadonlyArray<any> ? T
  : T extends object ? { readonly [K in keyof T]?: Pattern<T[K]> }
  : T

/** An expected event: its kind, or its kind with fields it must have. */
export type Expected =
  | Kind
  | {
    readonly [K in Kind]: { readonly _tag: K } & Pattern<Omit<Extract<SupervisorEvent, { readonly _tag: K }>, "_tag">>
  }[Kind]

export interface ExpectOptions {
  /** Only the events of this task (its name, or its id); by default, every event. */
  readonly task?: string | number | undefined
  /**
   * `exact` (the default): the events are these; `prefix`: they begin with these; `subsequence`: these are among
   * them, in this order, others possibly in between.
   */
  readonly mode?: "exact" | "prefix" | "subsequence" | undefined
}

/**
 * A plain object given to match (`{ _tag: "Failed" }`): matched by the fields it gives. Any other object (an `Error`,
 * a `Date`, a class's instance, an `Equal` value) has no fields to go by and is compared as `Equal.equals` does.
 */
const isPlain = (value: unknown): value is object => {
  if (!Predicate.isObject(value) || Equal.isEqual(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Whether a field seen has the value expected: a duration as any input, an object by the fields it gives. */
const same = (seen: unknown, expected: unknown): boolean => {
  if (Duration.isDuration(seen)) {
    const decoded = Duration.decodeUnknown(expected)
    return decoded._tag === "Some" && Equal.equals(seen, decoded.value)
  }
  if (Array.isArray(expected)) {
    return Array.isArray(seen) && seen.length === expected.length && expected.every((value, i) => same(seen[i], value))
  }
  if (isPlain(expected) && Predicate.isObject(seen)) {
    return Object.entries(expected).every(([key, value]) => same((seen as Record<string, unknown>)[key], value))
  }
  return Equal.equals(seen, expected)
}

const matches = (event: SupervisorEvent, expected: Expected): boolean =>
  typeof expected === "string" ? event._tag === expected : same(event, expected)

/** A value given to match, as a diff line shows it: JSON where it has one, else what `String` makes of it. */
const valueOf = (value: unknown): string => {
  if (Duration.isDuration(value)) return Duration.format(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const show = (expected: Expected): string =>
  typeof expected === "string"
    ? expected
    : [
      expected._tag,
      ...Object.entries(expected).filter(([key]) => key !== "_tag").map(([key, value]) => `${key}=${valueOf(value)}`)
    ].join(" ")

const modes: ReadonlySet<unknown> = new Set(["exact", "prefix", "subsequence"])

const isKind = (tag: unknown): boolean =>
  typeof tag === "string" && tag !== "$is" && tag !== "$match" && Object.hasOwn(Constructors, tag)

/** What `expectEvents` was given, checked: a list of kinds or kinds with fields, a mode, a task. */
const refusal = (expected: ReadonlyArray<Expected>, options: ExpectOptions | undefined): ConfigError | undefined => {
  if (!Array.isArray(expected)) return new ConfigError({ field: "expected", reason: "must be an array of events" })
  for (let i = 0; i < expected.length; i++) {
    const e: unknown = expected[i]
    const tag = Predicate.hasProperty(e, "_tag") ? e._tag : e
    if (!isKind(tag)) {
      return new ConfigError({
        field: `expected[${i}]`,
        reason: `must be an event kind, or an object with an event kind as _tag, got ${valueOf(tag)}`
      })
    }
  }
  if (options?.mode !== undefined && !modes.has(options.mode)) {
    return new ConfigError({
      field: "mode",
      reason: `must be exact, prefix or subsequence, got ${valueOf(options.mode)}`
    })
  }
  const task = options?.task
  if (task !== undefined && typeof task !== "string" && typeof task !== "number") {
    return new ConfigError({ field: "task", reason: "must be a task's name or id" })
  }
  return undefined
}

/** The comparison's lines, or `undefined` when the events match. */
export const compare = (
  events: ReadonlyArray<SupervisorEvent>,
  expected: ReadonlyArray<Expected>,
  mode: "exact" | "prefix" | "subsequence"
): ReadonlyArray<string> | undefined => {
  const width = Math.max(0, ...expected.map((e) => show(e).length))
  const pair = (mark: string, left: string, right: string) => `${mark} ${left.padEnd(width)} | ${right}`
  const diff: Array<string> = []
  let ok = true
  if (mode === "subsequence") {
    let at = 0
    for (const e of expected) {
      while (at < events.length && !matches(events[at], e)) at++
      if (at < events.length) diff.push(pair("=", show(e), line(events[at++])))
      else {
        ok = false
        diff.push(pair("-", show(e), "(not found after the events above)"))
      }
    }
    return ok ? undefined : diff
  }
  const length = mode === "exact" ? Math.max(expected.length, events.length) : expected.length
  for (let i = 0; i < length; i++) {
    const e = expected[i]
    const seen = events[i]
    if (e === undefined) {
      ok = false
      diff.push(pair("+", "", line(seen)))
    } else if (seen === undefined) {
      ok = false
      diff.push(pair("-", show(e), "(none)"))
    } else if (matches(seen, e)) {
      diff.push(pair("=", show(e), line(seen)))
    } else {
      ok = false
      diff.push(pair("≠", show(e), line(seen)))
    }
  }
  return ok ? undefined : diff
}

export const expectEvents = (
  expected: ReadonlyArray<Expected>,
  options?: ExpectOptions
): Effect.Effect<void, EventsMismatch | ConfigError, Recorder> =>
  Effect.flatMap(Recorder, (recorder): Effect.Effect<void, EventsMismatch | ConfigError> => {
    const refused = refusal(expected, options)
    if (refused !== undefined) return Effect.fail(refused)
    const task = options?.task
    const mode = options?.mode ?? "exact"
    const all = recorder.unsafeEvents()
    const diff = compare(task === undefined ? all : all.filter((e) => isOf(e, task)), expected, mode)
    return diff === undefined ? Effect.void : Effect.fail(new EventsMismatch({ mode, task, diff }))
  })
