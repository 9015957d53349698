import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { kinds, supervisorWith } from "./utils/recorder.js"

describe("smoke", () => {
  it.scoped("once", () =>
    Effect.gen(function*() {
      const { supervisor, events } = yield* supervisorWith({ grace: "1 second" })
      const h = yield* supervisor.add(TaskSpec.once("a", Effect.void))
      const outcome = yield* h.await
      assert.strictEqual(outcome._tag, "Completed")
      let n = 0
      const h2 = yield* supervisor.add(
        TaskSpec.restartable("b", Effect.suspend(() => ++n < 3 ? Effect.fail("boom") : Effect.void)).pipe(
          TaskSpec.withBackoff(BackoffPolicy.constant("1 second"))
        )
      )
      const f = yield* Effect.fork(h2.await)
      yield* TestClock.adjust("5 seconds")
      const o2 = yield* Fiber.join(f)
      assert.strictEqual(o2._tag, "Completed")
      yield* supervisor.shutdown
      console.log(kinds(events))
    }))
})
