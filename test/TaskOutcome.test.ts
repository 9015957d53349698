import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as TaskOutcome from "../src/TaskOutcome.js"

const failed = TaskOutcome.Failed<string>({ reason: "boom", exitCode: undefined, cause: Cause.fail("boom") })
const fatal = TaskOutcome.Fatal<string>({ reason: "config missing", exitCode: 78, cause: Cause.fail("config missing") })
const rejected = TaskOutcome.Rejected("AlreadyExists", "task name 'worker' already exists")

const all: ReadonlyArray<readonly [TaskOutcome.TaskOutcome<string>, string]> = [
  [TaskOutcome.Completed, "outcome_completed"],
  [failed, "outcome_failed"],
  [fatal, "outcome_fatal"],
  [TaskOutcome.Canceled, "outcome_canceled"],
  [TaskOutcome.ForceAborted, "outcome_force_aborted"],
  [rejected, "outcome_rejected"]
]

describe("TaskOutcome", () => {
  it("constructors carry their tags", () => {
    assert.deepStrictEqual(all.map(([o]) => o._tag), [
      "Completed",
      "Failed",
      "Fatal",
      "Canceled",
      "ForceAborted",
      "Rejected"
    ])
  })

  it("label gives the snake_case label of every kind", () => {
    for (const [outcome, label] of all) assert.strictEqual(TaskOutcome.label(outcome), label)
  })

  it("rejectionLabel gives snake_case for every rejection kind", () => {
    const expected: ReadonlyArray<readonly [TaskOutcome.RejectionKind, string]> = [
      ["AlreadyExists", "already_exists"],
      ["BatchRejected", "batch_rejected"],
      ["SlotBusy", "slot_busy"],
      ["QueueFull", "queue_full"],
      ["SupersededByReplace", "superseded_by_replace"],
      ["RemovedFromQueue", "removed_from_queue"],
      ["ControllerShuttingDown", "controller_shutting_down"]
    ]
    for (const [kind, label] of expected) assert.strictEqual(TaskOutcome.rejectionLabel(kind), label)
  })

  it("reason: present on Failed, Fatal, ForceAborted and Rejected only", () => {
    assert.strictEqual(TaskOutcome.reason(failed), "boom")
    assert.strictEqual(TaskOutcome.reason(fatal), "config missing")
    assert.strictEqual(TaskOutcome.reason(rejected), "task name 'worker' already exists")
    assert.isString(TaskOutcome.reason(TaskOutcome.ForceAborted))
    assert.include(TaskOutcome.reason(TaskOutcome.ForceAborted)!, "grace")
    assert.isUndefined(TaskOutcome.reason(TaskOutcome.Completed))
    assert.isUndefined(TaskOutcome.reason(TaskOutcome.Canceled))
  })

  it("exitCode: the code a Failed or Fatal carries, else undefined", () => {
    assert.strictEqual(TaskOutcome.exitCode(fatal), 78)
    assert.isUndefined(TaskOutcome.exitCode(failed))
    const withCode = TaskOutcome.Failed<never>({ reason: "exit 2", exitCode: 2, cause: Cause.empty })
    assert.strictEqual(TaskOutcome.exitCode(withCode), 2)
    for (const o of [TaskOutcome.Completed, TaskOutcome.Canceled, TaskOutcome.ForceAborted, rejected]) {
      assert.isUndefined(TaskOutcome.exitCode(o), o._tag)
    }
  })

  it("isSuccess: only Completed", () => {
    for (const [outcome] of all) {
      assert.strictEqual(TaskOutcome.isSuccess(outcome), outcome._tag === "Completed", outcome._tag)
    }
  })

  it("Failed and Fatal keep the typed cause", () => {
    if (failed._tag !== "Failed") return assert.fail("expected Failed")
    assert.deepStrictEqual(Cause.failureOption(failed.cause), Cause.failureOption(Cause.fail("boom")))
    if (fatal._tag !== "Fatal") return assert.fail("expected Fatal")
    assert.isTrue(Cause.isFailType(fatal.cause))
  })

  it("Rejected carries its kind", () => {
    assert.strictEqual(rejected.kind, "AlreadyExists")
    assert.strictEqual(TaskOutcome.Rejected("SlotBusy", "busy").kind, "SlotBusy")
  })

  it("$is and $match", () => {
    assert.isTrue(TaskOutcome.$is("Completed")(TaskOutcome.Completed))
    assert.isFalse(TaskOutcome.$is("Completed")(failed))
    assert.isTrue(TaskOutcome.$is("Rejected")(rejected))
    const describeOutcome = TaskOutcome.$match({
      Completed: () => "ok",
      Failed: ({ reason }) => `failed: ${reason}`,
      Fatal: ({ exitCode }) => `fatal ${exitCode}`,
      Canceled: () => "canceled",
      ForceAborted: () => "aborted",
      Rejected: ({ kind }) => `rejected ${kind}`
    })
    assert.deepStrictEqual(all.map(([o]) => describeOutcome(o)), [
      "ok",
      "failed: boom",
      "fatal 78",
      "canceled",
      "aborted",
      "rejected AlreadyExists"
    ])
  })
})
