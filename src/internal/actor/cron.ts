/** A cron task's schedule as its actor keeps it: the times it has dealt with, its kept runs, and its stored last run. */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type { Plan } from "../config/cron.js"
import type { Sleeper } from "../primitives/wakeups.js"

/** Scheduled times passed that no run took: the latest of them, and how many (counted up to 1,000). */
export interface Missed {
  readonly latest: number
  readonly count: number
}

/** Beyond it, missed times are not counted one by one (a per-second schedule missed for a year). */
const countLimit = 1_000

/** How a store key names a task's last scheduled run. */
const keyOf = (name: string): string => `effect-taskvisor/cron/${name}`

/**
 * The schedule of one cron task. The actor reads and moves it between its
 * steps; the store (the caller's `KeyValueStore`, if any) keeps the latest
 * scheduled time dealt with (a run started, or the time skipped), so a restart
 * knows what it missed.
 */
export class CronRuns implements Sleeper {
  /**
   * The latest scheduled time dealt with (run, skipped, kept, or the time
   * the schedule began at); the times after it are still to come.
   * `undefined` until the store was read.
   */
  cursor: number | undefined = undefined
  /** The scheduled time of the run in progress or due (a manual run: when it was asked for). */
  slot: number | undefined = undefined
  /** A run was asked for by `trigger`: it runs next, and the schedule does not move. */
  triggered = false
  /**
   * Scheduled times kept to run when the run in progress ends (`bufferOne`,
   * `bufferAll`), oldest first; made when the first is kept.
   */
  buffered: Array<number> | undefined = undefined
  /** The scheduled time it waits for (`next` is that time with its jitter). */
  upcoming: number | undefined = undefined
  /**
   * When it runs next, as `list` shows it (epoch milliseconds): the end of its
   * wait (its jitter included), or, while a run runs, the next scheduled time;
   * `undefined` while paused or a run is due.
   */
  next: number | undefined = undefined
  /** While it waits for `next` on the live clock: how its actor's fiber is resumed (see `untilAs`). */
  resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  private readonly store: KeyValueStore.KeyValueStore | undefined

  constructor(readonly plan: Plan, private readonly name: string, services: Context.Context<never>) {
    this.store = Option.getOrUndefined(Context.getOption(services, KeyValueStore.KeyValueStore))
  }

  /** Its key in the store (made when used: 10,000 scheduled tasks keep no string each). */
  private get key(): string {
    return keyOf(this.name)
  }

  /** How many scheduled times are kept to run. */
  get keptCount(): number {
    return this.buffered?.length ?? 0
  }

  /** Keep `at` to run when the run in progress ends. */
  keep(at: number): void {
    ;(this.buffered ??= []).push(at)
  }

  /** The oldest scheduled time kept to run, taken. */
  takeKept(): number | undefined {
    return this.buffered?.shift()
  }

  /**
   * Paused: the run in progress is over, its next time unknown until resumed, and the runs kept to follow it are
   * missed again (from the first of them on), for `catchUp` to decide about as it resumes.
   */
  suspend(): void {
    const kept = this.buffered?.[0]
    // scheduled times fall on whole seconds: the first after this one is the kept time
    if (kept !== undefined) this.cursor = kept - 1
    this.buffered = undefined
    this.slot = undefined
    this.next = undefined
  }

  /** The first scheduled time after `at`; `undefined` if there is none (effect's `Cron` found none ahead). */
  nextAfter(at: number): number | undefined {
    try {
      return Cron.next(this.plan.cron, at).getTime()
    } catch {
      return undefined
    }
  }

  /** The scheduled times after the cursor, up to `now`, that no run took. */
  missed(now: number): Missed | undefined {
    let at = this.nextAfter(this.cursor!)
    if (at === undefined || at > now) return undefined
    let latest = at
    let count = 0
    while (at !== undefined && at <= now && count < countLimit) {
      latest = at
      count++
      at = this.nextAfter(at)
    }
    // past the count, the latest is found from the other end
    if (count === countLimit) latest = Math.max(latest, this.latestUpTo(now) ?? latest)
    return { latest, count }
  }

  private latestUpTo(now: number): number | undefined {
    try {
      return Cron.prev(this.plan.cron, now + 1).getTime()
    } catch {
      return undefined
    }
  }

  /** Whether a missed time at `latest` is still within the catch-up window at `now`. */
  catchesUp(latest: number, now: number): boolean {
    return this.plan.catchUp !== undefined && now - latest <= this.plan.catchUp
  }

  /** A jitter for the next run, from the fiber's `Random`. */
  jitter(): Effect.Effect<number> {
    return this.plan.jitter === 0 ? Effect.succeed(0) : Random.nextIntBetween(0, this.plan.jitter + 1)
  }

  /**
   * The latest scheduled time the store kept, if it has one: a store that
   * fails (or keeps something else) is logged and read as none.
   */
  load(): Effect.Effect<number | undefined> {
    const store = this.store
    if (store === undefined) return Effect.succeed(undefined)
    return Effect.map(this.guarded("read", () => store.get(this.key)), (value) => {
      const at = value === undefined || Option.isNone(value) ? Number.NaN : Date.parse(value.value)
      return Number.isNaN(at) ? undefined : at
    })
  }

  /**
   * Keep `at` as the latest scheduled time dealt with (a run started, or the
   * time skipped); a store that fails is logged, and the task goes on.
   */
  save(at: number): Effect.Effect<void> {
    const store = this.store
    return store === undefined
      ? Effect.void
      : Effect.asVoid(this.guarded("written", () => store.set(this.key, new Date(at).toISOString())))
  }

  /**
   * A use of the store (a user value: it may throw, fail or hang), interruptible
   * for the task's stop; a failure is logged and reads as `undefined`.
   */
  private guarded<A, E>(what: string, use: () => Effect.Effect<A, E>): Effect.Effect<A | undefined> {
    return Effect.catchAllCause(
      Effect.interruptible(Effect.suspend(use)),
      (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.interrupt
          : Effect.as(Effect.logWarning(`the cron store could not be ${what}: ${this.key}`, cause), undefined)
    )
  }
}
