/** The request of examples/worker_thread.ts, shared by the program and its worker module. */
import { Schema } from "effect"

/** Counts the primes below `below`; answers a line when it starts, then one with the count. */
export class CountPrimes extends Schema.TaggedRequest<CountPrimes>()("CountPrimes", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { below: Schema.Number }
}) {}
