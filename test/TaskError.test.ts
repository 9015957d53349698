import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as SupervisorError from "../src/SupervisorError.js"
import * as TaskError from "../src/TaskError.js"

describe("TaskError", () => {
  const errors: ReadonlyArray<TaskError.TaskError> = [
    new TaskError.TaskFatal({ reason: "stop" }),
    new TaskError.TaskTimeout({ timeout: Duration.seconds(1) }),
    new TaskError.TaskPanicked({ defect: new Error("boom") }),
    new TaskError.TaskStalled({ watchdog: Duration.seconds(1), sinceProgress: Duration.seconds(2) }),
    new TaskError.GroupFailed({ reason: "gave up", child: undefined })
  ]

  it("every task error carries the shared TypeId and is a TaskError, not a SupervisorError", () => {
    for (const error of errors) {
      assert.strictEqual(error[TaskError.TypeId], TaskError.TypeId, error._tag)
      assert.isTrue(TaskError.isTaskError(error), error._tag)
      assert.isFalse(SupervisorError.isSupervisorError(error), error._tag)
    }
  })

  it("isTaskError refuses the supervisor's errors, look-alikes and plain values", () => {
    const others: ReadonlyArray<unknown> = [
      new SupervisorError.ShuttingDown(),
      new SupervisorError.ConfigError({ field: "f", reason: "r" }),
      { _tag: "TaskFatal", reason: "stop" },
      new Error("TaskTimeout"),
      "TaskFatal",
      null,
      undefined
    ]
    for (const other of others) assert.isFalse(TaskError.isTaskError(other), String(other))
  })

  it("isTaskError narrows to the union, so a match on _tag is exhaustive", () => {
    const tagOf = (u: unknown): string => {
      if (!TaskError.isTaskError(u)) return "other"
      switch (u._tag) {
        case "TaskFatal":
        case "TaskTimeout":
        case "TaskPanicked":
        case "TaskStalled":
        case "GroupFailed":
          return u._tag
      }
    }
    assert.deepStrictEqual(errors.map(tagOf), [
      "TaskFatal",
      "TaskTimeout",
      "TaskPanicked",
      "TaskStalled",
      "GroupFailed"
    ])
    assert.strictEqual(tagOf("x"), "other")
  })
})
