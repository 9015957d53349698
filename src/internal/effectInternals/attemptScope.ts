/** The `Scope` of one attempt: made with the attempt, its finalizer map allocated only if the attempt uses it. */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import { pipeArguments } from "effect/Pipeable"
import * as Scope from "effect/Scope"

type State =
  | { readonly _tag: "Open"; readonly finalizers: Map<{}, Scope.Scope.Finalizer> }
  | { readonly _tag: "Closed"; readonly exit: Exit.Exit<unknown, unknown> }

/**
 * What `Effect.scoped` gives an effect, without its cost on every attempt of
 * every task: no context copy of its own (it rides in the context that carries
 * `CurrentTask`), no frames around the attempt (the retry loop closes it), and
 * no finalizer map until something is added. Finalizers run in reverse order
 * of addition, one after another, as in `Effect.scoped`.
 *
 * Effect 3 drives a `Scope` through `addFinalizer`, `fork` and `close` (marked
 * internal in its declarations, so not in the interface seen here), and
 * `Effect.forkIn` reads `state` directly (`{ _tag: "Open", finalizers }`, its
 * map written to, or `{ _tag: "Closed", exit }`): this class keeps that shape,
 * with `state` made on first use. test/EffectInternals.test.ts pins it.
 */
export class AttemptScope implements Scope.CloseableScope {
  declare readonly [Scope.ScopeTypeId]: Scope.ScopeTypeId
  declare readonly [Scope.CloseableScopeTypeId]: Scope.CloseableScopeTypeId
  declare readonly strategy: ExecutionStrategy.ExecutionStrategy
  private finalizers: Map<{}, Scope.Scope.Finalizer> | undefined = undefined
  /** Set once closed. */
  private exit: Exit.Exit<unknown, unknown> | undefined = undefined

  get state(): State {
    return this.exit === undefined
      ? { _tag: "Open", finalizers: this.finalizers ??= new Map() }
      : { _tag: "Closed", exit: this.exit }
  }

  set state(state: State) {
    if (state._tag === "Closed") this.exit = state.exit
    else this.finalizers = state.finalizers
  }

  addFinalizer(finalizer: Scope.Scope.Finalizer): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.exit !== undefined) return finalizer(this.exit)
      ;(this.finalizers ??= new Map()).set({}, finalizer)
      return Effect.void
    })
  }

  fork(strategy: ExecutionStrategy.ExecutionStrategy): Effect.Effect<Scope.CloseableScope> {
    return Effect.flatMap(Scope.make(strategy), (child) => {
      if (this.exit !== undefined) return Effect.as(Scope.close(child, this.exit), child)
      const key = {}
      ;(this.finalizers ??= new Map()).set(key, (exit: Exit.Exit<unknown, unknown>) => Scope.close(child, exit))
      return Effect.as(Scope.addFinalizer(child, Effect.sync(() => this.finalizers?.delete(key))), child)
    })
  }

  close(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.suspend(() => this.end(exit) ?? Effect.void)
  }

  /** Close it now, as its attempt ends: the effect that runs its finalizers, or `undefined` if it has none. */
  end(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> | undefined {
    if (this.exit !== undefined) return undefined
    this.exit = exit
    const finalizers = this.finalizers
    // released with the scope: what the finalizers hold must not outlive it
    this.finalizers = undefined
    if (finalizers === undefined || finalizers.size === 0) return undefined
    return Effect.flatMap(
      Effect.forEach(Array.from(finalizers.values()).reverse(), (finalizer) => Effect.exit(finalizer(exit))),
      (exits) => {
        const failures = exits.filter(Exit.isFailure)
        return failures.length === 0
          ? Effect.void
          : Effect.failCause(failures.map((failure) => failure.cause).reduce(Cause.sequential))
      }
    )
  }

  pipe() {
    return pipeArguments(this, arguments)
  }
}

Object.assign(AttemptScope.prototype, {
  [Scope.ScopeTypeId]: Scope.ScopeTypeId,
  [Scope.CloseableScopeTypeId]: Scope.CloseableScopeTypeId,
  strategy: ExecutionStrategy.sequential
})
