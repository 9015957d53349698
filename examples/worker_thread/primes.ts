/**
 * The worker module of examples/worker_thread.ts: it counts primes by trial division, in one synchronous loop that
 * never yields, so nothing but `terminate()` stops it before it is done.
 */
import { Effect, Stream } from "effect"
import * as WorkerTask from "effect-taskvisor/WorkerTask"
import { CountPrimes } from "./requests.js"

const countPrimes = (below: number): number => {
  let count = 0
  for (let n = 2; n < below; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

WorkerTask.serve(CountPrimes, ({ below }) =>
  Stream.concat(
    Stream.make(`counting the primes below ${below}`),
    Stream.fromEffect(Effect.sync(() => `${countPrimes(below)} primes below ${below}`))
  ))
