/**
 * Testing a supervised worker with `effect-taskvisor/testing`, on the TestClock: a flaky importer is retried three
 * times with growing delays, then gives up, and its outcome says why; `npx vitest run examples/testing.test.ts`.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { BackoffPolicy, TaskOutcome, TaskSpec, TaskSupervisor } from "effect-taskvisor"
import * as Testing from "effect-taskvisor/testing"

// the code under test: the importer's task, given its body
const importer = <E>(body: Effect.Effect<void, E>) =>
  TaskSpec.restartable("importer", body).pipe(
    TaskSpec.withBackoff(BackoffPolicy.exponential("1 second")),
    TaskSpec.withMaxRetries(3)
  )

it.effect("the importer retries three times with growing delays, then gives up and says why", () =>
  Effect.gen(function*() {
    const handle = yield* TaskSupervisor.add(importer(Testing.fail("upstream answered 503")))
    const outcome = yield* Testing.awaitOutcome(handle)
    assert.strictEqual(TaskOutcome.reason(outcome), "retry limit reached after 3 of 3 retries: upstream answered 503")
    yield* Testing.expectEvents([
      { _tag: "BackoffScheduled", delay: "1 second" },
      { _tag: "BackoffScheduled", delay: "2 seconds" },
      { _tag: "BackoffScheduled", delay: "4 seconds" },
      { _tag: "TaskFinished", outcome: { _tag: "Failed" }, at: 7000 }
    ], { task: "importer", mode: "subsequence" })
  }).pipe(Effect.provide(Testing.layer())))

it.effect("the importer recovers when the upstream comes back before its retries run out", () =>
  Effect.gen(function*() {
    const handle = yield* TaskSupervisor.add(importer(Testing.failTimes(2, "upstream answered 503")))
    assert.strictEqual((yield* Testing.awaitOutcome(handle))._tag, "Completed")
  }).pipe(Effect.provide(Testing.layer())))
