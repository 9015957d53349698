/**
 * How costs grow with the fleet: `add`+`cancel` and `list` on a supervisor
 * that already holds N live (parked) tasks. (The large batch, a `run` of
 * 50,000 single-attempt tasks, is `throughput/batch_nosub` with a larger N.)
 *
 * A fleet (a supervisor and its N parked tasks) is built once per N, outside
 * every timed region, and kept for all the samples of its rows; building
 * 100,000 tasks anew per sample would take longer than the rest of the run.
 */
import { TaskSpec } from "effect-taskvisor"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Sample, Workload } from "./harness.js"
import { timed } from "./harness.js"
import { awaitAlive, benchInput, type Supervisor, supervisorIn, worker } from "./workloads.js"

/** A supervisor holding `size` parked tasks, until `close`. */
export interface Fleet {
  readonly size: number
  readonly supervisor: Supervisor
  readonly close: () => Promise<void>
}

/** Build a supervisor and park `size` tasks on it (`Effect.never`), waiting until the last one runs. */
export const openFleet = async (size: number): Promise<Fleet> => {
  const scope = Effect.runSync(Scope.make())
  const supervisor = await Effect.runPromise(
    Effect.gen(function*() {
      const supervisor = yield* supervisorIn(benchInput, scope)
      for (let i = 0; i < size; i++) yield* supervisor.add(TaskSpec.make(`fleet-${i}`, worker))
      if (size > 0) yield* awaitAlive(supervisor, `fleet-${size - 1}`)
      return supervisor
    })
  )
  return { size, supervisor, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** How a fleet's size is written in a row's parameter. */
export const sizeLabel = (size: number): string => size >= 1000 ? `${size / 1000}k_live` : `${size}_live`

/** Operations per `add_cancel` sample. */
const OPS = 1000

/** One sample: `OPS` × (`add` of a parked task, then `cancel` of it), each timed: µs per add+cancel. */
export const addCancel = (fleet: Fleet): Workload => {
  let round = 0
  return {
    id: "scale/add_cancel",
    param: sizeLabel(fleet.size),
    kind: "perOp",
    unit: "µs/op",
    samples: 15,
    sample: Effect.suspend(() => {
      const specs = Array.from({ length: OPS }, (_, i) => TaskSpec.make(`ac-${round}-${i}`, worker))
      round++
      return Effect.gen(function*() {
        let ms = 0
        for (const spec of specs) {
          const start = performance.now()
          yield* Effect.flatMap(fleet.supervisor.add(spec), (handle) => fleet.supervisor.cancel(handle.id))
          ms += performance.now() - start
        }
        return { ms, units: OPS }
      })
    })
  }
}

/**
 * One sample: `list` of the fleet, repeated so that each sample covers about
 * a million entries; ns per entry listed (the harness's µs per unit, with a
 * unit of 1,000 entries).
 */
export const list = (fleet: Fleet): Workload => {
  const repeats = Math.max(1, Math.round(1_000_000 / fleet.size))
  return {
    id: "scale/list",
    param: sizeLabel(fleet.size),
    kind: "perOp",
    unit: "ns/entry",
    samples: 15,
    sample: Effect.map(
      timed(Effect.gen(function*() {
        let listed = 0
        for (let i = 0; i < repeats; i++) listed += (yield* fleet.supervisor.list).length
        return listed
      })),
      ([ms, listed]): Sample => ({ ms, units: listed / 1000, extra: { listed: listed / repeats } })
    )
  }
}
