import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Subscriber from "../src/Subscriber.js"
import * as SupervisorEvent from "../src/SupervisorEvent.js"
import * as TaskOutcome from "../src/TaskOutcome.js"

const ref = (seq: number) => ({ seq, at: 1_000, id: 1, task: "worker" })
const attempt = (seq: number, n = 1) => ({ ...ref(seq), attempt: n })

/** One event of every kind, paired with its expected label. */
const everyKind: ReadonlyArray<readonly [SupervisorEvent.SupervisorEvent, string]> = [
  [SupervisorEvent.TaskAddRequested(ref(1)), "task_add_requested"],
  [SupervisorEvent.TaskAdded(ref(2)), "task_added"],
  [
    SupervisorEvent.TaskAddFailed({ ...ref(3), rejection: "AlreadyExists", reason: "duplicate" }),
    "task_add_failed"
  ],
  [SupervisorEvent.AttemptStarting(attempt(4)), "attempt_starting"],
  [SupervisorEvent.AttemptSucceeded({ ...attempt(5), duration: Duration.millis(12) }), "attempt_succeeded"],
  [
    SupervisorEvent.AttemptCanceled({ ...attempt(6), duration: Duration.millis(3), cause: undefined }),
    "attempt_canceled"
  ],
  [
    SupervisorEvent.AttemptFailed({ ...attempt(7), duration: Duration.millis(3), reason: "boom", exitCode: undefined }),
    "attempt_failed"
  ],
  [
    SupervisorEvent.AttemptTimedOut({ ...attempt(8), duration: Duration.millis(50), timeout: Duration.millis(50) }),
    "attempt_timed_out"
  ],
  [
    SupervisorEvent.BackoffScheduled({
      ...attempt(9),
      delay: Duration.millis(100),
      source: "Failure",
      reason: "boom"
    }),
    "backoff_scheduled"
  ],
  [SupervisorEvent.TaskRemoveRequested({ ...ref(10), reason: undefined }), "task_remove_requested"],
  [SupervisorEvent.TaskFinished({ ...ref(11), outcome: TaskOutcome.Completed }), "task_finished"],
  [SupervisorEvent.TaskRemoved(ref(12)), "task_removed"],
  [SupervisorEvent.ShutdownRequested({ seq: 13, at: 0 }), "shutdown_requested"],
  [SupervisorEvent.AllStoppedWithinGrace({ seq: 14, at: 0 }), "all_stopped_within_grace"],
  [
    SupervisorEvent.GraceExceeded({ seq: 15, at: 0, grace: Duration.seconds(1), stuck: ["a", "b"] }),
    "grace_exceeded"
  ],
  [
    SupervisorEvent.SubscriberOverflow({ seq: 16, at: 0, subscriber: "slow", reason: "full", dropped: 3 }),
    "subscriber_overflow"
  ],
  [
    SupervisorEvent.SubscriberPanicked({ seq: 17, at: 0, subscriber: "bad", reason: "oops" }),
    "subscriber_panicked"
  ],
  [SupervisorEvent.RuntimeFailure({ seq: 18, at: 0, component: "bus", reason: "x" }), "runtime_failure"]
]

describe("SupervisorEvent", () => {
  it("label gives the snake_case label of every kind", () => {
    for (const [event, label] of everyKind) assert.strictEqual(SupervisorEvent.label(event), label, event._tag)
  })

  it("label: AttemptStarting → attempt_starting, AllStoppedWithinGrace → all_stopped_within_grace", () => {
    assert.strictEqual(SupervisorEvent.label(SupervisorEvent.AttemptStarting(attempt(1))), "attempt_starting")
    assert.strictEqual(
      SupervisorEvent.label(SupervisorEvent.AllStoppedWithinGrace({ seq: 1, at: 0 })),
      "all_stopped_within_grace"
    )
  })

  it("kindLabel works on a kind and is stable across calls", () => {
    assert.strictEqual(SupervisorEvent.kindLabel("TaskAddRequested"), "task_add_requested")
    assert.strictEqual(SupervisorEvent.kindLabel("TaskAddRequested"), "task_add_requested")
    assert.strictEqual(SupervisorEvent.kindLabel("GraceExceeded"), "grace_exceeded")
  })

  it("isDiagnostic: only overflow, subscriber panic and runtime failure", () => {
    const diagnostic = new Set(["SubscriberOverflow", "SubscriberPanicked", "RuntimeFailure"])
    for (const [event] of everyKind) {
      assert.strictEqual(SupervisorEvent.isDiagnostic(event), diagnostic.has(event._tag), event._tag)
    }
  })

  it("$is narrows to one kind", () => {
    const isFinished = SupervisorEvent.$is("TaskFinished")
    const matched = everyKind.map(([e]) => e).filter(isFinished)
    assert.strictEqual(matched.length, 1)
    assert.strictEqual(matched[0].outcome._tag, "Completed")
    assert.isFalse(SupervisorEvent.$is("TaskAdded")(SupervisorEvent.TaskRemoved(ref(1))))
  })

  it("constructors keep seq and at", () => {
    for (const [event] of everyKind) {
      assert.isNumber(event.seq)
      assert.isNumber(event.at)
    }
    assert.deepStrictEqual(everyKind.map(([e]) => e.seq), everyKind.map((_, i) => i + 1))
  })
})

describe("Subscriber.formatEvent", () => {
  it("TaskFinished (completed)", () => {
    const event = SupervisorEvent.TaskFinished({ seq: 6, at: 0, id: 1, task: "worker", outcome: TaskOutcome.Completed })
    assert.strictEqual(Subscriber.formatEvent(event), "[006] task_finished task=worker outcome=outcome_completed")
  })

  it("TaskFinished (fatal, with reason and exit code)", () => {
    const event = SupervisorEvent.TaskFinished({
      seq: 42,
      at: 0,
      id: 2,
      task: "job",
      outcome: TaskOutcome.Fatal({ reason: "bad config", exitCode: 78, cause: Cause.fail("bad config") })
    })
    assert.strictEqual(
      Subscriber.formatEvent(event),
      "[042] task_finished task=job outcome=outcome_fatal reason=\"bad config\" exit_code=78"
    )
  })

  it("AttemptStarting", () => {
    assert.strictEqual(
      Subscriber.formatEvent(SupervisorEvent.AttemptStarting({ ...attempt(3, 2) })),
      "[003] attempt_starting task=worker attempt=2"
    )
  })

  it("AttemptFailed with and without an exit code", () => {
    const base = { ...attempt(7, 1), duration: Duration.millis(5), reason: "boom" }
    assert.strictEqual(
      Subscriber.formatEvent(SupervisorEvent.AttemptFailed({ ...base, exitCode: undefined })),
      "[007] attempt_failed task=worker attempt=1 reason=\"boom\""
    )
    assert.strictEqual(
      Subscriber.formatEvent(SupervisorEvent.AttemptFailed({ ...base, exitCode: 3 })),
      "[007] attempt_failed task=worker attempt=1 reason=\"boom\" exit_code=3"
    )
  })

  it("BackoffScheduled", () => {
    const event = SupervisorEvent.BackoffScheduled({
      ...attempt(8, 1),
      delay: Duration.millis(200),
      source: "Failure",
      reason: "boom"
    })
    assert.strictEqual(
      Subscriber.formatEvent(event),
      "[008] backoff_scheduled task=worker source=failure delay=200ms after_attempt=1 reason=\"boom\""
    )
  })

  it("TaskAddFailed shows the rejection label", () => {
    const event = SupervisorEvent.TaskAddFailed({ ...ref(2), rejection: "SupersededByReplace", reason: "replaced" })
    assert.strictEqual(
      Subscriber.formatEvent(event),
      "[002] task_add_failed task=worker rejection=superseded_by_replace reason=\"replaced\""
    )
  })

  it("shutdown events and GraceExceeded", () => {
    assert.strictEqual(
      Subscriber.formatEvent(SupervisorEvent.ShutdownRequested({ seq: 20, at: 0 })),
      "[020] shutdown_requested"
    )
    assert.strictEqual(
      Subscriber.formatEvent(SupervisorEvent.AllStoppedWithinGrace({ seq: 21, at: 0 })),
      "[021] all_stopped_within_grace"
    )
    assert.strictEqual(
      Subscriber.formatEvent(
        SupervisorEvent.GraceExceeded({ seq: 22, at: 0, grace: Duration.seconds(1), stuck: ["a", "b"] })
      ),
      "[022] grace_exceeded grace=1s stuck=a,b"
    )
  })

  it("SubscriberOverflow and TaskRemoved", () => {
    assert.strictEqual(
      Subscriber.formatEvent(
        SupervisorEvent.SubscriberOverflow({ seq: 5, at: 0, subscriber: "slow", reason: "full", dropped: 3 })
      ),
      "[005] subscriber_overflow subscriber=slow reason=full dropped=3"
    )
    assert.strictEqual(Subscriber.formatEvent(SupervisorEvent.TaskRemoved(ref(12))), "[012] task_removed task=worker")
  })

  it("pads seq to three digits but never truncates", () => {
    assert.isTrue(Subscriber.formatEvent(SupervisorEvent.TaskAdded(ref(1))).startsWith("[001] task_added"))
    assert.isTrue(Subscriber.formatEvent(SupervisorEvent.TaskAdded(ref(12345))).startsWith("[12345] task_added"))
  })

  it("every kind formats to a line starting with its seq and label", () => {
    for (const [event, label] of everyKind) {
      const line = Subscriber.formatEvent(event)
      assert.isTrue(line.startsWith(`[${String(event.seq).padStart(3, "0")}] ${label}`), line)
      assert.notInclude(line, "\n")
    }
  })
})
