/**
 * Baselines measured in the same run as the supervisor: the same task bodies
 * and the same timed regions, without supervision.
 *
 * - `baseline/fork`: `Effect.forkDaemon` every body, then `Fiber.join` each.
 * - `baseline/fibermap`: `FiberMap.run` every body under its own key, then
 *   `FiberMap.awaitEmpty`; its per-op variants stand in for `add`, `add`+`cancel`
 *   and churn, and its `run` on one key (interrupting the previous fiber, or
 *   `onlyIfMissing`) for the controller's `replace` and `dropIfRunning`.
 * - `baseline/semaphore`: one `Semaphore(1)` per slot for the controller's `queue`.
 * - `baseline/retry`: a hand-written `Effect.retry(Schedule.recurs(k))` of a body that fails at once.
 *
 * Every `FiberMap` is built before the timed region, like the supervisor.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Sample, Workload } from "./harness.js"
import { timed } from "./harness.js"
import { instant, short, worker } from "./workloads.js"

const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

const withFiberMap = <A, E>(
  use: (map: FiberMap.FiberMap<number | string>) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E> => Effect.scoped(Effect.flatMap(FiberMap.make<number | string>(), use))

/** Fork `n` bodies as daemons, then join them all: µs per task. */
export const fork = (param: string, n: number, body: Effect.Effect<void>): Workload => ({
  id: "baseline/fork",
  param,
  kind: "perOp",
  unit: "µs/task",
  samples: n === 1 ? 50 : 30,
  sample: Effect.suspend(() => {
    const bodies = range(n).map(() => body)
    return Effect.map(
      timed(
        Effect.flatMap(
          Effect.forEach(bodies, Effect.forkDaemon),
          (fibers) => Effect.forEach(fibers, Fiber.join, { discard: true })
        )
      ),
      ([ms]): Sample => ({ ms, units: n })
    )
  })
})

/** `FiberMap.run` `n` bodies under distinct keys, then `FiberMap.awaitEmpty`: µs per task. */
export const fiberMap = (param: string, n: number, body: Effect.Effect<void>): Workload => ({
  id: "baseline/fibermap",
  param,
  kind: "perOp",
  unit: "µs/task",
  samples: n === 1 ? 50 : 30,
  sample: withFiberMap((map) =>
    Effect.map(
      timed(
        Effect.zipRight(
          Effect.forEach(range(n), (i) => FiberMap.run(map, i, body), { discard: true }),
          FiberMap.awaitEmpty(map)
        )
      ),
      ([ms]): Sample => ({ ms, units: n })
    )
  )
})

/** Sum of per-op times, each op timed alone (like `dynamic/add`). */
const timeEach = <X, E>(n: number, op: (i: number) => Effect.Effect<X, E>): Effect.Effect<number, E> =>
  Effect.gen(function*() {
    let total = 0
    for (let i = 0; i < n; i++) {
      const start = performance.now()
      yield* op(i)
      total += performance.now() - start
    }
    return total
  })

/** 1000 × `FiberMap.run(map, i, instant)`, each timed: the counterpart of `dynamic/add`. */
export const fiberMapAdd: Workload = {
  id: "baseline/fibermap_add",
  param: "1000 runs",
  kind: "perOp",
  unit: "µs/run",
  sample: withFiberMap((map) =>
    Effect.gen(function*() {
      const ms = yield* timeEach(1000, (i) => FiberMap.run(map, i, instant))
      yield* FiberMap.awaitEmpty(map)
      return { ms, units: 1000 }
    })
  )
}

/** 1000 × (`FiberMap.run(map, i, never)`; `FiberMap.remove(map, i)`), each timed: the counterpart of `dynamic/add_cancel`. */
export const fiberMapAddRemove: Workload = {
  id: "baseline/fibermap_add_remove",
  param: "1000 ops",
  kind: "perOp",
  unit: "µs/op",
  sample: withFiberMap((map) =>
    Effect.map(
      timeEach(1000, (i) => Effect.zipRight(FiberMap.run(map, i, worker), FiberMap.remove(map, i))),
      (ms): Sample => ({ ms, units: 1000 })
    )
  )
}

/** `n` parked fibers in a `FiberMap`, then `FiberMap.clear` (interrupts and awaits them): the counterpart of churn. */
export const fiberMapChurn = (n: number): Workload => ({
  id: "baseline/fibermap_churn",
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  sample: withFiberMap((map) =>
    Effect.map(
      timed(Effect.zipRight(
        Effect.forEach(range(n), (i) => FiberMap.run(map, i, worker), { discard: true }),
        FiberMap.clear(map)
      )),
      ([ms]): Sample => ({ ms, units: n })
    )
  )
})

/** `n` × `FiberMap.run` on one key, replacing (interrupting) the previous fiber or, `onlyIfMissing`, keeping it: µs per run. */
export const fiberMapSlot = (
  id: string,
  n: number,
  body: Effect.Effect<void>,
  onlyIfMissing: boolean
): Workload => ({
  id,
  param: String(n),
  kind: "perOp",
  unit: "µs/run",
  sample: withFiberMap((map) =>
    Effect.map(
      timed(Effect.forEach(range(n), () => FiberMap.run(map, "slot", body, { onlyIfMissing }), { discard: true })),
      ([ms]): Sample => ({ ms, units: n })
    )
  )
})

export const fiberMapReplace = (n: number): Workload => fiberMapSlot("baseline/fibermap_replace", n, short, false)

export const fiberMapOnlyIfMissing = (id: string, n: number, body: Effect.Effect<void>): Workload =>
  fiberMapSlot(id, n, body, true)

/** `n` instant tasks forked at once, serialised through one `Semaphore(1)` per slot; wait for all: tasks/s. */
export const semaphoreQueue = (id: string, n: number, slots: number): Workload => ({
  id,
  param: String(n),
  kind: "rate",
  unit: "tasks/s",
  sample: Effect.gen(function*() {
    const semaphores = yield* Effect.forEach(range(slots), () => Effect.makeSemaphore(1))
    const [ms] = yield* timed(
      Effect.flatMap(
        Effect.forEach(range(n), (i) => Effect.forkDaemon(semaphores[i % slots].withPermits(1)(instant))),
        (fibers) => Effect.forEach(fibers, Fiber.join, { discard: true })
      )
    )
    return { ms, units: n }
  })
})

/**
 * `k + 1` attempts of a body that fails at once, as `Effect.retry(Schedule.recurs(k))`: attempts/s. With
 * `clockSleep`, each attempt first sleeps 0 ms on Effect's live clock: what a zero backoff costs when it goes through
 * the clock's `sleep` (a timer per retry) instead of the supervisor's zero-delay pause (see `actor/delay.ts`).
 */
export const retryLoop = (k: number, clockSleep = false): Workload => ({
  id: clockSleep ? "baseline/retry_clock_sleep0" : "baseline/retry",
  param: `${k}_retries`,
  kind: "rate",
  unit: "attempts/s",
  samples: 10,
  warmup: 2,
  sample: Effect.suspend(() => {
    const state = { attempts: 0 }
    const fail = Effect.suspend(() => {
      state.attempts++
      return Effect.fail("boom")
    })
    const failing = clockSleep ? Effect.zipRight(Effect.sleep(Duration.zero), fail) : fail
    return Effect.map(
      timed(Effect.exit(Effect.retry(failing, Schedule.recurs(k)))),
      ([ms]): Sample => ({ ms, units: state.attempts, extra: { attempts: state.attempts } })
    )
  })
})
