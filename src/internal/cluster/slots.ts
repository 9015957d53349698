/** Sharded slots: the entity a slot's submissions are routed to, its wire schemas, and its handler over the local controller. */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Admission as AdmissionName } from "../config/controllerSpec.js"
import * as ControllerSpec from "../config/controllerSpec.js"
import type { TaskSpec } from "../config/taskSpec.js"
import { TypeId as TaskSpecTypeId } from "../config/taskSpec.js"
import type { make as makeController } from "../controller/controller.js"
import { ConfigError, ShuttingDown } from "../data/supervisorError.js"
import { describe } from "../data/taskError.js"
import type { TaskOutcome } from "../data/taskOutcome.js"
import type { Registry } from "../supervisor/registry.js"

/** The admissions a submission may ask for, by `ControllerSpec`'s names. */
export const Admission: Schema.Schema<AdmissionName> = Schema.Literal("Queue", "Replace", "DropIfRunning")

const RejectionKind = Schema.Literal(
  "AlreadyExists",
  "BatchRejected",
  "SlotBusy",
  "QueueFull",
  "SupersededByReplace",
  "RemovedFromQueue",
  "ControllerShuttingDown"
)

const exitCode = Schema.optional(Schema.Number)

/** A `TaskOutcome` as it crosses the network: its tag and what can be said of it without its cause. */
export const Outcome = Schema.Union(
  Schema.TaggedStruct("Completed", {}),
  Schema.TaggedStruct("Failed", { reason: Schema.String, exitCode }),
  Schema.TaggedStruct("Fatal", { reason: Schema.String, exitCode }),
  Schema.TaggedStruct("Canceled", { replaced: Schema.Boolean }),
  Schema.TaggedStruct("ForceAborted", { reason: Schema.String }),
  Schema.TaggedStruct("Rejected", { kind: RejectionKind, reason: Schema.String })
)

export type Outcome = typeof Outcome.Type

/** `ConfigError` on the wire: the error a runner replies when it cannot build or admit a submission. */
const ConfigErrorFromWire: Schema.Schema<ConfigError, {
  readonly _tag: "ConfigError"
  readonly field: string
  readonly reason: string
  readonly variable?: string | undefined
}> = Schema.transform(
  Schema.TaggedStruct("ConfigError", {
    field: Schema.String,
    reason: Schema.String,
    variable: Schema.optional(Schema.String)
  }),
  Schema.instanceOf(ConfigError),
  {
    strict: true,
    decode: ({ field, reason, variable }) => new ConfigError({ field, reason, variable }),
    encode: (error) => ({
      _tag: "ConfigError" as const,
      field: error.field,
      reason: error.reason,
      variable: error.variable
    })
  }
)

/**
 * A slot's one request: persisted, so a submission is kept in the message
 * storage until its reply (its task's outcome) is written, and delivered
 * again to the slot's next owner if its runner goes away first. A caller
 * that stops waiting sends no interrupt (`Uninterruptible` on the client):
 * the accepted work goes on, as a dropped `TaskHandle` leaves its task.
 */
const makeSubmit = <A, I>(payload: Schema.Schema<A, I>) =>
  Rpc.make("Submit", {
    payload: { payload, admission: Admission },
    success: Outcome,
    error: ConfigErrorFromWire
  }).annotate(ClusterSchema.Persisted, true).annotate(ClusterSchema.Uninterruptible, "client")

export type Submit<A, I> = ReturnType<typeof makeSubmit<A, I>>

/** What a sharded slot is made of. */
export interface Definition<A, I, E, R> {
  readonly name: string
  readonly payload: Schema.Schema<A, I>
  readonly slot: (payload: A) => string
  readonly admission: AdmissionName
  readonly task: (payload: A) => TaskSpec<E, R>
}

/** The entity of a definition's slots: one entity per slot key, its type derived from the name. */
export const entity = <A, I>(name: string, payload: Schema.Schema<A, I>): Entity.Entity<string, Submit<A, I>> =>
  Entity.make<string, [Submit<A, I>]>(`ClusterController/${name}`, [makeSubmit(payload)])

/** The local controller's slot of a cluster slot: its key under the definition's name, so definitions never share one. */
const localSlot = (name: string, key: string): string => `${name}/${key}`

/** Why the definition itself cannot be used (its name or default admission), if it cannot. */
export const checkDefinition = (name: string, admission: AdmissionName): ConfigError | undefined => {
  if (typeof name !== "string" || name.length === 0) {
    return new ConfigError({ field: "name", reason: "a cluster controller's name must be a non-empty string" })
  }
  return checkAdmission("admission", admission)
}

const checkAdmission = (field: string, admission: unknown): ConfigError | undefined =>
  Schema.is(Admission)(admission) ? undefined : new ConfigError({
    field,
    reason: `must be one of "Queue", "Replace", "DropIfRunning", got ${describeValue(admission)}`
  })

const describeValue = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return "a value that cannot be printed"
  }
}

/** A submission checked on the submitter's side: the slot it goes to and the admission it asks for. */
interface Routed {
  readonly key: string
  readonly admission: AdmissionName
}

/**
 * Check a submission before it leaves: the payload must be one its Schema
 * encodes (it crosses the network), its slot key a non-empty string read by
 * the definition's getter, and its admission one of the three. Each problem
 * is a `ConfigError` naming it; nothing is sent.
 */
export const route = <A, I, E, R>(
  definition: Definition<A, I, E, R>,
  payload: A,
  admission: unknown
): Routed | ConfigError => {
  const badAdmission = checkAdmission("admission", admission)
  if (badAdmission !== undefined) return badAdmission
  const encoded = Schema.encodeUnknownEither(definition.payload)(payload)
  if (Either.isLeft(encoded)) {
    return new ConfigError({
      field: "payload",
      reason: `does not match its Schema: ${ParseResult.TreeFormatter.formatErrorSync(encoded.left)}`
    })
  }
  let key: unknown
  try {
    key = definition.slot(payload)
  } catch (error) {
    return new ConfigError({ field: "slot", reason: `the slot getter threw: ${describe(error)}` })
  }
  if (typeof key !== "string" || key.length === 0) {
    return new ConfigError({
      field: "slot",
      reason: `the slot getter must return a non-empty string, got ${describeValue(key)}`
    })
  }
  return { key, admission: admission as AdmissionName }
}

/** The local services a slot's handler works with. */
export interface Host {
  readonly controller: Effect.Effect.Success<ReturnType<typeof makeController>>
  /** Stop a task (or take queued work off its slot) and wait for its terminal cleanup. */
  readonly cancel: (id: number) => Effect.Effect<unknown, unknown>
  readonly registry: Registry
}

/** The definition's task for a payload, built on the runner that owns the slot; what it threw is a `ConfigError`. */
const buildTask = <A, I, E, R>(definition: Definition<A, I, E, R>, payload: A): TaskSpec<E, R> | ConfigError => {
  let spec: unknown
  try {
    spec = definition.task(payload)
  } catch (error) {
    return new ConfigError({ field: "task", reason: `the task builder threw: ${describe(error)}` })
  }
  return Predicate.hasProperty(spec, TaskSpecTypeId)
    ? spec as TaskSpec<E, R>
    : new ConfigError({ field: "task", reason: `the task builder must return a TaskSpec, got ${describeValue(spec)}` })
}

/**
 * The handler of one slot's entity. Each submission goes to the local
 * controller with its admission, under the slot's local key, and its reply
 * is the task's outcome. Interrupted (its shard moves, its runner stops), it
 * stops its task (or takes it off the slot's queue) and waits for the task's
 * terminal cleanup before it ends; the engine then writes no reply, so the
 * submission is delivered again to the slot's next owner. When this runner's
 * supervisor or controller is shutting down, an outcome that only says so
 * (refused, rejected `ControllerShuttingDown`, canceled or force-aborted by
 * the shutdown) is not the submission's: it is held, unanswered, until the
 * entity stops, and delivered again where the slot goes.
 */
export const handler = <A, I, E, R>(
  definition: Definition<A, I, E, R>,
  host: Host,
  context: Context.Context<Exclude<R, Scope.Scope>>
) => {
  // the tasks of this slot's submissions on this runner, by id: whether a later `Replace` stopped them
  const replaced = new Map<number, boolean>()
  const hold = (key: string, why: string) =>
    Effect.zipRight(
      Effect.logWarning(
        `ClusterController ${definition.name}: slot '${key}' holds a submission (${why}); ` +
          "it is delivered again to the slot's next owner"
      ),
      Effect.never
    )
  // only a replacement stops a slot's owner and leaves the slot `Terminating`: its owner is marked replaced
  const markReplaced = (local: string) =>
    Effect.map(host.controller.snapshot, (snapshot) => {
      const view = snapshot.slots.find((slot) => slot.slot === local)
      if (view?.status === "Terminating" && view.ownerId !== undefined && replaced.has(view.ownerId)) {
        replaced.set(view.ownerId, true)
      }
    })
  // admitted work is awaited with no gap an interrupt could fall into: an interrupted wait always stops its task
  const admitAndAwait = (spec: ControllerSpec.ControllerSpec<E, R>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.provide(host.controller.submitAndWatch(spec), context), (handle) => {
        replaced.set(handle.id, false)
        return Effect.zipRight(
          spec.admission === "Replace" ? markReplaced(ControllerSpec.slot(spec)) : Effect.void,
          restore(handle.await).pipe(
            Effect.onInterrupt(() => Effect.ignore(host.cancel(handle.id))),
            Effect.map((outcome) => [outcome, replaced.get(handle.id) === true] as const),
            Effect.ensuring(Effect.sync(() => replaced.delete(handle.id)))
          )
        )
      })
    )
  return (request: Entity.Request<Submit<A, I>>): Effect.Effect<Outcome, ConfigError> =>
    Effect.gen(function*() {
      const key = request.address.entityId
      const local = localSlot(definition.name, key)
      const { admission, payload } = request.payload
      const task = buildTask(definition, payload)
      if (task instanceof ConfigError) {
        yield* Effect.logWarning(`ClusterController ${definition.name}: slot '${key}' refused a submission`, task)
        return yield* task
      }
      const admitted = yield* Effect.either(admitAndAwait(ControllerSpec.make(admission, task, local)))
      if (Either.isLeft(admitted)) {
        if (admitted.left instanceof ShuttingDown) return yield* hold(key, "the local controller is shutting down")
        yield* Effect.logWarning(
          `ClusterController ${definition.name}: slot '${key}' refused a submission`,
          admitted.left
        )
        return yield* admitted.left
      }
      const [outcome, wasReplaced] = admitted.right
      const sent = summary(outcome, wasReplaced)
      if (sent === undefined || (!host.registry.open && stoppedByShutdown(outcome))) {
        return yield* hold(key, "the local supervisor is shutting down")
      }
      return sent
    })
}

/** An outcome the supervisor's shutdown may have decided, not the task. */
const stoppedByShutdown = (outcome: TaskOutcome<unknown>): boolean =>
  outcome._tag === "Canceled" || outcome._tag === "ForceAborted"

/** The outcome as it is sent; `undefined` for a rejection that only says the local controller is going away. */
const summary = (outcome: TaskOutcome<unknown>, replaced: boolean): Outcome | undefined => {
  switch (outcome._tag) {
    case "Completed":
      return { _tag: "Completed" }
    case "Failed":
    case "Fatal":
      return outcome.exitCode === undefined
        ? { _tag: outcome._tag, reason: outcome.reason }
        : { _tag: outcome._tag, reason: outcome.reason, exitCode: outcome.exitCode }
    case "Canceled":
      return { _tag: "Canceled", replaced }
    case "ForceAborted":
      return { _tag: "ForceAborted", reason: outcome.reason }
    case "Rejected":
      return outcome.kind === "ControllerShuttingDown"
        ? undefined
        : { _tag: "Rejected", kind: outcome.kind, reason: outcome.reason }
  }
}
