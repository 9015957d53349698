/** A `Context` made over a read-only view of services (a base map with a few entries of its own), not over a copy. */
import * as Context from "effect/Context"

/**
 * The services of a context: those of `base`, with the view's own entries
 * (`ownKeys`, answered by `ownValue`) over them, read through rather than
 * copied. A subclass names its keys (one array for every view of its kind) and
 * holds their values.
 *
 * Effect 3 reads a context's `unsafeMap` only through `get`, `has`, `size`,
 * `keys`, `forEach` and iteration, and extends a context by copying its map
 * through its iterator, never writing to it: so a context can be made over
 * such a view rather than a `Map` (`Context.unsafeMake` is typed to take a
 * `Map`). test/EffectInternals.test.ts pins it.
 */
export abstract class ContextView implements ReadonlyMap<string, unknown> {
  constructor(readonly base: ReadonlyMap<string, unknown>) {}

  /** The keys the view answers itself, in iteration order. */
  protected abstract get ownKeys(): ReadonlyArray<string>

  /** The value of `ownKeys[index]`. */
  protected abstract ownValue(index: number): unknown

  get(key: string): unknown {
    const index = this.ownKeys.indexOf(key)
    return index === -1 ? this.base.get(key) : this.ownValue(index)
  }

  has(key: string): boolean {
    return this.ownKeys.includes(key) || this.base.has(key)
  }

  get size(): number {
    let size = this.base.size
    for (const key of this.ownKeys) if (!this.base.has(key)) size++
    return size
  }

  *entries(): MapIterator<[string, unknown]> {
    // its own first: comparing two views' contexts stops at the first entry
    const keys = this.ownKeys
    for (let i = 0; i < keys.length; i++) yield [keys[i], this.ownValue(i)]
    for (const entry of this.base) {
      if (!keys.includes(entry[0])) yield entry
    }
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key
  }

  *values(): MapIterator<unknown> {
    for (const [, value] of this.entries()) yield value
  }

  forEach(f: (value: unknown, key: string, map: ReadonlyMap<string, unknown>) => void, self?: unknown): void {
    for (const [key, value] of this.entries()) f.call(self, value, key, this)
  }

  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries()
  }
}

/** A context whose services are `view`'s. */
export const contextOf = (view: ContextView): Context.Context<never> =>
  Context.unsafeMake(view as unknown as Map<string, unknown>)

/** The services `context` reads: a view it was made over, or Effect's own map. */
export const servicesOf = (context: Context.Context<never>): ReadonlyMap<string, unknown> => context.unsafeMap
