/** Wake-ups at times of the live clock: the waiters for one time kept together, one timer armed for the earliest. */
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"

/**
 * The longest timer the runtime arms (Node fires a longer one at once, and
 * effect's `Clock` never arms it): a later time is reached in steps.
 */
export const maxTimer = 2 ** 31 - 1

/** A fiber waiting in `sleep` for a time, as the waiters of that time keep it. */
export interface Sleeper {
  /** How its fiber is resumed, while it waits. */
  resume: ((effect: Effect.Effect<void>) => void) | undefined
}

interface Wakeups {
  /** The waiters of each time (epoch milliseconds). */
  readonly waiters: Map<number, Set<Sleeper>>
  /** The times of `waiters`, as a binary min-heap; a time whose waiters all left stays until it is reached. */
  readonly times: Array<number>
  timer: ReturnType<typeof setTimeout> | undefined
  /** The time the timer is armed for; `Infinity`: none. */
  armedFor: number
}

const wakeups: Wakeups = globalValue(
  Symbol.for("effect-taskvisor/internal/wakeups"),
  (): Wakeups => ({ waiters: new Map(), times: [], timer: undefined, armedFor: Infinity })
)

const push = (times: Array<number>, at: number): void => {
  let i = times.push(at) - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (times[parent] <= at) break
    times[i] = times[parent]
    i = parent
  }
  times[i] = at
}

const pop = (times: Array<number>): void => {
  const last = times.pop()!
  if (times.length === 0) return
  let i = 0
  for (;;) {
    const left = 2 * i + 1
    if (left >= times.length) break
    const child = left + 1 < times.length && times[left + 1] < times[left] ? left + 1 : left
    if (times[child] >= last) break
    times[i] = times[child]
    i = child
  }
  times[i] = last
}

/** Arm the timer for the earliest time that has waiters, if it is not armed for it already. */
const arm = (): void => {
  const { times, waiters } = wakeups
  while (times.length > 0 && !waiters.has(times[0])) pop(times)
  const earliest = times.length === 0 ? Infinity : times[0]
  if (earliest === wakeups.armedFor) return
  if (wakeups.timer !== undefined) clearTimeout(wakeups.timer)
  wakeups.timer = undefined
  wakeups.armedFor = earliest
  if (earliest === Infinity) return
  // a timer may fire a little before the wall clock reads its time: then it is armed again
  wakeups.timer = setTimeout(fire, Math.min(Math.max(1, earliest - Date.now()), maxTimer))
}

const fire = (): void => {
  wakeups.timer = undefined
  wakeups.armedFor = Infinity
  const { times, waiters } = wakeups
  const now = Date.now()
  while (times.length > 0 && times[0] <= now) {
    const at = times[0]
    pop(times)
    const due = waiters.get(at)
    if (due === undefined) continue
    waiters.delete(at)
    for (const sleeper of due) {
      const resume = sleeper.resume!
      sleeper.resume = undefined
      resume(Effect.void)
    }
  }
  arm()
}

const add = (at: number, sleeper: Sleeper): void => {
  const { waiters } = wakeups
  const known = waiters.get(at)
  if (known !== undefined) {
    known.add(sleeper)
    return
  }
  waiters.set(at, new Set([sleeper]))
  push(wakeups.times, at)
  if (at < wakeups.armedFor) arm()
}

/**
 * `sleeper` no longer waits for `at` (its fiber was interrupted in `sleep`):
 * it leaves its waiters (if it is still among them), and the timer is armed
 * for the next time if it was the last waiter of the earliest.
 */
export const leave = (at: number, sleeper: Sleeper): void => {
  sleeper.resume = undefined
  const known = wakeups.waiters.get(at)
  if (known === undefined || !known.delete(sleeper) || known.size > 0) return
  wakeups.waiters.delete(at)
  if (at === wakeups.armedFor) arm()
}

/**
 * Completes once `Date.now()` reads `at` (epoch milliseconds; `Infinity`:
 * never). Many fibers waiting for the same or different times share one
 * timer, armed for the earliest, so a waiting fiber costs no timer of its own.
 * The wait has no canceler (an `Effect.async` canceler costs a waiting fiber
 * about 1.5 KB of heap): a fiber interrupted in it must `leave`, as the
 * `sleeper` it waited as.
 */
export const sleep = (at: number, sleeper: Sleeper): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (at <= Date.now()) return resume(Effect.void)
    sleeper.resume = resume
    add(at, sleeper)
  })

/** `sleep` that leaves the waiters itself when interrupted. */
export const wakeAt = (at: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const sleeper: Sleeper = { resume: undefined }
    return Effect.onInterrupt(sleep(at, sleeper), () => Effect.sync(() => leave(at, sleeper)))
  })
