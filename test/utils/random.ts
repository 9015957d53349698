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

/** A whole number from the environment variable `name`, `fallback` when it is unset; anything else is refused. */
const integerFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`)
  return value
}

/**
 * The seed of every fast-check property: fixed, so that every run checks the
 * same cases (tests are deterministic); `PROPS_SEED` picks another one. A
 * failing property prints its seed and path (`{ seed: …, path: "…" }`): run
 * again with that `PROPS_SEED` to replay it.
 */
export const propertySeed: number = integerFromEnv("PROPS_SEED", 20261123)

/** `PROPS_SCALE` multiplies the runs of every property, for longer explorations (default 1). */
const scale = Number(process.env.PROPS_SCALE || "1")
if (!(scale > 0 && Number.isFinite(scale))) {
  throw new Error(`PROPS_SCALE must be a positive number, got ${JSON.stringify(process.env.PROPS_SCALE)}`)
}

/** The number of runs of a property checking `runs` cases by default, scaled by `PROPS_SCALE` (at least 1). */
export const propertyRuns = (runs: number): number => Math.max(1, Math.round(runs * scale))
