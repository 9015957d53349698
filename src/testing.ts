/**
 * What tests of an application built on the supervisor use: fault injection,
 * which makes chosen attempts of named tasks fail, die, hang, start late or
 * stop slowly, deterministically.
 *
 * @since 0.1.0
 */

// Fault injection ------------------------------------------------------------------------------------------------

import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type { ConfigError } from "./internal/data/supervisorError.js"
import * as faultsInternal from "./internal/task/faults.js"

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

// end of Fault injection -----------------------------------------------------------------------------------------
