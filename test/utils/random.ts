import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

/**
 * A `Random` that always draws the `r`-quantile of whatever range it is asked
 * for, whichever method the code under test uses: `r = 0` gives the lowest
 * value, `r = 1` the highest one the method can return (`max - 1` for the
 * exclusive `nextIntBetween`), `r = 0.5` the middle. It pins the ends of a
 * jitter range without depending on how the jitter is drawn.
 */
export const quantileRandom = (r: number): Random.Random => ({
  [Random.RandomTypeId]: Random.RandomTypeId,
  next: Effect.succeed(r),
  nextBoolean: Effect.succeed(r >= 0.5),
  nextInt: Effect.succeed(Math.round(r * Number.MAX_SAFE_INTEGER)),
  nextRange: (min, max) => Effect.succeed(min + r * (max - min)),
  nextIntBetween: (min, max) => Effect.succeed(min + Math.round(r * (max - 1 - min))),
  shuffle: (elements) => Effect.succeed(Chunk.fromIterable(elements))
})
