/**
 * Every task has one reliable, typed outcome: `add` returns a `TaskHandle` whose `await` resolves after the task's
 * terminal cleanup, independently of the event bus. Shown: Completed, Failed with an exit code after exhausting
 * its retries, Failed by a per-attempt timeout, Fatal through `TaskFatal`, and Canceled via `TaskSupervisor.cancel`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Data, Deferred, Effect, Layer } from "effect"
import { BackoffPolicy, SupervisorConfig, TaskError, TaskOutcome, TaskSpec, TaskSupervisor } from "effect-taskvisor"

class ExportFailed extends Data.TaggedError("ExportFailed")<{}> {
  readonly exitCode = 75 // EX_TEMPFAIL
  override get message() {
    return "export target unavailable"
  }
}

const show = (name: string, outcome: TaskOutcome.TaskOutcome<unknown>) =>
  Effect.log(
    `${name.padEnd(14)} -> ` + TaskOutcome.$match(outcome, {
      Completed: () => "Completed",
      Failed: ({ exitCode, reason }) => `Failed (reason: ${reason}, exit code: ${exitCode ?? "none"})`,
      Fatal: ({ exitCode, reason }) => `Fatal (reason: ${reason}, exit code: ${exitCode ?? "none"})`,
      Canceled: () => "Canceled",
      ForceAborted: ({ reason }) => `ForceAborted (${reason})`,
      Rejected: ({ kind, reason }) => `Rejected ${kind} (${reason})`
    })
  )

const program = Effect.gen(function*() {
  const report = yield* TaskSupervisor.add(TaskSpec.once("build-report", Effect.sleep("50 millis")))

  const exporter = yield* TaskSupervisor.add(
    TaskSpec.restartable("export", Effect.fail(new ExportFailed())).pipe(
      TaskSpec.withBackoff(BackoffPolicy.constant("20 millis")),
      TaskSpec.withMaxRetries(2)
    )
  )

  const slow = yield* TaskSupervisor.add(
    TaskSpec.once("slow-call", Effect.sleep("1 second")).pipe(TaskSpec.withTimeout("20 millis"))
  )

  const login = yield* TaskSupervisor.add(
    TaskSpec.restartable("login", Effect.fail(new TaskError.TaskFatal({ reason: "invalid credentials", exitCode: 77 })))
  )

  const started = yield* Deferred.make<void>()
  const worker = yield* TaskSupervisor.add(
    TaskSpec.restartable("worker", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
  )
  yield* Deferred.await(started)
  yield* TaskSupervisor.cancel("worker")

  for (const handle of [report, exporter, slow, login, worker]) {
    yield* show(handle.name, yield* handle.await)
  }
})

program.pipe(
  Effect.provide(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layerDefaults))),
  NodeRuntime.runMain
)
