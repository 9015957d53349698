/** A runner's check of its own part in the cluster, for `/ready`; loads no `@effect/cluster`, for the HTTP endpoint. */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/**
 * Whether this runner can do its cluster work: `undefined` while it can, else
 * why not (its engine shut down, its storage does not answer). Singletons
 * and sharded slots both need it: a runner that cannot reach the storage
 * holds no shard for long and reads no message.
 */
export class ClusterReadiness extends Context.Tag("effect-taskvisor/cluster/ClusterReadiness")<
  ClusterReadiness,
  { readonly check: Effect.Effect<string | undefined> }
>() {}
