/**
 * A kit for testing code supervised by effect-taskvisor, on Effect's
 * `TestClock`: a supervisor layer with a `Recorder` of every event, scripted
 * task bodies, clock helpers that move time until something happened, and
 * assertions on the events written like the README's event table. It
 * imports no test runner: any runner that runs Effects (`@effect/vitest`'s
 * `it.effect`, or `Effect.runPromise` under `TestContext`) serves.
 *
 * Imported from `effect-taskvisor/testing`; the root `effect-taskvisor` does
 * not re-export it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BackoffPolicy, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 * import * as Testing from "effect-taskvisor/testing"
 *
 * // fails twice, then succeeds
 * const importer = TaskSpec.restartable("importer", Testing.failTimes(2, "503")).pipe(
 *   TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
 * )
 *
 * const test = Effect.gen(function*() {
 *   const handle = yield* TaskSupervisor.add(importer)
 *   const outcome = yield* Testing.awaitOutcome(handle)
 *   yield* Testing.expectEvents(["AttemptFailed", "AttemptFailed", "AttemptSucceeded"], {
 *     task: "importer",
 *     mode: "subsequence"
 *   })
 *   return outcome
 * }).pipe(Effect.provide(Testing.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Controller from "./Controller.js"
import type { Kind, SupervisorEvent } from "./internal/data/supervisorEvent.js"
import * as faultsInternal from "./internal/task/faults.js"
import * as clock from "./internal/testing/clock.js"
import type { AdvanceTimeout, ConditionFailed, EventsMismatch, ScriptedExit } from "./internal/testing/errors.js"
import * as errors from "./internal/testing/errors.js"
import * as expect from "./internal/testing/expect.js"
import type { Recorder } from "./internal/testing/recorder.js"
import * as recorder from "./internal/testing/recorder.js"
import * as scripts from "./internal/testing/scripts.js"
import * as timelines from "./internal/testing/timeline.js"
import * as Subscriber from "./Subscriber.js"
import * as SupervisorConfig from "./SupervisorConfig.js"
import type { ConfigError } from "./SupervisorError.js"
import type { TaskHandle } from "./TaskHandle.js"
import type { TaskOutcome } from "./TaskOutcome.js"
import type * as TaskSpec from "./TaskSpec.js"
import * as TaskSupervisor from "./TaskSupervisor.js"

// ---------------------------------------------------------------------------
// The layer and the recorder
// ---------------------------------------------------------------------------

/**
 * Records every event of the supervisor of `layer`, in `seq` order, from its
 * first: it observes the bus synchronously, so it never drops an event and
 * sees each one as it is published, before any subscriber. Nothing bounds it:
 * it is for tests, not for production.
 *
 * @since 0.1.0
 * @category Services
 */
export { Recorder } from "./internal/testing/recorder.js"

/**
 * What `layer` is given: the supervisor's settings, the options of the
 * controller built over it, and subscribers to add (none by default: the
 * recorder needs none).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Config extends SupervisorConfig.Input {
  readonly controller?: Controller.Options | undefined
  readonly subscribers?: ReadonlyArray<Subscriber.Subscriber> | undefined
  /** Faults to inject into chosen attempts (`faults(plan)`, given to the supervisor); none by default. */
  readonly faults?: faultsInternal.FaultPlan | undefined
}

/**
 * A supervisor for tests: `TaskSupervisor` (with its registry), a
 * `Controller` over it, and a `Recorder` of every event, over the given
 * settings, with the faults of `faults` injected if given. Build it where the test's `TestClock` is (inside `it.effect`, or
 * under `TestContext`): the supervisor keeps the clock of the context it is
 * built in.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  config: Config = {}
): Layer.Layer<
  TaskSupervisor.TaskSupervisor | TaskSupervisor.SupervisorRegistry | Controller.Controller | Recorder,
  ConfigError
> => {
  const { controller, faults, subscribers = [], ...settings } = config
  const supervisor = TaskSupervisor.layer.pipe(
    Layer.provide(Subscriber.layer(...subscribers)),
    Layer.provide(SupervisorConfig.layer(settings))
  )
  return Layer.provideMerge(
    Layer.merge(Controller.layer(controller), recorder.layer),
    faults === undefined ? supervisor : Layer.provide(supervisor, faultsInternal.layer(faults))
  )
}

/**
 * The events recorded so far, in `seq` order.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const events: Effect.Effect<ReadonlyArray<SupervisorEvent>, never, Recorder> = Effect.flatMap(
  recorder.Recorder,
  (recorder) => recorder.events
)

/**
 * The events recorded so far of one task: by name, or by id (a name can be
 * reused after its task ended, an id never is).
 *
 * @since 0.1.0
 * @category Accessors
 */
export const eventsOf = (task: string | number): Effect.Effect<ReadonlyArray<SupervisorEvent>, never, Recorder> =>
  Effect.map(events, (all) => all.filter((event) => recorder.isOf(event, task)))

/**
 * One event on one line, as failures print them: `#5 @1000ms importer
 * AttemptFailed attempt=2 reason="503"` (its seq, its time, its task, its
 * kind, then its other fields).
 *
 * @since 0.1.0
 * @category Accessors
 */
export const formatEvent: (event: SupervisorEvent) => string = recorder.line

// ---------------------------------------------------------------------------
// Scripted task bodies
// ---------------------------------------------------------------------------

/**
 * What one attempt of a scripted body does: any effect, the usual ones built
 * by `succeed`, `fail`, `die`, `hang`, `exitCode`, `takes`,
 * `ignoresInterruption` and `progress`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Step<A = unknown, E = unknown, R = never> = scripts.Step<A, E, R>

/**
 * The failure `exitCode(n)` fails with: it carries `exitCode`, which the
 * events and the outcome report as they do a child process's.
 *
 * @since 0.1.0
 * @category Errors
 */
export { ScriptedExit } from "./internal/testing/errors.js"

/**
 * A task body whose attempt `i` (`CurrentTask`'s `attempt`, from 1) runs the
 * `i`-th step; once the steps run out, the last one repeats. Outside a task it
 * runs the first.
 *
 * @example
 * ```ts
 * import { TaskSpec } from "effect-taskvisor"
 * import * as Testing from "effect-taskvisor/testing"
 *
 * const body = Testing.attempts(
 *   Testing.fail("connection refused"),
 *   Testing.takes("2 seconds", Testing.exitCode(3)),
 *   Testing.succeed()
 * )
 * const spec = TaskSpec.restartable("importer", body)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const attempts: <const S extends readonly [Step<any, any, any>, ...Array<Step<any, any, any>>]>(
  ...steps: S
) => Effect.Effect<Effect.Effect.Success<S[number]>, Effect.Effect.Error<S[number]>, Effect.Effect.Context<S[number]>> =
  scripts.attempts

/**
 * A body whose first `n` attempts fail with `error` (`Infinity`: every
 * one), then runs `then` (by default, succeeds) on every attempt after. A
 * count that is no whole number `>= 0` makes the body die saying so.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const failTimes: <E, A = void, E2 = never, R = never>(
  n: number,
  error: E,
  then?: Step<A, E2, R>
) => Effect.Effect<A, E | E2, R> = scripts.failTimes

/**
 * The attempt returns `value` (`undefined` without one).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const succeed: {
  (): Step<void, never>
  <A>(value: A): Step<A, never>
} = scripts.succeed

/**
 * The attempt fails with `error`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fail: <E>(error: E) => Step<never, E> = scripts.fail

/**
 * The attempt dies with `defect`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const die: (defect: unknown) => Step<never, never> = scripts.die

/**
 * The attempt runs until it is interrupted.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const hang: Step<never, never> = scripts.hang

/**
 * The attempt fails with a `ScriptedExit` carrying exit code `code`, as a
 * child process that exits with it. A code that is not from 1 to 255 (0 is
 * success) makes the step die saying so.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const exitCode: (code: number) => Step<never, ScriptedExit> = scripts.exitCode

/**
 * `step`, after `duration` of clock time.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const takes: <A, E, R>(duration: Duration.DurationInput, step: Step<A, E, R>) => Step<A, E, R> = scripts.takes

/**
 * The attempt runs until it is interrupted, then goes on for `duration`
 * regardless and returns: a body that finishes its work after it was asked to
 * stop.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const ignoresInterruption: (duration: Duration.DurationInput) => Step<void, never> = scripts.ignoresInterruption

/**
 * The attempt reports progress to its watchdog (`TaskSpec.progress`) every
 * `every`: forever, or `times` times and then runs `then` (by default it
 * hangs, reporting nothing more).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const progress: <A = never, E = never, R = never>(
  every: Duration.DurationInput,
  options?: { readonly times?: number | undefined; readonly then?: Step<A, E, R> | undefined }
) => Step<A, E, R> = scripts.progress

// ---------------------------------------------------------------------------
// The clock
// ---------------------------------------------------------------------------

/**
 * Let every runnable fiber run until it suspends, without moving the clock.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const settle: Effect.Effect<void> = clock.settle

/**
 * How `advanceUntil` and `awaitOutcome` move the clock: each `step` (by
 * default, to the next time a fiber sleeps until), at most `limit` in all (by
 * default 1 hour).
 *
 * @since 0.1.0
 * @category Models
 */
export type AdvanceOptions = clock.AdvanceOptions

/**
 * Settle, then move the `TestClock` step by step, settling after each, until
 * `condition` holds of the events recorded so far; it returns them. Past
 * `limit`, or when no fiber sleeps any more, it fails with `AdvanceTimeout`
 * listing the events seen; a `condition` that throws fails it with
 * `ConditionFailed`. `what` names the condition in those errors. A `limit`
 * that is no finite duration, or a `step` that is not longer than zero, fails
 * it with a `ConfigError` naming the option. Each step costs the `TestClock`
 * a turn of the event loop (about a millisecond or more of real time): give a
 * `limit` near what you expect, so a test that fails says so before its
 * runner's timeout.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const advanceUntil: (
  condition: (events: ReadonlyArray<SupervisorEvent>) => boolean,
  options?: AdvanceOptions & { readonly what?: string | undefined }
) => Effect.Effect<ReadonlyArray<SupervisorEvent>, AdvanceTimeout | ConditionFailed | ConfigError, Recorder> =
  clock.advanceUntil

/**
 * `advanceUntil` the task has finished, and its outcome: the task of a
 * handle, or the task last added with a name.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const awaitOutcome: {
  <E>(
    handle: TaskHandle<E>,
    options?: AdvanceOptions
  ): Effect.Effect<TaskOutcome<E>, AdvanceTimeout | ConfigError, Recorder>
  (name: string, options?: AdvanceOptions): Effect.Effect<TaskOutcome<unknown>, AdvanceTimeout | ConfigError, Recorder>
} = clock.awaitOutcome

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------

/**
 * An expected event: its kind (`"AttemptFailed"`), or its kind with fields
 * it must have (`{ _tag: "BackoffScheduled", delay: "2 seconds" }`; a
 * duration may be given as any `DurationInput`).
 *
 * @since 0.1.0
 * @category Models
 */
export type Expected = expect.Expected

/**
 * Which events `expectEvents` compares (`task`: one task's, by name or id)
 * and how (`mode`).
 *
 * @since 0.1.0
 * @category Models
 */
export type ExpectOptions = expect.ExpectOptions

/**
 * Check the recorded events against `expected`, written like the README's
 * event table: with `task`, only that task's events (other tasks' are
 * ignored); `mode` `exact` (the default), `prefix` or `subsequence`. A
 * mismatch fails with `EventsMismatch`, whose message lines up expected and
 * seen events. A field given as an array must be the whole array. A list
 * that names no event kind, or a `mode` or `task` of the wrong kind, fails
 * with a `ConfigError` naming it.
 *
 * @example
 * ```ts
 * import * as Testing from "effect-taskvisor/testing"
 *
 * const check = Testing.expectEvents([
 *   "TaskAddRequested",
 *   "TaskAdded",
 *   "AttemptStarting",
 *   { _tag: "AttemptFailed", reason: "503" },
 *   { _tag: "BackoffScheduled", delay: "1 second" }
 * ], { task: "importer", mode: "prefix" })
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const expectEvents: (
  expected: ReadonlyArray<Expected>,
  options?: ExpectOptions
) => Effect.Effect<void, EventsMismatch | ConfigError, Recorder> = expect.expectEvents

/**
 * The kinds of the events, in order: the compact form of what happened.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const kinds = (events: ReadonlyArray<SupervisorEvent>): ReadonlyArray<Kind> => events.map((e) => e._tag)

// ---------------------------------------------------------------------------
// Timelines
// ---------------------------------------------------------------------------
//
// `timeline` runs a task spec in a real supervisor on a `TestClock` of its
// own, each attempt doing what a scripted history says, and returns what
// happened as plain data: each attempt's start, end and how it ended, the
// delay scheduled after it, when the supervisor gave up, and the outcome.

export type {
  /**
   * One attempt of a timeline. Times are milliseconds of the run's clock,
   * which starts at 0.
   *
   * @since 0.1.0
   * @category Models
   */
  Attempt as TimelineAttempt,
  /**
   * How an attempt ended, as its event says (`AttemptSucceeded`,
   * `AttemptFailed`, `AttemptTimedOut`, `AttemptStalled`, `AttemptCanceled`).
   *
   * @since 0.1.0
   * @category Models
   */
  Ended as TimelineEnded,
  /**
   * What one scripted attempt does: `"succeed"`, `"fail"` (with an `Error`
   * naming the attempt), `{ fail: error }`, `"die"` (a defect naming the
   * attempt), `"hang"` (never end by itself: until its timeout, its
   * watchdog or the end of the run), or any step of this kit (`takes`,
   * `ignoresInterruption`, `progress`, ...).
   *
   * @since 0.1.0
   * @category Models
   */
  Step as TimelineStep,
  /**
   * Why the run stopped the task: it outlived `limit` (`Limit`), was about to
   * start attempt `maxAttempts + 1` (`MaxAttempts`), or waited with no timer
   * left, a hanging attempt with no timeout (`Idle`).
   *
   * @since 0.1.0
   * @category Models
   */
  Stopped as TimelineStopped,
  /**
   * What `timeline` returns.
   *
   * @since 0.1.0
   * @category Models
   */
  Timeline
} from "./internal/testing/timeline.js"

/**
 * How long a timeline may run (`limit`, on its clock; default: no limit),
 * how many attempts it lets run (`maxAttempts`, default 100), and the
 * supervisor's settings.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TimelineOptions extends timelines.Options {
  /** The supervisor's settings (`SupervisorConfig.layer`), its `defaults` among them. */
  readonly config?: SupervisorConfig.Input | undefined
}

/** A supervisor of `layer` with the settings `config`, its recorder beside it. */
const supervise = (config: SupervisorConfig.Input | undefined): timelines.Supervise =>
  Effect.map(Layer.build(layer(config)), (context) => {
    const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
    return {
      recorder: Context.get(context, recorder.Recorder),
      // in a supervisor of its own, the one task's name is free and nothing shuts it down
      add: (spec) =>
        supervisor.add(spec).pipe(
          Effect.map((handle) => handle.await),
          Effect.catchTags({ TaskAlreadyExists: Effect.die, ShuttingDown: Effect.die })
        ),
      cancel: (name) => Effect.asVoid(Effect.orDie(supervisor.cancel(name)))
    }
  })

/**
 * Run `spec` as a real supervisor runs it, on a `TestClock` of its own (the
 * caller's clock does not move), attempt `n` doing `history[n - 1]` (past the
 * end of `history`, its last step again), and return its timeline. The clock
 * moves from one timer to the next, so a run of hours takes no time. The run
 * stops the task (its outcome `Canceled`, `stopped` saying why) before
 * attempt `maxAttempts + 1`, past `limit`, or when it would wait for ever.
 * Jitter draws from the caller's `Random`, so a seeded one pins the delays.
 * A spec, history, option or config that is refused fails with a
 * `ConfigError` naming it. The spec's own effect is not run; what it requires
 * is required still, as its retry schedule may need it.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { BackoffPolicy, TaskSpec } from "effect-taskvisor"
 * import * as Testing from "effect-taskvisor/testing"
 *
 * const spec = TaskSpec.restartable("sync", Effect.void).pipe(
 *   TaskSpec.withBackoff(BackoffPolicy.exponential("1 second")),
 *   TaskSpec.withMaxRetries(2)
 * )
 * // attempts at 0, 1000 and 3000 ms, then `Failed` at 3000 ms: retry limit reached after 2 of 2 retries
 * const program = Testing.timeline(spec, ["fail"])
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const timeline = <E, R>(
  spec: TaskSpec.TaskSpec<E, R>,
  history: ReadonlyArray<timelines.Step<E>>,
  options?: TimelineOptions | undefined
): Effect.Effect<timelines.Timeline, ConfigError, Exclude<R, Scope.Scope>> =>
  timelines.timeline(supervise(options?.config), spec, history, options)

// ---------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------

export {
  /**
   * The service a supervisor built over `faults(plan)` reads once, as it is
   * built: when it is absent, attempts run as they are, at no cost.
   *
   * @since 0.1.0
   * @category Services
   */
  FaultInjection,
  /**
   * What an injected `Fault.fail()` fails with, and an injected `Fault.die()`
   * dies with, unless the plan names another: `task` and `attempt` say which
   * attempt it was injected into. Its events and outcomes tell it from a real
   * failure: `AttemptFailed`'s reason starts with `InjectedFault:`, and the
   * cause holds this error.
   *
   * @since 0.1.0
   * @category Errors
   */
  InjectedFault
} from "./internal/task/faults.js"

/**
 * Whether a value is an `InjectedFault`.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isInjectedFault: (u: unknown) => u is faultsInternal.InjectedFault = faultsInternal.isInjectedFault

/**
 * What an attempt does instead of, or besides, running its effect: `Fail`,
 * `Die`, `Hang`, `Delay` or `IgnoresInterruption`; made by the constructors
 * of `Fault`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Fault = faultsInternal.Fault

/**
 * The faults a plan's rule can inject into an attempt. Each still goes
 * through the task's timeout, retry schedule, events and outcome exactly as a
 * real failure would.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const Fault: {
  /** The attempt fails with `error` instead of running (an `InjectedFault` when omitted). */
  readonly fail: (error?: unknown) => Fault
  /** The attempt dies with `defect` instead of running (an `InjectedFault` when omitted): a `TaskPanicked` failure. */
  readonly die: (defect?: unknown) => Fault
  /** The attempt never ends by itself instead of running: its timeout, a stop or a control ends it. */
  readonly hang: Fault
  /** The attempt's effect starts `duration` late; the wait counts against the task's timeout. */
  readonly delay: (duration: Duration.DurationInput) => Fault
  /**
   * The attempt's effect runs, and once interrupted (by a stop, a control or
   * its timeout) takes `duration` more to stop: past the supervisor's grace,
   * a stop ends the task `ForceAborted`.
   */
  readonly ignoresInterruption: (duration: Duration.DurationInput) => Fault
} = {
  fail: faultsInternal.fail,
  die: faultsInternal.die,
  hang: faultsInternal.hang,
  delay: faultsInternal.delay,
  ignoresInterruption: faultsInternal.ignoresInterruption
}

/**
 * Which attempts of a task a rule applies to, the first being 1: those
 * listed (`[1, 2]`), every n-th (`{ every: 3 }`: 3, 6, 9, …), from one on
 * (`{ from: 4 }`), or each with a chance (`{ probability: 0.2 }`), drawn
 * from the plan's `seed`, the rule's place in the plan, the task's name and
 * the attempt's number, so that a run is the same every time and the same
 * attempts are chosen however tasks interleave.
 *
 * @since 0.1.0
 * @category Models
 */
export type FaultAttempts = faultsInternal.Attempts

/**
 * One rule of a plan: the task it applies to (its name, a group's child's
 * path, or a predicate on it), which of its attempts (every one when
 * `attempts` is omitted), and the fault.
 *
 * @since 0.1.0
 * @category Models
 */
export type FaultRule = faultsInternal.FaultRule

/**
 * A plan of faults: its rules, and the `seed` their probabilities draw from
 * (0 when omitted). Every rule that selects an attempt applies to it, the
 * first rule of the plan outermost: `Fault.delay` then `Fault.fail` makes an
 * attempt fail late.
 *
 * @since 0.1.0
 * @category Models
 */
export type FaultPlan = faultsInternal.FaultPlan

/**
 * A layer injecting the plan's faults into the attempts of a supervisor
 * built over it (provide it to `TaskSupervisor.layer`). A bad plan (an
 * attempt spec it cannot read, a negative duration, a probability outside
 * [0, 1]) fails the layer as it is built, with a `ConfigError` naming the
 * field.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { SupervisorConfig, TaskSpec, TaskSupervisor } from "effect-taskvisor"
 * import { Fault, faults } from "effect-taskvisor/testing"
 *
 * // the importer's first two attempts crash, then its own effect runs (after two backoffs)
 * const Crashing = TaskSupervisor.layer.pipe(
 *   Layer.provide(faults({ rules: [{ task: "importer", attempts: [1, 2], fault: Fault.fail() }] })),
 *   Layer.provide(SupervisorConfig.layerDefaults)
 * )
 *
 * const program = Effect.gen(function*() {
 *   const handle = yield* TaskSupervisor.add(TaskSpec.restartable("importer", Effect.log("imported")))
 *   return yield* handle.await
 * }).pipe(Effect.provide(Crashing))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const faults: (plan: FaultPlan) => Layer.Layer<faultsInternal.FaultInjection, ConfigError> = faultsInternal.layer

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category Models
 */
export const TypeId: typeof errors.TypeId = errors.TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type TypeId = typeof TypeId

/**
 * `advanceUntil` or `awaitOutcome` moved the clock as far as it could
 * (`stopped`: `Limit`, or `Idle` when no fiber sleeps any more) and what it
 * awaited did not happen; its message lists the events seen, one per line.
 *
 * @since 0.1.0
 * @category Errors
 */
export { AdvanceTimeout } from "./internal/testing/errors.js"

/**
 * The recorded events do not read as `expectEvents` expected; `diff` lines
 * them up: `=` matched, `≠` differs, `-` expected but missing, `+` seen but
 * not expected.
 *
 * @since 0.1.0
 * @category Errors
 */
export { EventsMismatch } from "./internal/testing/errors.js"

/**
 * A condition given to the kit threw; `cause` is what it threw.
 *
 * @since 0.1.0
 * @category Errors
 */
export { ConditionFailed } from "./internal/testing/errors.js"

/**
 * Any of the errors of this module: the three it fails a test with, and the
 * `ScriptedExit` a scripted body fails with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type TestingError = AdvanceTimeout | EventsMismatch | ConditionFailed | ScriptedExit

/**
 * Whether a value is one of the errors of this module.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTestingError: (u: unknown) => u is TestingError = errors.isTestingError
