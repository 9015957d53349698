import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as BackoffPolicy from "../BackoffPolicy.js"
import * as ControllerSpec from "../ControllerSpec.js"
import type * as RestartPolicy from "../RestartPolicy.js"
import * as SupervisorConfig from "../SupervisorConfig.js"
import {
  AlreadyRunning,
  ConfigError,
  ControllerNotConfigured,
  GraceExceeded,
  ShuttingDown,
  TaskAlreadyExists,
  TaskNotFound,
  TaskTerminationTimeout
} from "../SupervisorError.js"
import * as SupervisorEvent from "../SupervisorEvent.js"
import type { TaskHandle } from "../TaskHandle.js"
import * as TaskOutcome from "../TaskOutcome.js"
import type { TaskSpec } from "../TaskSpec.js"
import type { TaskInfo, TaskSupervisor } from "../TaskSupervisor.js"
import * as actor from "./actor.js"
import { AttemptScope } from "./attemptScope.js"
import * as controllerInternal from "./controller.js"
import * as handle from "./handle.js"
import { Permits } from "./permits.js"
import { Bus, currentSubscribers } from "./subscribers.js"
import * as validate from "./validate.js"

const alreadyExistsReason = "a registered task already uses this name"
const batchRejectedReason = "another item rejected the all-or-nothing batch"

/** One schedule per backoff policy, shared by every task that uses it. */
const schedules = new WeakMap<BackoffPolicy.BackoffPolicy, Schedule.Schedule<unknown, unknown>>()
const scheduleOf = (policy: BackoffPolicy.BackoffPolicy): Schedule.Schedule<unknown, unknown> => {
  let schedule = schedules.get(policy)
  if (schedule === undefined) {
    schedule = BackoffPolicy.toSchedule(policy)
    schedules.set(policy, schedule)
  }
  return schedule
}

const restartTags: ReadonlySet<unknown> = new Set(["Never", "OnFailure", "Always"])

/** A restart policy built by `RestartPolicy`'s constructors, as far as the supervisor relies on it. */
const isRestartPolicy = (u: unknown): boolean =>
  typeof u === "object" && u !== null && restartTags.has((u as { _tag?: unknown })._tag) &&
  ((u as { _tag: string })._tag !== "Always" ||
    (u as { interval?: unknown }).interval === undefined ||
    Duration.isDuration((u as { interval?: unknown }).interval))

/**
 * A spec's settings checked and resolved against the defaults. Every field a
 * spec carries is a user value: a spec assembled around the types (a cast, a
 * plain object) is refused here with a `ConfigError` naming the field, before
 * anything runs.
 */
const resolve = (
  spec: TaskSpec<unknown, unknown>,
  defaults: SupervisorConfig.TaskDefaults
): actor.Resolved | ConfigError => {
  if (typeof spec.name !== "string" || spec.name.length === 0) {
    return new ConfigError({ field: "name", reason: "a task needs a non-empty name" })
  }
  const of = (field: string) => `${field} of task '${spec.name}'`
  if (!Effect.isEffect(spec.effect)) return new ConfigError({ field: of("effect"), reason: "must be an Effect" })
  const restart = spec.restart ?? defaults.restart
  if (!isRestartPolicy(restart)) {
    return new ConfigError({ field: of("restart"), reason: "must be a RestartPolicy (never, onFailure, always)" })
  }
  const retry = spec.retry ?? defaults.retry
  const schedule = BackoffPolicy.isBackoffPolicy(retry)
    ? scheduleOf(retry)
    : Schedule.isSchedule(retry)
    ? retry
    : undefined
  if (schedule === undefined) {
    return new ConfigError({ field: of("backoff"), reason: "must be a BackoffPolicy or a Schedule" })
  }
  let initial: unknown
  try {
    initial = schedule.initial
  } catch {
    return new ConfigError({ field: of("backoff"), reason: "the retry schedule's initial state cannot be read" })
  }
  if (spec.isFatal !== undefined && typeof spec.isFatal !== "function") {
    return new ConfigError({ field: of("isFatal"), reason: "must be a predicate function" })
  }
  let timeout = defaults.timeout
  if (spec.timeout === null) {
    timeout = undefined
  } else if (spec.timeout !== undefined) {
    const decoded = validate.duration(of("timeout"), spec.timeout)
    if (decoded instanceof ConfigError) return decoded
    timeout = Duration.isZero(decoded) ? undefined : decoded
  }
  let maxRetries = defaults.maxRetries
  if (spec.maxRetries === null) {
    maxRetries = undefined
  } else if (spec.maxRetries !== undefined) {
    const checked = validate.integer(of("maxRetries"), spec.maxRetries, 0)
    if (checked instanceof ConfigError) return checked
    maxRetries = checked
  }
  const effect = spec.effect as Effect.Effect<unknown, unknown>
  return {
    name: spec.name,
    attempt: timeout === undefined ? effect : Effect.timeoutTo(effect, {
      duration: timeout,
      onTimeout: () => actor.TimedOut,
      onSuccess: (a) => a
    }),
    restart: restart as RestartPolicy.RestartPolicy,
    schedule,
    initial,
    timeout,
    maxRetries,
    isFatal: spec.isFatal
  }
}

type Trigger = "Requested" | "Natural"

/** Build a supervisor in the current scope; closing the scope shuts it down. */
export const make: Effect.Effect<TaskSupervisor["Type"], never, Scope.Scope> = Effect.gen(function*() {
  const settings = Option.getOrElse(
    yield* Effect.serviceOption(SupervisorConfig.SupervisorConfig),
    () => SupervisorConfig.defaults
  )
  const runtime = yield* Effect.runtime<never>()
  const bus = new Bus(yield* Effect.clock, runtime, settings.busCapacity)
  for (const subscriber of yield* FiberRef.get(currentSubscribers)) bus.subscribe(subscriber)
  const permits = settings.maxConcurrent === undefined ? undefined : new Permits(settings.maxConcurrent)
  const env: actor.ActorEnv = { bus, permits }
  const fork = Runtime.runFork(runtime)

  const entries = new Map<number, actor.Entry>()
  const names = new Map<string, number>()
  const empty = yield* Effect.makeLatch(true)
  const shutdownResult = yield* Deferred.make<void, GraceExceeded>()
  let nextId = 1
  /** Whether `entries` (in registration order) is in id order, and the last id registered. */
  let inIdOrder = true
  let lastRegistered = 0
  let open = true
  let runStarted = false
  let shutdownStarted = false

  const emit = (event: SupervisorEvent.SupervisorEvent) => bus.publish(event)

  const commit = (entry: actor.Entry, outcome: TaskOutcome.TaskOutcome<unknown>): void => {
    if (entry.finished !== undefined) return
    entry.finished = outcome
    const { id, spec: { name } } = entry
    entries.delete(id)
    if (names.get(name) === id) names.delete(name)
    if (bus.active) emit(SupervisorEvent.TaskFinished({ seq: bus.next(), at: bus.now(), id, task: name, outcome }))
    if (bus.active) emit(SupervisorEvent.TaskRemoved({ seq: bus.next(), at: bus.now(), id, task: name }))
    entry.timer?.unsafeInterruptAsFork(FiberId.none)
    // a force-aborted attempt may never return; its permit must not be lost with it
    permits?.release(entry)
    entry.outcome.complete(outcome)
    controller?.onFinished(entry)
    if (entries.size === 0) {
      inIdOrder = true
      empty.unsafeOpen()
    }
  }

  const register = (
    id: number,
    spec: actor.Resolved,
    outcome: handle.Outcome = new handle.Outcome()
  ): actor.Entry => {
    const entry: actor.Entry = {
      id,
      spec,
      outcome,
      state: "Registered",
      phase: "Waiting",
      attempt: 0,
      scope: new AttemptScope(),
      result: undefined,
      finished: undefined,
      holdsPermit: false,
      fiber: undefined,
      timer: undefined
    }
    // controller work registers in slot order, not id order; `list` sorts only then
    if (id < lastRegistered) inIdOrder = false
    lastRegistered = id
    entries.set(id, entry)
    names.set(spec.name, id)
    empty.unsafeClose()
    return entry
  }

  const start = (entry: actor.Entry, caller: Runtime.Runtime<any>) => {
    const runtime = Runtime.make({
      context: actor.attemptContext(caller.context, entry),
      fiberRefs: caller.fiberRefs,
      runtimeFlags: caller.runtimeFlags
    })
    // not `immediate`: the first attempt starts after the caller's admission step has finished
    const fiber = Runtime.runFork(runtime)(actor.run(env, entry, actor.tracesAttempts(caller.fiberRefs)), {
      immediate: false
    })
    entry.fiber = fiber
    fiber.addObserver(() => commit(entry, entry.result ?? TaskOutcome.Canceled))
  }

  const callerRuntime = <R>() =>
    Effect.withFiberRuntime<Runtime.Runtime<R>>((fiber) =>
      Effect.succeed(Runtime.make({
        context: fiber.currentContext as any,
        fiberRefs: fiber.getFiberRefs(),
        runtimeFlags: Runtime.defaultRuntime.runtimeFlags
      }))
    )

  /** Move a registered entry to Removing and interrupt its actor. */
  const claim = (entry: actor.Entry): void => {
    entry.state = "Removing"
    entry.fiber?.unsafeInterruptAsFork(FiberId.none)
  }

  /** An individual stop: claim, then force-abort after grace unless the actor ends first. */
  const claimWithGrace = (entry: actor.Entry, reason: string | undefined): void => {
    if (bus.active) {
      emit(
        SupervisorEvent.TaskRemoveRequested({
          seq: bus.next(),
          at: bus.now(),
          id: entry.id,
          task: entry.spec.name,
          reason
        })
      )
    }
    claim(entry)
    if (entry.finished === undefined) {
      entry.timer = fork(
        Effect.sleep(settings.grace).pipe(
          Effect.andThen(Effect.sync(() => commit(entry, TaskOutcome.ForceAborted)))
        )
      )
    }
  }

  const find = (target: number | string): actor.Entry | undefined =>
    typeof target === "number" ? entries.get(target) : entries.get(names.get(target) ?? -1)

  /**
   * A stop of a task that is not registered: work still queued in the controller is taken off its slot and
   * rejected (`true`); a name, or an id this supervisor issued, is simply gone (`false`); only an id never
   * issued is an error.
   */
  const stopAbsent = (target: number | string, reason: string | undefined): Effect.Effect<boolean, TaskNotFound> => {
    if (typeof target === "string") return Effect.succeed(false)
    if (controller?.removeQueued(target, reason) === true) return Effect.succeed(true)
    return Number.isInteger(target) && target >= 1 && target < nextId
      ? Effect.succeed(false)
      : Effect.fail(new TaskNotFound({ target }))
  }

  /** Register and start one task, or publish its rejection if its name is taken. */
  const admit = (submission: controllerInternal.Submission): actor.Entry | undefined => {
    const { id, spec } = submission
    const name = spec.name
    if (bus.active) emit(SupervisorEvent.TaskAddRequested({ seq: bus.next(), at: bus.now(), id, task: name }))
    if (names.has(name)) {
      if (bus.active) {
        emit(SupervisorEvent.TaskAddFailed({
          seq: bus.next(),
          at: bus.now(),
          id,
          task: name,
          rejection: "AlreadyExists",
          reason: alreadyExistsReason
        }))
      }
      submission.outcome.complete(TaskOutcome.Rejected("AlreadyExists", alreadyExistsReason))
      return undefined
    }
    const entry = register(id, spec, submission.outcome)
    if (bus.active) emit(SupervisorEvent.TaskAdded({ seq: bus.next(), at: bus.now(), id, task: name }))
    start(entry, submission.caller)
    return entry
  }

  const controller = settings.controller === undefined
    ? undefined
    : new controllerInternal.Controller(
      {
        bus,
        admit,
        stop: (entry) => {
          if (entry.state === "Registered") claimWithGrace(entry, undefined)
        }
      },
      settings.controller
    )

  /** Validate a spec and allocate its id, capturing the caller's context for its attempts. */
  const prepare = <E, R>(spec: TaskSpec<E, R>, admission: ControllerSpec.Admission) =>
    Effect.flatMap(callerRuntime<R>(), (caller): Effect.Effect<
      controllerInternal.Submission,
      ShuttingDown | ConfigError
    > => {
      if (!open) return Effect.fail(new ShuttingDown())
      const resolved = resolve(spec as TaskSpec<unknown, unknown>, settings.defaults)
      if (resolved instanceof ConfigError) return Effect.fail(resolved)
      return Effect.succeed({
        id: nextId++,
        admission,
        spec: resolved,
        caller,
        outcome: new handle.Outcome()
      })
    })

  const add = <E, R>(spec: TaskSpec<E, R>) =>
    Effect.flatMap(
      prepare(spec, "Queue"),
      (submission): Effect.Effect<TaskHandle<E>, TaskAlreadyExists> =>
        admit(submission) === undefined
          ? Effect.fail(new TaskAlreadyExists({ taskName: submission.spec.name }))
          : Effect.succeed(handle.make<E>(submission.id, submission.spec.name, submission.outcome))
    )

  const submit = <E, R>(spec: ControllerSpec.ControllerSpec<E, R>) =>
    Effect.suspend((): Effect.Effect<
      controllerInternal.Submission,
      ControllerNotConfigured | ShuttingDown | ConfigError,
      Exclude<R, Scope.Scope>
    > => {
      if (controller === undefined) return Effect.fail(new ControllerNotConfigured())
      const slot = ControllerSpec.slot(spec)
      if (typeof slot !== "string" || slot.length === 0) {
        return Effect.fail(new ConfigError({ field: "slot", reason: "a slot key must be a non-empty string" }))
      }
      return Effect.tap(prepare(spec.task, spec.admission), (submission) => controller.submit(slot, submission))
    })

  const shutdownWith = (trigger: Trigger): Effect.Effect<void, GraceExceeded> =>
    Effect.suspend(() => {
      if (!shutdownStarted) {
        open = false
        shutdownStarted = true
        controller?.close()
        if (trigger === "Requested" && bus.active) {
          emit(SupervisorEvent.ShutdownRequested({ seq: bus.next(), at: bus.now() }))
        }
        fork(Effect.flatMap(Effect.exit(drain), (exit) => Deferred.done(shutdownResult, exit)))
      }
      return Deferred.await(shutdownResult)
    })
  const drain: Effect.Effect<void, GraceExceeded> = Effect.suspend(() => {
    const present = Array.from(entries.values())
    for (const entry of present) {
      if (entry.state === "Registered") claim(entry)
    }
    const stopped = present.length === 0
      ? Effect.void
      : Effect.timeoutOption(Effect.forEach(present, (entry) => entry.outcome.await, { discard: true }), settings.grace)
    return stopped.pipe(
      Effect.flatMap(() => {
        const stuck: Array<string> = []
        for (const entry of present) {
          commit(entry, TaskOutcome.ForceAborted)
          if (entry.finished?._tag === "ForceAborted") stuck.push(entry.spec.name)
        }
        if (bus.active) {
          emit(
            stuck.length === 0
              ? SupervisorEvent.AllStoppedWithinGrace({ seq: bus.next(), at: bus.now() })
              : SupervisorEvent.GraceExceeded({ seq: bus.next(), at: bus.now(), grace: settings.grace, stuck })
          )
        }
        if (stuck.length === 0) return bus.close(settings.subscriberShutdownTimeout)
        const exceeded = new GraceExceeded({ grace: settings.grace, stuck })
        // a scope closing swallows the error: the log says which tasks were abandoned, bus or no bus
        return Effect.logWarning(exceeded.message).pipe(
          Effect.annotateLogs("stuck", stuck),
          Effect.zipRight(bus.close(settings.subscriberShutdownTimeout)),
          Effect.zipRight(Effect.fail(exceeded))
        )
      })
    )
  })

  yield* Effect.addFinalizer(() => Effect.ignore(shutdownWith("Requested")))

  /** The static mode; its signature, typed per spec of the batch, is `TaskSupervisor`'s. */
  const run = (specs: Iterable<TaskSpec<unknown, unknown>>) =>
    Effect.flatMap(callerRuntime<unknown>(), (caller): Effect.Effect<
      Array<TaskOutcome.TaskOutcome<unknown>>,
      TaskAlreadyExists | AlreadyRunning | ConfigError | GraceExceeded | ShuttingDown
    > => {
      if (runStarted) return Effect.fail(new AlreadyRunning())
      if (!open) return Effect.fail(new ShuttingDown())
      runStarted = true
      const resolved: Array<actor.Resolved> = []
      for (const spec of specs) {
        const r = resolve(spec, settings.defaults)
        if (r instanceof ConfigError) return Effect.fail(r)
        resolved.push(r)
      }
      const ids = resolved.map(() => nextId++)
      if (bus.active) {
        resolved.forEach((r, i) =>
          emit(SupervisorEvent.TaskAddRequested({ seq: bus.next(), at: bus.now(), id: ids[i], task: r.name }))
        )
      }
      const seen = new Set<string>()
      const conflicting = resolved.map((r) => {
        const conflict = names.has(r.name) || seen.has(r.name)
        seen.add(r.name)
        return conflict
      })
      const firstConflict = conflicting.indexOf(true)
      if (firstConflict >= 0) {
        if (bus.active) {
          resolved.forEach((r, i) =>
            emit(SupervisorEvent.TaskAddFailed({
              seq: bus.next(),
              at: bus.now(),
              id: ids[i],
              task: r.name,
              rejection: conflicting[i] ? "AlreadyExists" : "BatchRejected",
              reason: conflicting[i] ? alreadyExistsReason : batchRejectedReason
            }))
          )
        }
        return Effect.fail(new TaskAlreadyExists({ taskName: resolved[firstConflict].name }))
      }
      const registered = resolved.map((r, i) => register(ids[i], r))
      if (bus.active) {
        for (const entry of registered) {
          emit(SupervisorEvent.TaskAdded({ seq: bus.next(), at: bus.now(), id: entry.id, task: entry.spec.name }))
        }
      }
      for (const entry of registered) start(entry, caller)
      const waitEmpty: Effect.Effect<void> = Effect.flatMap(
        empty.await,
        () => entries.size === 0 ? Effect.void : waitEmpty
      )
      // every outcome is in once the registry is empty and shutdown committed what was left
      return waitEmpty.pipe(
        Effect.zipRight(shutdownWith("Natural")),
        Effect.zipRight(Effect.forEach(registered, (entry) => entry.outcome.await))
      )
    })

  const supervisor: TaskSupervisor["Type"] = {
    add,
    run: run as TaskSupervisor["Type"]["run"],
    remove: (target) =>
      Effect.suspend(() => {
        const entry = find(target)
        if (entry === undefined) return stopAbsent(target, undefined)
        if (entry.state !== "Registered") return Effect.succeed(false)
        claimWithGrace(entry, undefined)
        return Effect.succeed(true)
      }),
    cancel: (target, options) =>
      Effect.suspend((): Effect.Effect<boolean, TaskNotFound | TaskTerminationTimeout | ConfigError> => {
        const timeout = options?.timeout === undefined ? undefined : validate.duration("timeout", options.timeout)
        if (timeout instanceof ConfigError) return Effect.fail(timeout)
        const entry = find(target)
        if (entry === undefined) return stopAbsent(target, "manual_cancel")
        const claimed = entry.state === "Registered"
        if (claimed) claimWithGrace(entry, "manual_cancel")
        const done = Effect.as(entry.outcome.await, claimed)
        return timeout === undefined ? done : Effect.timeoutFail(done, {
          duration: timeout,
          onTimeout: () => new TaskTerminationTimeout({ id: entry.id, taskName: entry.spec.name, timeout })
        })
      }),
    list: Effect.sync(() => {
      const infos = Array.from(entries.values(), (entry): TaskInfo => ({
        id: entry.id,
        name: entry.spec.name,
        state: entry.state === "Removing" ? "Stopping" : entry.phase,
        attempt: entry.attempt
      }))
      return inIdOrder ? infos : infos.sort((a, b) => a.id - b.id)
    }),
    isAlive: (name) =>
      Effect.sync(() => {
        const id = names.get(name)
        return id !== undefined && entries.get(id)?.phase === "Running"
      }),
    events: bus.events,
    awaitEmpty: empty.await,
    shutdown: Effect.suspend(() => shutdownWith("Requested")),
    submit: (spec) => Effect.map(submit(spec), (submission) => submission.id),
    submitAndWatch: <E, R>(spec: ControllerSpec.ControllerSpec<E, R>) =>
      Effect.map(submit(spec), (submission) => handle.make<E>(submission.id, submission.spec.name, submission.outcome)),
    controllerSnapshot: Effect.suspend(() =>
      controller === undefined ? Effect.fail(new ControllerNotConfigured()) : Effect.sync(() => controller.snapshot())
    )
  }
  return supervisor
})
