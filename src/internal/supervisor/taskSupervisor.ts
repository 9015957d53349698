/** The supervisor service: a registry living in a scope, the Effect face of its operations, and the registry's service. */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Settings } from "../config/settings.js"
import type { BatchContext, Outcomes, TaskSpec } from "../config/taskSpec.js"
import * as validate from "../config/validate.js"
import {
  type AlreadyRunning,
  ConfigError,
  type GraceExceeded,
  ShuttingDown,
  TaskAlreadyExists,
  type TaskNotFound,
  TaskTerminationTimeout
} from "../data/supervisorError.js"
import type { SupervisorEvent } from "../data/supervisorEvent.js"
import { Bus } from "../events/bus.js"
import type { SubscriberSet } from "../events/subscriber.js"
import { Permits } from "../primitives/permits.js"
import { callerOf } from "../task/caller.js"
import type { OperatorControl, TaskDetails, TaskInfo } from "../task/task.js"
import type { TaskHandle } from "../task/taskHandle.js"
import * as handle from "../task/taskHandle.js"
import { Registry } from "./registry.js"

/**
 * The registry of the supervisor `TaskSupervisor.layer` builds, as a service
 * beside it: the services that extend the supervisor (the controller, the
 * HTTP endpoint) require it.
 */
export class SupervisorRegistry extends Context.Tag("effect-taskvisor/SupervisorRegistry")<
  SupervisorRegistry,
  Registry
>() {}

/**
 * Build a supervisor in the current scope, publishing to `subscribers`;
 * closing the scope shuts it down. Returns its service and its registry.
 */
export const make = (settings: Settings, subscribers: SubscriberSet) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const bus = new Bus(clock, runtime, settings.busCapacity, settings.metrics.enabled)
    // subscribers added to the set later (a subscriber layer merged beside) attach as they come
    const unfollow = subscribers.follow({
      attach: (attached) => bus.subscribe(attached),
      detach: (attached) => bus.unsubscribe(attached, settings.subscriberShutdownTimeout)
    })
    const registry = new Registry(
      settings,
      bus,
      settings.maxConcurrent === undefined ? undefined : new Permits(settings.maxConcurrent),
      runtime,
      clock
    )
    yield* Effect.addFinalizer(() =>
      Effect.ignore(registry.shutdown("Requested")).pipe(Effect.ensuring(Effect.sync(unfollow)))
    )

    const add = <E, R>(spec: TaskSpec<E, R>) =>
      Effect.withFiberRuntime((fiber): Effect.Effect<
        TaskHandle<E>,
        TaskAlreadyExists | ShuttingDown | ConfigError,
        Exclude<R, Scope.Scope>
      > => {
        const submission = registry.prepare(spec, callerOf(fiber))
        if (submission instanceof ShuttingDown || submission instanceof ConfigError) return Effect.fail(submission)
        const admitted = registry.admit(submission, "Now")
        return admitted instanceof TaskAlreadyExists
          ? Effect.fail(admitted)
          : Effect.succeed(handle.make<E>(submission.id, submission.spec.name, submission.outcome))
      })

    const run = <const Specs extends Iterable<TaskSpec<any, any>>>(specs: Specs) =>
      Effect.withFiberRuntime((fiber): Effect.Effect<
        Outcomes<Specs>,
        TaskAlreadyExists | AlreadyRunning | ConfigError | GraceExceeded | ShuttingDown,
        BatchContext<Specs>
      > => {
        // single-shot, even when its batch is refused
        const refused = registry.beginRun()
        if (refused !== undefined) return Effect.fail(refused)
        const resolved = []
        for (const spec of specs) {
          const r = registry.resolve(spec)
          if (r instanceof ConfigError) return Effect.fail(r)
          resolved.push(r)
        }
        const batch = registry.admitAll(resolved, callerOf(fiber))
        if (batch instanceof TaskAlreadyExists) return Effect.fail(batch)
        // read first: a batch whose tasks all ended at once waits for nothing
        const waitEmpty: Effect.Effect<void> = Effect.suspend(() =>
          registry.size === 0 ? Effect.void : Effect.zipRight(registry.empty.await, waitEmpty)
        )
        // every outcome is in once the registry is empty and shutdown committed what was left
        return waitEmpty.pipe(
          Effect.zipRight(registry.shutdown("Natural")),
          Effect.as(batch.outcomes as Outcomes<Specs>)
        )
      })

    const remove = (target: number | string): Effect.Effect<boolean, TaskNotFound> =>
      Effect.suspend(() => {
        const task = registry.findToStop(target)
        return task === undefined
          ? registry.stopAbsent(target, undefined)
          : Effect.succeed(registry.stop(task, undefined))
      })

    const cancel = (
      target: number | string,
      options?: { readonly timeout?: Duration.DurationInput | undefined }
    ): Effect.Effect<boolean, TaskNotFound | TaskTerminationTimeout | ConfigError> =>
      Effect.suspend((): Effect.Effect<boolean, TaskNotFound | TaskTerminationTimeout | ConfigError> => {
        const timeout = options?.timeout === undefined ? undefined : validate.duration("timeout", options.timeout)
        if (timeout instanceof ConfigError) return Effect.fail(timeout)
        const task = registry.findToStop(target)
        if (task === undefined) return registry.stopAbsent(target, "manual_cancel")
        const done = Effect.as(task.outcome.await, registry.stop(task, "manual_cancel"))
        return timeout === undefined ? done : Effect.timeoutFail(done, {
          duration: timeout,
          onTimeout: () => new TaskTerminationTimeout({ id: task.id, taskName: task.spec.name, timeout })
        })
      })

    const control = (kind: OperatorControl) => (target: number | string): Effect.Effect<boolean, TaskNotFound> =>
      Effect.suspend(() => {
        const task = registry.find(target)
        // a task waiting for its batch's wave has not started: no control applies to it yet
        if (task === undefined) return registry.waiting(target) ? Effect.succeed(false) : registry.absent(target)
        return Effect.succeed(registry.control(task, kind))
      })

    const inspect = (target: number | string): Effect.Effect<Option.Option<TaskDetails>, TaskNotFound> =>
      Effect.suspend(() => {
        const details = registry.details(target)
        return details === undefined
          ? Effect.as(registry.absent(target), Option.none())
          : Effect.succeed(Option.some(details))
      })

    const service = {
      add,
      restart: control("Restart"),
      pause: control("Pause"),
      resume: control("Resume"),
      trigger: control("Trigger"),
      inspect,
      run,
      remove,
      cancel,
      list: Effect.sync((): ReadonlyArray<TaskInfo> => registry.list()),
      isAlive: (name: string) => Effect.sync(() => registry.isAlive(name)),
      events: bus.events as Stream.Stream<SupervisorEvent>,
      awaitEmpty: registry.empty.await,
      join: registry.join,
      shutdown: registry.shutdown("Requested")
    }
    return { service, registry }
  })
