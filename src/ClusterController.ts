/**
 * Sharded slots: the `Controller`'s per-slot admission across a fleet of
 * runners on `@effect/cluster`.
 *
 * A `ClusterController` names a kind of work, the Schema of its payload, how
 * a payload names its slot, and how it becomes a `TaskSpec`. Every slot is
 * an entity of the cluster (its entity id is the slot key, its entity type
 * `ClusterController/<name>`), so each slot lives on exactly one runner at a
 * time: the runner that owns the slot key's shard.
 *
 * - Routing: `submit` and `run` send the payload to the slot's entity,
 *   wherever it runs; the runner that owns it builds the task there (so the
 *   task's requirements are that runner's) and hands it to its local
 *   `Controller` under the slot key `<name>/<slot>`.
 * - Admission, cluster-wide: every submission for a slot reaches the same
 *   runner's controller, so `Queue` (FIFO, one at a time), `Replace` (stop the
 *   owner, run the newest) and `DropIfRunning` (rejected `SlotBusy` while the
 *   slot is busy) hold across the fleet as they hold in one process. The
 *   entity admits concurrently (`concurrency: "unbounded"`): the controller,
 *   not the entity's mailbox, decides who waits. Different slots run in
 *   parallel, on whichever runners own them.
 * - Queued work is kept: a submission is a persisted message
 *   (`ClusterSchema.Persisted`). It stays in the cluster's message storage
 *   until its reply, the task's outcome, is written, which happens only when
 *   the task ends. If the slot's runner stops or dies first, queued and
 *   running submissions are delivered again, in their order, to the slot's
 *   next owner, which runs them. Delivery is therefore at least once: a task
 *   that was running when its runner died runs again from its start; make it
 *   idempotent, or make it check what was done.
 * - Handover: when a slot's shard moves away or its runner shuts down, the
 *   engine first lets the slot's submissions go on for up to
 *   `ShardingConfig.entityTerminationTimeout` (a task that ends within it
 *   replies as usual), then interrupts them: each stops its task gracefully
 *   through the local supervisor (its grace, then force-abort), or takes it
 *   off the slot's queue, and ends without a reply, so the next owner runs
 *   it. New submissions wait in storage meanwhile, and the next owner takes
 *   the shard only after that. A runner that dies has no such window: its
 *   shard locks expire and the next owner reads the slot's submissions from
 *   storage when it takes them. Provide this layer
 *   over the supervisor and controller (`Layer.provide`), so that it closes
 *   before they do. Should this runner's supervisor or controller shut down
 *   first anyway, the outcomes that only say so (`ShuttingDown`, rejected
 *   `ControllerShuttingDown`, canceled or force-aborted by the shutdown) are
 *   not replied: the submissions wait, unanswered, until the slot moves.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Schema from "effect/Schema"
 * import * as ClusterController from "effect-taskvisor/ClusterController"
 * import * as ClusterRunner from "effect-taskvisor/ClusterRunner"
 * import { Controller, SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 *
 * const TenantSync = ClusterController.make("tenant-sync", {
 *   payload: Schema.Struct({ tenant: Schema.String }),
 *   slot: (payload) => payload.tenant,
 *   admission: "Queue",
 *   task: (payload) => TaskSpec.once(`sync-${payload.tenant}`, Effect.log(`syncing ${payload.tenant}`))
 * })
 *
 * const RunnerLive = TenantSync.layer.pipe(
 *   Layer.provideMerge(Controller.layer()),
 *   Layer.provideMerge(TaskSupervisor.layer),
 *   Layer.provide(SupervisorConfig.layerDefaults),
 *   Layer.provideMerge(ClusterRunner.layerEmbedded())
 * )
 *
 * const program = Effect.gen(function*() {
 *   yield* TenantSync.submit({ tenant: "acme" })
 *   const outcome = yield* TenantSync.run({ tenant: "acme" }, { admission: "Replace" })
 *   yield* Effect.log(outcome._tag)
 * })
 *
 * program.pipe(Effect.provide(RunnerLive), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */
import type { AlreadyProcessingMessage, MailboxFull, PersistenceError } from "@effect/cluster/ClusterError"
import type * as Sharding from "@effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Controller } from "./Controller.js"
import type { Admission } from "./ControllerSpec.js"
import * as internal from "./internal/cluster/slots.js"
import { SupervisorRegistry } from "./internal/supervisor/taskSupervisor.js"
import { ConfigError } from "./SupervisorError.js"
import type { TaskSpec } from "./TaskSpec.js"
import { TaskSupervisor } from "./TaskSupervisor.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: unique symbol = Symbol.for("effect-taskvisor/ClusterController")

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * How a submission ended, as the runner that owned its slot reports it: the
 * tags of `TaskOutcome`, with what crosses the network (the typed cause of a
 * failure stays on that runner, in its events and logs).
 *
 * - `Completed`: the task succeeded.
 * - `Failed` / `Fatal`: the task gave up; `reason` (and `exitCode`) as in
 *   `TaskOutcome`.
 * - `Canceled`: the task was stopped. `replaced` is `true` when a later
 *   `Replace` submission for the slot stopped it.
 * - `ForceAborted`: the task did not stop within its grace.
 * - `Rejected`: the work never ran; `kind` says why, as in `TaskOutcome`:
 *   `SlotBusy` for a `DropIfRunning` submission to a busy slot,
 *   `SupersededByReplace` for a `Replace` that a newer one displaced before it
 *   started, `QueueFull` when the slot's (or the controller's) queue is full.
 *
 * @since 0.1.0
 * @category Models
 */
export type Outcome = internal.Outcome

/**
 * The Schema of `Outcome`, for callers that send it on.
 *
 * @since 0.1.0
 * @category Models
 */
export const Outcome: Schema.Schema<Outcome, typeof internal.Outcome.Encoded> = internal.Outcome

/**
 * What `submit` and `run` may fail with: a `ConfigError` naming a bad input
 * (the payload does not match its Schema, the slot getter threw or gave no
 * non-empty string, the admission is not one of the three, or, from the
 * owning runner, the task builder threw or its spec was refused there), or
 * the cluster's own errors when the submission could not be stored or sent.
 *
 * @since 0.1.0
 * @category Errors
 */
export type SubmitError = ConfigError | PersistenceError | MailboxFull | AlreadyProcessingMessage

/**
 * @since 0.1.0
 * @category Models
 */
export interface SubmitOptions {
  /** This submission's admission instead of the controller's default. */
  readonly admission?: Admission | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options<A, I, E, R> {
  /** The payload's Schema: submissions cross the network, encoded by it. */
  readonly payload: Schema.Schema<A, I>
  /** The slot a payload belongs to: a non-empty string, read on the submitter's side. */
  readonly slot: (payload: A) => string
  /** The admission of a submission that names none; `Queue` by default. */
  readonly admission?: Admission | undefined
  /**
   * The task a payload runs, built on the runner that owns its slot, with
   * that runner's `TaskSupervisor` settings as defaults. Its name must be free
   * in that supervisor when it is admitted (else `Rejected` with
   * `AlreadyExists`): a slot's tasks run one at a time, so a name made of the
   * slot key is enough. A builder that throws, or a spec the supervisor
   * refuses, is a `ConfigError` for `run` (and a warning in that runner's log
   * for `submit`).
   */
  readonly task: (payload: A) => TaskSpec<E, R>
}

/**
 * A kind of work whose slots are spread across the cluster.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ClusterController<in out A, in out I = A, out R = never> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The Schema its payloads cross the network with. */
  readonly payload: Schema.Schema<A, I>
  /** The entity type of its slots: `ClusterController/<name>`. */
  readonly entityType: string
  /** The admission of a submission that names none. */
  readonly admission: Admission
  /**
   * Run this kind of work's slots on this runner: registers the slots'
   * entity with `Sharding`, its submissions admitted by the local
   * `Controller`, its tasks run by the local `TaskSupervisor` with the
   * layer's context (`R`). Every runner of the fleet provides it, since any
   * runner may be given any shard (a runner without it fails the
   * submissions of the slots it owns, as the engine fails a message to an
   * entity type it does not know); a client of the cluster that is not a
   * runner only submits, and needs `Sharding` alone. Provide it over the
   * supervisor and controller, so that it closes first (see the module's
   * notes on handover). Fails with a `ConfigError` when the name is empty or
   * the default admission is not one of the three.
   */
  readonly layer: Layer.Layer<
    never,
    ConfigError,
    Sharding.Sharding | Controller | TaskSupervisor | SupervisorRegistry | Exclude<R, Scope.Scope>
  >
  /**
   * Send a submission to its slot, wherever the slot runs, and return once
   * the cluster has stored it: from then on it is the slot's owner's to run,
   * and it survives that runner's stop or death (see the module's notes).
   * Bad input fails with a `ConfigError` naming it, and sends nothing.
   */
  readonly submit: (payload: A, options?: SubmitOptions) => Effect.Effect<void, SubmitError, Sharding.Sharding>
  /**
   * `submit`, then wait for the outcome of its task. Interrupting the wait
   * does not stop the work, as dropping a `TaskHandle` does not stop its
   * task. A wait across a handover lasts until the slot's next owner has
   * run the submission.
   */
  readonly run: (payload: A, options?: SubmitOptions) => Effect.Effect<Outcome, SubmitError, Sharding.Sharding>
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isClusterController = (u: unknown): u is ClusterController<unknown, unknown, unknown> =>
  Predicate.hasProperty(u, TypeId)

const Proto = {
  ...Inspectable.BaseProto,
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: ClusterController<unknown, unknown, unknown>) {
    return { _id: "ClusterController", name: this.name, entityType: this.entityType, admission: this.admission }
  }
}

/**
 * A kind of work with sharded slots (see the module's notes). `name`
 * identifies it across the fleet: every runner and submitter must define it
 * with the same name and payload Schema.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <A, I, E, R>(name: string, options: Options<A, I, E, R>): ClusterController<A, I, R> => {
  const definition: internal.Definition<A, I, E, R> = {
    name,
    payload: options.payload,
    slot: options.slot,
    admission: options.admission ?? "Queue",
    task: options.task
  }
  const invalid = internal.checkDefinition(name, definition.admission)
  const entity = internal.entity(name, options.payload)

  const layer = invalid !== undefined ? Layer.fail(invalid) : entity.toLayer(
    Effect.gen(function*() {
      const controller = yield* Controller
      const supervisor = yield* TaskSupervisor
      const registry = yield* SupervisorRegistry
      const context = yield* Effect.context<Exclude<R, Scope.Scope>>()
      return {
        Submit: internal.handler(definition, { controller, cancel: supervisor.cancel, registry }, context)
      }
    }),
    { concurrency: "unbounded" }
  )

  const routed = (payload: A, options: SubmitOptions | undefined) =>
    Effect.suspend(() => {
      if (invalid !== undefined) return Effect.fail(invalid)
      const routed = internal.route(definition, payload, options?.admission ?? definition.admission)
      return routed instanceof ConfigError
        ? Effect.fail(routed)
        : Effect.map(entity.client, (client) => ({
          submit: client(routed.key).Submit,
          message: { payload, admission: routed.admission }
        }))
    })

  const self: ClusterController<A, I, R> = Object.assign(Object.create(Proto), {
    name,
    payload: options.payload,
    entityType: entity.type,
    admission: definition.admission,
    layer,
    submit: (payload: A, options?: SubmitOptions) =>
      Effect.flatMap(routed(payload, options), ({ message, submit }) => submit(message, { discard: true })),
    run: (payload: A, options?: SubmitOptions) =>
      Effect.flatMap(routed(payload, options), ({ message, submit }) => submit(message))
  })
  return self
}
