/** The singletons registered on a runner and what it knows of them; loads no `@effect/cluster`, for the HTTP endpoint. */
import * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { Registry } from "../supervisor/registry.js"

/** What one runner knows of a singleton it registered. */
export interface SingletonView {
  readonly name: string
  /** The runner that owns it, as far as this runner knows (`undefined`: none answered). */
  readonly owner: string | undefined
  /** Whether its task runs (registered, neither parked nor paused) on its owner. */
  readonly running: boolean
  /** Whether this runner is its owner. */
  readonly local: boolean
  /** Since when (epoch ms) it has run nowhere, when it does not run. */
  readonly unownedSince: number | undefined
  /** How long it may run nowhere before `SingletonUnowned` (and before its owner is not ready). */
  readonly unownedAfter: Duration.Duration
  /** Whether this runner stopped it because it could not confirm its lease, and has not confirmed it since. */
  readonly fenced: boolean
}

/**
 * An owner's hold on its singleton's shard: a request to the `Owner` entity,
 * on the same shard, that returns only once the task stopped. The engine
 * releases a shard only after its entities ended (within its
 * `entityTerminationTimeout`), but stops singletons beside that, not before
 * it: held, a handover waits for the old owner's task to stop before the new
 * owner can take the shard.
 */
export interface Hold {
  readonly entered: Deferred.Deferred<void>
  readonly stopped: Effect.Latch
}

/** One registered singleton's state on this runner. */
export class Entry {
  /** Whether this runner owns it (between its acquisition and its release or fencing). */
  owned = false
  /** Whether this runner fenced it and has not confirmed its lease since. */
  fenced = false
  /** Its owner as last seen: this runner, the one that answered for it, or `undefined` when none did. */
  owner: string | undefined = undefined
  /** Since when (epoch ms) it has run nowhere; `undefined` while it runs. */
  unownedSince: number | undefined
  /** While owned: the `Hold` request that keeps the shard from being released before the task stopped. */
  hold: Hold | undefined = undefined
  constructor(readonly name: string, readonly registry: Registry, readonly unownedAfter: Duration.Duration) {
    this.unownedSince = registry.now()
  }
  /** Whether its task runs here: registered, not stopping, neither parked nor paused. */
  get runsHere(): boolean {
    const task = this.registry.find(this.name)
    if (task === undefined) return false
    const state = task.state._tag
    return state !== "Parked" && state !== "Paused" && state !== "Finished" && state !== "Stopping"
  }
}

/** The singletons registered on this runner, by name, and the runner's address. */
export class Singletons extends Context.Tag("effect-taskvisor/cluster/Singletons")<Singletons, {
  readonly entries: Map<string, Entry>
  readonly runner: string
}>() {}

/** What this runner knows of each singleton it registered, sorted by name. */
export const views = (singletons: Singletons["Type"]): Array<SingletonView> =>
  Array.from(singletons.entries.values(), (entry): SingletonView => {
    const running = entry.owned ? entry.runsHere : entry.unownedSince === undefined
    return {
      name: entry.name,
      owner: entry.owned ? singletons.runner : entry.owner,
      running,
      local: entry.owned,
      unownedSince: running ? undefined : entry.unownedSince,
      unownedAfter: entry.unownedAfter,
      fenced: entry.fenced
    }
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
