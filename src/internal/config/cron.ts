/** A cron task's schedule: its expression and options as given, and as checked at admission. */
import * as Cron from "effect/Cron"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { ConfigError } from "../data/supervisorError.js"
import * as validate from "./validate.js"

/** What a cron task does with a scheduled time that comes while a run of it is still running. */
export type Overlap = "skip" | "bufferOne" | "bufferAll" | "cancelRunning" | "allow"

/** The options of `TaskSpec.cron` that shape its schedule. */
export interface CronOptions {
  /** The IANA time zone the expression is read in; `"UTC"` by default. */
  readonly timeZone?: string | undefined
  /** `"skip"` by default. */
  readonly overlap?: Overlap | undefined
  /** How late a missed scheduled time may still run (once, coalesced); `"none"` (the default) runs none. */
  readonly catchUp?: Duration.DurationInput | "none" | undefined
  /** Each run starts up to this much (uniformly random) after its scheduled time; none by default. */
  readonly jitter?: Duration.DurationInput | undefined
}

/** A cron task's schedule as its spec carries it, unchecked. */
export interface CronSchedule {
  readonly expression: string
  readonly options: CronOptions
}

/** A cron task's schedule, checked. */
export interface Plan {
  readonly cron: Cron.Cron
  readonly expression: string
  readonly timeZone: string
  readonly overlap: Overlap
  /** Milliseconds; `undefined`: no catch-up. */
  readonly catchUp: number | undefined
  /** Milliseconds; 0: none. */
  readonly jitter: number
}

const overlaps: ReadonlySet<unknown> = new Set(["skip", "bufferOne", "bufferAll", "cancelRunning", "allow"])

/**
 * The expressions parsed, by time zone and expression, while a task holds
 * them: the tasks of one schedule share its `Cron` (about 5 KB each, with its
 * lookup tables), and one that no task holds any more is let go.
 */
const parsed = new Map<string, WeakRef<Cron.Cron>>()
const unheld = new FinalizationRegistry<string>((key) => {
  if (parsed.get(key)?.deref() === undefined) parsed.delete(key)
})

/** The expression parsed in the time zone, or a ConfigError naming what is wrong with either. */
const parse = (field: (name: string) => string, expression: string, timeZone: string): Cron.Cron | ConfigError => {
  // the zone's length first: no other zone and expression make the same key
  const key = `${timeZone.length}:${timeZone}${expression}`
  const known = parsed.get(key)?.deref()
  if (known !== undefined) return known
  const zone = DateTime.zoneMakeNamed(timeZone)
  if (Option.isNone(zone)) {
    return new ConfigError({ field: field("timeZone"), reason: `unknown time zone ${JSON.stringify(timeZone)}` })
  }
  const cron = Cron.parse(expression, zone.value)
  if (Either.isLeft(cron)) {
    return new ConfigError({
      field: field("cron"),
      reason: `invalid cron expression ${JSON.stringify(expression)}: ${cron.left.message}`
    })
  }
  // an expression no date satisfies (February 30th): effect's Cron gives up looking, and so does the task, here
  try {
    Cron.next(cron.right, 0)
  } catch {
    return new ConfigError({ field: field("cron"), reason: `${JSON.stringify(expression)} matches no date` })
  }
  parsed.set(key, new WeakRef(cron.right))
  unheld.register(cron.right, key)
  return cron.right
}

/** The schedule checked, or a ConfigError naming what is wrong with it (`field`: how the task's schedule is named). */
export const check = (field: (name: string) => string, schedule: CronSchedule): Plan | ConfigError => {
  const { expression, options } = schedule
  if (typeof expression !== "string") {
    return new ConfigError({ field: field("cron"), reason: `must be a cron expression, got ${String(expression)}` })
  }
  const timeZone = options.timeZone ?? "UTC"
  if (typeof timeZone !== "string") {
    return new ConfigError({ field: field("timeZone"), reason: `must be an IANA time zone, got ${String(timeZone)}` })
  }
  const cron = parse(field, expression, timeZone)
  if (cron instanceof ConfigError) return cron
  const overlap = options.overlap ?? "skip"
  if (!overlaps.has(overlap)) {
    return new ConfigError({
      field: field("overlap"),
      reason: `must be skip, bufferOne, bufferAll, cancelRunning or allow, got ${String(overlap)}`
    })
  }
  let catchUp: number | undefined
  if (options.catchUp !== undefined && options.catchUp !== "none") {
    const window = validate.positiveDuration(field("catchUp"), options.catchUp)
    if (window instanceof ConfigError) return window
    catchUp = Duration.toMillis(window)
  }
  let jitter = 0
  if (options.jitter !== undefined) {
    const spread = validate.duration(field("jitter"), options.jitter)
    if (spread instanceof ConfigError) return spread
    jitter = Duration.toMillis(spread)
  }
  return { cron, expression, timeZone, overlap, catchUp, jitter }
}
