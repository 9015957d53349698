/**
 * The dashboard in a real browser: a headless Chromium (see `utils/browser.ts`), driven by
 * playwright-core, opens the page served by `SupervisorHttp.layer` and sees a
 * restart and an outcome appear in the table without a reload; then a fleet
 * of a thousand tasks, filtered. The supervisor runs on `TestClock`: the test
 * moves time, the page follows through `/events`. Screenshots are saved under
 * `test/output/`.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorHttp from "../src/SupervisorHttp.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { browser } from "./utils/browser.js"
import { advance, settle } from "./utils/fibers.js"
import { neverEnding, perRun } from "./utils/tasks.js"

const output = path.join(import.meta.dirname, "output")

/** A supervisor and its dashboard on a free loopback port. */
const served = Effect.gen(function*() {
  const context = yield* Layer.build(
    SupervisorHttp.layer({ port: 0 }).pipe(
      Layer.provideMerge(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))))
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
  return { url: `http://127.0.0.1:${address.port}/`, supervisor: Context.get(context, TaskSupervisor.TaskSupervisor) }
})

/** A playwright promise, bounded by its own timeout. */
const wait = <A>(promise: () => Promise<A>) => Effect.promise(promise)

describe("dashboard", () => {
  it.scoped(
    "shows a restart and an outcome without a reload, and stays usable with 1000 tasks",
    () =>
      Effect.gen(function*() {
        const { supervisor, url } = yield* served
        const chrome = yield* browser
        const page = yield* wait(() => chrome.newPage({ viewport: { width: 1280, height: 900 } }))
        const { task } = yield* perRun((run) =>
          run === 1 ? Effect.zipRight(Effect.sleep("1 second"), Effect.fail("connection refused")) : neverEnding
        )
        yield* supervisor.add(
          TaskSpec.restartable("flaky", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("2 seconds")))
        )
        yield* supervisor.add(TaskSpec.once("report", Effect.sleep("5 seconds")))
        yield* settle
        yield* wait(() => page.goto(url))
        const row = (name: string) => page.locator(`tr[data-task="${name}"]`)
        yield* wait(() => row("flaky").locator("td.state", { hasText: "Running" }).waitFor({ timeout: 10_000 }))
        yield* wait(() => page.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 }))

        // the first attempt fails at 1 s, the second starts at 3 s; the report completes at 5 s
        yield* advance("1 second")
        yield* wait(() => row("flaky").locator("td.state", { hasText: "BackingOff" }).waitFor({ timeout: 10_000 }))
        yield* advance("2 seconds")
        yield* advance("2 seconds")
        yield* wait(() => row("flaky").locator("td", { hasText: /^2$/ }).first().waitFor({ timeout: 10_000 }))
        const flaky = yield* wait(() => row("flaky").locator("td").allInnerTexts())
        assert.deepStrictEqual(flaky.slice(1, 6), ["flaky", "Running", "2", "1", "failed"])
        assert.strictEqual(flaky[6], "connection refused")
        yield* wait(() => row("report").locator("td", { hasText: "outcome_completed" }).waitFor({ timeout: 10_000 }))
        const log = yield* wait(() => page.locator("#log").innerText())
        assert.include(log, "attempt_failed flaky #1 connection refused")
        assert.include(log, "task_finished report Completed")
        fs.mkdirSync(output, { recursive: true })
        yield* wait(() => page.screenshot({ path: path.join(output, "dashboard.png") }))

        // a thousand more, live; the table keeps up and the filter finds one
        for (let i = 0; i < 1000; i++) {
          yield* supervisor.add(TaskSpec.make(`worker-${String(i).padStart(4, "0")}`, neverEnding))
        }
        yield* settle
        yield* wait(() => row("worker-0999").waitFor({ timeout: 20_000 }))
        assert.strictEqual(yield* wait(() => page.locator("tbody tr").count()), 1002)
        assert.include(yield* wait(() => page.locator("#summary").innerText()), "1001 tasks · 1001 running")
        yield* wait(() => page.fill("#filter", "worker-0500"))
        yield* wait(() => page.locator("tbody tr:not([hidden])").first().waitFor({ timeout: 10_000 }))
        const visible = yield* wait(() => page.locator("tbody tr:not([hidden])").count())
        assert.strictEqual(visible, 1)
        yield* wait(() => page.screenshot({ path: path.join(output, "dashboard-1000.png") }))
      }),
    { timeout: 120_000 }
  )
})
