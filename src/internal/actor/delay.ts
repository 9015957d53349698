/** The actor's delays: a sleep on the task's clock, and a zero delay that arms no timer. */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { zeroDelay } from "../primitives/eventLoop.js"
import { maxTimer, sleep as sleepAs, type Sleeper, wakeAt } from "../primitives/wakeups.js"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
const liveZero = Effect.interruptible(zeroDelay)
const testZero = Effect.interruptible(Effect.yieldNow())

/**
 * A zero delay arms no timer: the clock's `sleep` of 0 ms costs about a
 * millisecond on Node (a zero-backoff restart loop through it runs at 0.03x
 * an `Effect.retry` loop: `npm run bench -- --filter restart/`). On the live
 * clock it is `zeroDelay`, which lets the event loop turn within a bounded
 * stretch of pauses; on any other clock (`TestClock`) it is a plain yield:
 * `zeroDelay` decides on real time and a process-wide count of pauses, so a
 * test on `TestClock` would see a hot task stop for real turns of the event
 * loop at moments that depend on the machine's load and the tests run before.
 */
export const zeroOn = (clock: Clock.Clock): Effect.Effect<void> => clock === liveClock ? liveZero : testZero

/** Wait `delay` (interruptibly), on `clock` for a zero delay. */
export const sleep = (clock: Clock.Clock, delay: Duration.Duration): Effect.Effect<void> =>
  Duration.isZero(delay)
    ? zeroOn(clock)
    : Effect.interruptible(Duration.isFinite(delay) ? Effect.sleep(delay) : Effect.never)

/**
 * Wait (interruptibly) until `clock` reads `at` (epoch milliseconds;
 * `Infinity`: for ever). On the live clock every such wait shares one timer
 * (`wakeAt`): a cron task waiting for its next time holds no timer of its own.
 * On any other clock (`TestClock`) it is the clock's `sleep`, in steps.
 */
export const until = (clock: Clock.Clock, at: number): Effect.Effect<void> =>
  clock === liveClock ? Effect.interruptible(wakeAt(at)) : untilOn(clock, at)

/**
 * `until`, waiting on the live clock as `sleeper` with no canceler: a fiber
 * interrupted in it must `leave` (primitives/wakeups.ts) as `sleeper`.
 */
export const untilAs = (clock: Clock.Clock, at: number, sleeper: Sleeper): Effect.Effect<void> =>
  clock === liveClock ? Effect.interruptible(sleepAs(at, sleeper)) : untilOn(clock, at)

const untilOn = (clock: Clock.Clock, at: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const left = at - clock.unsafeCurrentTimeMillis()
    return left <= 0
      ? Effect.void
      : Effect.zipRight(
        Effect.interruptible(clock.sleep(Duration.millis(Math.min(left, maxTimer)))),
        untilOn(clock, at)
      )
  })
