/**
 * @since 0.1.0
 */
export * as BackoffPolicy from "./BackoffPolicy.js"

/**
 * @since 0.1.0
 */
export * as Controller from "./Controller.js"

/**
 * @since 0.1.0
 */
export * as ControllerSpec from "./ControllerSpec.js"

/**
 * @since 0.1.0
 */
export * as ProcessTask from "./ProcessTask.js"

/**
 * @since 0.1.0
 */
export * as RestartPolicy from "./RestartPolicy.js"

/**
 * @since 0.1.0
 */
export * as Subscriber from "./Subscriber.js"

/**
 * @since 0.1.0
 */
export * as SupervisorConfig from "./SupervisorConfig.js"

/**
 * @since 0.1.0
 */
export * as SupervisorError from "./SupervisorError.js"

/**
 * @since 0.1.0
 */
export * as SupervisorEvent from "./SupervisorEvent.js"

/**
 * @since 0.1.0
 */
export * as SupervisorMetrics from "./SupervisorMetrics.js"

/**
 * @since 0.1.0
 */
export * as TaskError from "./TaskError.js"

/**
 * @since 0.1.0
 */
export * as TaskHandle from "./TaskHandle.js"

/**
 * @since 0.1.0
 */
export * as TaskOutcome from "./TaskOutcome.js"

/**
 * @since 0.1.0
 */
export * as TaskSpec from "./TaskSpec.js"

/**
 * @since 0.1.0
 */
export * as TaskSupervisor from "./TaskSupervisor.js"
