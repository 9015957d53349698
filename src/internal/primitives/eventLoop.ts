/** Zero-delay pauses: as cheap as a fiber yield, but never so many in a row that timers and I/O starve. */
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"

/**
 * Effect's scheduler resumes yielded fibers in microtasks and lets Node's event
 * loop turn only every 2048 rounds, so a hot loop of zero-delay retries would
 * hold back every timer and I/O callback of the process (a 10 ms timeout firing
 * 150 ms late). A pause is a plain yield while the current stretch without a
 * turn of the event loop is short (`maxPauses` pauses and `maxMillis`); past
 * that, it waits for the next turn, one `setImmediate` shared by every fiber
 * pausing meanwhile. A turn that happens for any other reason starts a new
 * stretch. The state is process-wide, as the event loop is.
 */
const maxPauses = 256
const maxMillis = 1

interface Stretch {
  /** A `setImmediate` is pending: it ends the stretch when the event loop turns. */
  armed: boolean
  pauses: number
  started: number
  readonly waiters: Set<(effect: Effect.Effect<void>) => void>
}

const stretch: Stretch = globalValue(
  Symbol.for("effect-taskvisor/internal/eventLoop/stretch"),
  (): Stretch => ({ armed: false, pauses: 0, started: 0, waiters: new Set() })
)

const schedule: (callback: () => void) => void = typeof setImmediate === "function"
  ? (callback) => void setImmediate(callback)
  : (callback) => void setTimeout(callback, 0)

const turned = (): void => {
  stretch.armed = false
  stretch.pauses = 0
  const waiters = Array.from(stretch.waiters)
  stretch.waiters.clear()
  for (const resume of waiters) resume(Effect.void)
}

const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  stretch.waiters.add(resume)
  return Effect.sync(() => stretch.waiters.delete(resume))
})

const yieldNow = Effect.yieldNow()

/** Yield to other fibers, and to the event loop when it has not turned for a while. */
export const zeroDelay: Effect.Effect<void> = Effect.suspend(() => {
  if (!stretch.armed) {
    stretch.armed = true
    stretch.started = performance.now()
    schedule(turned)
  }
  const pauses = ++stretch.pauses
  // the clock is read every 32nd pause: a pause must stay about as cheap as a plain yield
  return pauses <= maxPauses && ((pauses & 31) !== 0 || performance.now() - stretch.started < maxMillis)
    ? yieldNow
    : nextTurn
})
