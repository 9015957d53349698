/** Event assertions: the recorded events against a list written like the README's event table. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Predicate from "effect/Predicate"
import type { Kind, SupervisorEvent } from "../data/supervisorEvent.js"
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

/** Whether a field seen has the value expected: a duration as any input, an object by the fields it gives. */
const same = (seen: unknown, expected: unknown): boolean => {
  if (Duration.isDuration(seen)) {
    const decoded = Duration.decodeUnknown(expected)
    return decoded._tag === "Some" && Equal.equals(seen, decoded.value)
  }
  if (Predicate.isObject(expected) && !Equal.isEqual(expected) && Predicate.isObject(seen)) {
    return Object.entries(expected).every(([key, value]) => same((seen as Record<string, unknown>)[key], value))
  }
  return Equal.equals(seen, expected)
}

const matches = (event: SupervisorEvent, expected: Expected): boolean =>
  typeof expected === "string" ? event._tag === expected : same(event, expected)

const show = (expected: Expected): string =>
  typeof expected === "string"
    ? expected
    : [
      expected._tag,
      ...Object.entries(expected).filter(([key]) => key !== "_tag").map(([key, value]) =>
        `${key}=${Duration.isDuration(value) ? Duration.format(value) : JSON.stringify(value)}`
      )
    ].join(" ")

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
): Effect.Effect<void, EventsMismatch, Recorder> =>
  Effect.flatMap(Recorder, (recorder) => {
    const task = options?.task
    const mode = options?.mode ?? "exact"
    const all = recorder.unsafeEvents()
    const diff = compare(task === undefined ? all : all.filter((e) => isOf(e, task)), expected, mode)
    return diff === undefined ? Effect.void : Effect.fail(new EventsMismatch({ mode, task, diff }))
  })
