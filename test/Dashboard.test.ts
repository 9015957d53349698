/**
 * The dashboard in a real browser: a headless Chromium (see `utils/browser.ts`), driven by
 * playwright-core, opens the page served by `SupervisorHttp.layer` and sees, without a reload, a
 * restart and an outcome in the table, then a fleet of a thousand tasks, filtered; the charts move
 * when attempts fail and a task's detail panel shows its crash history and attempt timeline; a
 * group is a tree whose children's restarts show on their rows, beside the controller's slots; the
 * control buttons act on the supervisor with the token asked once, and do not exist without a token;
 * beside the embedded cluster runner, a panel shows the singletons, their owner runner and whether
 * they run, are fenced or not, and none shows out of cluster mode; a cron task shows `Scheduled` with
 * its next run time, runs, and is `Scheduled` again with its next time once its run is over.
 * The supervisor runs on `TestClock` (but beside the cluster runner, on the real clock): the test moves
 * time, the page follows through `/events`.
 * Screenshots are saved under `test/output/`.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as internalSpec from "../src/internal/config/taskSpec.js"
import * as attemptControl from "../src/internal/task/attemptControl.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorHttp from "../src/SupervisorHttp.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { browser } from "./utils/browser.js"
import { hangingRunner, servedCluster } from "./utils/cluster.js"
import { advance, settle } from "./utils/fibers.js"
import { crashingChild, neverEnding, perRun } from "./utils/tasks.js"

const output = path.join(import.meta.dirname, "output")

/** A supervisor (with a controller beside it, and the control routes with `token`) and its dashboard on a free port. */
const served = (options: { readonly token?: string } = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      SupervisorHttp.layer({ port: 0, token: options.token }).pipe(
        Layer.provideMerge(Controller.layer()),
        Layer.provideMerge(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
    return {
      url: `http://127.0.0.1:${address.port}/`,
      supervisor: Context.get(context, TaskSupervisor.TaskSupervisor),
      controller: Context.get(context, Controller.Controller)
    }
  })

/** A playwright promise, bounded by its own timeout. */
const wait = <A>(promise: () => Promise<A>) => Effect.promise(promise)

/** A page of `url` in `chrome`, once its event stream is live. */
const opened = (chrome: Browser, url: string) =>
  Effect.gen(function*() {
    const page = yield* wait(() => chrome.newPage({ viewport: { width: 1280, height: 900 } }))
    yield* wait(() => page.goto(url))
    yield* wait(() => page.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 }))
    return page
  })

const screenshot = (page: Page, name: string) =>
  wait(() => {
    fs.mkdirSync(output, { recursive: true })
    return page.screenshot({ path: path.join(output, name) })
  })

const rowOf = (page: Page, name: string) => page.locator(`#tasks tr[data-task="${name}"]`)

/** Waits until the chart of `series` counts `total` in its window. */
const chartCounts = (page: Page, series: string, total: number) =>
  wait(() => page.locator(`figure[data-series="${series}"][data-total="${total}"]`).waitFor({ timeout: 10_000 }))

/** Waits until the row of `name` shows `text` in the cell of column `column` (0: id, 1: name, 2: state, …). */
const cellShows = (page: Page, name: string, column: number, text: string | RegExp) =>
  wait(() => rowOf(page, name).locator(`td:nth-child(${column + 1})`, { hasText: text }).waitFor({ timeout: 10_000 }))

/** The detail panel's facts, once they show `text` (the panel fills in after the click). */
const factsOnce = (page: Page, text: string | RegExp) =>
  Effect.zipRight(
    wait(() => page.locator("#d-facts", { hasText: text }).waitFor({ timeout: 10_000 })),
    wait(() => page.locator("#d-facts").innerText())
  )

/** A failure with an exit code; untagged, so its reason is its message. */
class Upstream extends Data.Error<{ readonly message: string; readonly exitCode: number }> {}

describe("dashboard", () => {
  it.scoped(
    "shows a restart and an outcome without a reload, and stays usable with 1000 tasks",
    () =>
      Effect.gen(function*() {
        const { supervisor, url } = yield* served()
        const { task } = yield* perRun((run) =>
          run === 1 ? Effect.zipRight(Effect.sleep("1 second"), Effect.fail("connection refused")) : neverEnding
        )
        yield* supervisor.add(
          TaskSpec.restartable("flaky", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("2 seconds")))
        )
        yield* supervisor.add(TaskSpec.once("report", Effect.sleep("5 seconds")))
        yield* settle
        const page = yield* opened(yield* browser, url)
        const row = (name: string) => rowOf(page, name)
        yield* cellShows(page, "flaky", 2, "Running")

        // the first attempt fails at 1 s, the second starts at 3 s; the report completes at 5 s
        yield* advance("1 second")
        yield* cellShows(page, "flaky", 2, "BackingOff")
        yield* advance("2 seconds")
        yield* advance("2 seconds")
        yield* wait(() => row("flaky").locator("td", { hasText: /^2$/ }).first().waitFor({ timeout: 10_000 }))
        const flaky = yield* wait(() => row("flaky").locator("td").allInnerTexts())
        assert.deepStrictEqual(flaky.slice(1, 6), ["flaky", "Running", "2", "1", "failed"])
        // no next run for a task that is not a cron task
        assert.deepStrictEqual(flaky.slice(6), ["", "connection refused"])
        yield* cellShows(page, "report", 5, "outcome_completed")
        const log = yield* wait(() => page.locator("#log").innerText())
        assert.include(log, "attempt_failed flaky #1 connection refused")
        assert.include(log, "task_finished report Completed")
        yield* screenshot(page, "dashboard.png")

        // a thousand more, live; the table keeps up and the filter finds one
        for (let i = 0; i < 1000; i++) {
          yield* supervisor.add(TaskSpec.make(`worker-${String(i).padStart(4, "0")}`, neverEnding))
        }
        yield* settle
        yield* wait(() => row("worker-0999").waitFor({ timeout: 20_000 }))
        assert.strictEqual(yield* wait(() => page.locator("#tasks tbody tr").count()), 1002)
        assert.include(yield* wait(() => page.locator("#summary").innerText()), "1001 tasks · 1001 running")
        yield* wait(() => page.fill("#filter", "worker-0500"))
        // the filter applies at the next frame: wait until the rows it hides are hidden, then read what is left
        yield* wait(() => row("worker-0499").waitFor({ state: "hidden", timeout: 10_000 }))
        const visible = yield* wait(() => page.locator("#tasks tbody tr:not([hidden])").allInnerTexts())
        assert.strictEqual(visible.length, 1)
        assert.include(visible[0], "worker-0500")
        yield* screenshot(page, "dashboard-1000.png")
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "a task that awaits readiness shows Starting from its AttemptStarting, and Running from its AttemptReady",
    () =>
      Effect.gen(function*() {
        const { supervisor, url } = yield* served()
        const page = yield* opened(yield* browser, url)
        const go = yield* Deferred.make<void>()
        // its first attempt is ready once `go` completes; the next ones never are
        const { task } = yield* perRun((run) =>
          run === 1
            ? Effect.zipRight(Deferred.await(go), Effect.zipRight(attemptControl.ready, neverEnding))
            : neverEnding
        )
        // added after the page opened: its TaskAdded tells the page that its attempts await readiness
        yield* supervisor.add(
          internalSpec.update<never, never>(TaskSpec.restartable("server", task), { awaitsReady: true })
        )
        yield* settle
        yield* cellShows(page, "server", 2, /^Starting$/)
        assert.include(yield* wait(() => page.locator("#summary").innerText()), "1 task · 1 running")
        yield* Deferred.succeed(go, undefined)
        yield* settle
        yield* cellShows(page, "server", 2, /^Running$/)
        // a restart starts the next attempt Starting again, and a page opened now reads that from /tasks
        assert.isTrue(yield* supervisor.restart("server"))
        yield* settle
        yield* cellShows(page, "server", 2, /^Starting$/)
        const fresh = yield* opened(yield* browser, url)
        yield* cellShows(fresh, "server", 2, /^Starting$/)
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "a cron task shows Scheduled with its next run time, and again with the next one once its run is over",
    () =>
      Effect.gen(function*() {
        const { supervisor, url } = yield* served()
        const page = yield* opened(yield* browser, url)
        // added after the page opened: only its TaskAdded tells the page of it
        yield* supervisor.add(
          TaskSpec.cron("nightly", Effect.sleep("10 seconds"), "*/5 * * * *", { timeZone: "Europe/Berlin" })
        )
        yield* settle
        yield* cellShows(page, "nightly", 2, /^Scheduled$/)
        // the page knows the server's clock (00:00, a TestClock's) from the events: 5 minutes to go
        yield* cellShows(page, "nightly", 6, /^00:05:00 · in [45] min/)
        assert.strictEqual(
          yield* wait(() => rowOf(page, "nightly").locator("td").nth(6).getAttribute("title")),
          "1970-01-01T00:05:00.000Z"
        )
        assert.include(
          yield* wait(() => page.locator("#summary").innerText()),
          "1 task · 0 running · 0 backing off · 0 paused · 1 scheduled"
        )
        // idle, not a warning: drawn in its own colour, not the one of BackingOff or Paused
        const [color, calm, warn] = yield* wait(() =>
          page.evaluate<Array<string>>(`(() => {
            const probe = (value) => {
              const span = document.createElement("span");
              span.style.color = value;
              document.body.append(span);
              const color = getComputedStyle(span).color;
              span.remove();
              return color;
            };
            const root = getComputedStyle(document.documentElement);
            const cell = document.querySelector('#tasks tr[data-task="nightly"] td.state');
            return [getComputedStyle(cell).color, probe(root.getPropertyValue("--calm")), probe(root.getPropertyValue("--warn"))];
          })()`)
        )
        assert.deepStrictEqual([color === calm, color === warn], [true, false])
        yield* screenshot(page, "dashboard-cron.png")

        // its run at 00:05 takes 10 s; then it waits for 00:10
        yield* advance("5 minutes")
        yield* cellShows(page, "nightly", 2, /^Running$/)
        yield* cellShows(page, "nightly", 6, /^$/)
        yield* advance("10 seconds")
        yield* cellShows(page, "nightly", 2, /^Scheduled$/)
        yield* cellShows(page, "nightly", 6, /^00:10:00 · in [45] min/)
        const row = yield* wait(() => rowOf(page, "nightly").locator("td").allInnerTexts())
        assert.deepStrictEqual(row.slice(1, 6), ["nightly", "Scheduled", "1", "0", "succeeded"])

        // its detail panel shows its schedule and next run
        yield* wait(() => rowOf(page, "nightly").click())
        const facts = yield* factsOnce(page, "overlap skip")
        assert.include(facts, "*/5 * * * * (Europe/Berlin) · overlap skip")
        assert.include(facts, "1970-01-01T00:10:00.000Z (00:10:00 · in ")
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "the charts move when attempts fail; a task's detail panel shows its crash history and attempt timeline",
    () =>
      Effect.gen(function*() {
        const { supervisor, url } = yield* served()
        const page = yield* opened(yield* browser, url)
        const chart = (series: string) => page.locator(`figure[data-series="${series}"]`)
        // the pixels drawn in the middle band of a chart's canvas (its grid lines are at its top and bottom edges)
        const ink = (series: string) =>
          wait(() =>
            chart(series).locator("canvas").evaluate((canvas: any) => {
              const { height, width } = canvas
              const from = Math.floor(height * 0.2)
              const pixels = canvas.getContext("2d").getImageData(0, from, width, Math.floor(height * 0.8) - from).data
              let drawn = 0
              for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++
              return drawn
            })
          )
        const totals = wait(() =>
          page.locator("figure.chart").evaluateAll((figures: any) => figures.map((f: any) => f.dataset.total))
        )

        // runs 1 and 2 fail after a second (exit code 75), run 3 keeps running; 2 s between attempts
        const { task } = yield* perRun((run) =>
          run <= 2
            ? Effect.zipRight(
              Effect.sleep("1 second"),
              Effect.fail(new Upstream({ message: `upstream answered 503 (run ${run})`, exitCode: 75 }))
            )
            : neverEnding
        )
        yield* supervisor.add(
          TaskSpec.restartable("flaky", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("2 seconds")))
        )
        yield* settle
        yield* cellShows(page, "flaky", 2, "Running")
        yield* wait(() => rowOf(page, "flaky").click())
        const panel = page.locator("#detail")
        yield* wait(() => panel.locator("#d-title", { hasText: "flaky" }).waitFor({ timeout: 10_000 }))
        yield* wait(() => panel.locator("#d-failures td", { hasText: "no failure" }).waitFor({ timeout: 10_000 }))
        yield* chartCounts(page, "attempts", 1)
        assert.deepStrictEqual(yield* totals, ["1", "0", "0"])
        assert.strictEqual(yield* ink("failures"), 0, "no failure: nothing drawn")
        assert.strictEqual(yield* ink("restarts"), 0, "no restart: nothing drawn")
        assert.isAbove(yield* ink("attempts"), 0, "the attempt is drawn")

        // the first attempt fails: the failures chart draws it, the panel lists the failure with its exit code
        yield* advance("1 second")
        yield* chartCounts(page, "failures", 1)
        assert.isAbove(yield* ink("failures"), 0, "the failure is drawn")
        const failure = panel.locator("#d-failures tbody tr").first()
        yield* wait(() =>
          failure.locator("td", { hasText: "upstream answered 503 (run 1)" }).waitFor({ timeout: 10_000 })
        )
        assert.deepStrictEqual(
          (yield* wait(() => failure.locator("td").allInnerTexts())).slice(1),
          ["#1", "upstream answered 503 (run 1)", "75"]
        )

        // the second attempt starts at 3 s (a restart), fails at 4 s; the third starts at 6 s and runs
        yield* advance("2 seconds")
        yield* chartCounts(page, "restarts", 1)
        assert.isAbove(yield* ink("restarts"), 0, "the restart is drawn")
        yield* advance("1 second")
        yield* advance("2 seconds")
        yield* cellShows(page, "flaky", 3, "3")
        yield* chartCounts(page, "restarts", 2)
        assert.deepStrictEqual(yield* totals, ["3", "2", "2"])
        assert.include(yield* wait(() => chart("failures").locator("figcaption").innerText()), "2 in 5 min")

        // the crash history, newest first, from GET /tasks/flaky; the timeline, from the events the page saw
        yield* wait(() => panel.locator("#d-failures tbody tr").nth(1).waitFor({ timeout: 10_000 }))
        const history = yield* wait(() => panel.locator("#d-failures tbody tr").allInnerTexts())
        assert.strictEqual(history.length, 2)
        assert.match(history[0], /#2\s+upstream answered 503 \(run 2\)\s+75/)
        assert.match(history[1], /#1\s+upstream answered 503 \(run 1\)\s+75/)
        assert.match(history[0], /^00:00:04\.000/, "when it ended, on the supervisor's clock")
        const segments = yield* wait(() =>
          panel.locator("#d-timeline span").evaluateAll((spans: any) => spans.map((s: any) => s.dataset.result))
        )
        assert.deepStrictEqual(segments, ["failed", "failed", "running"])
        const attempts = yield* wait(() => panel.locator("#d-attempts li").allInnerTexts())
        assert.deepStrictEqual(attempts.map((line) => line.split(" · ")[0]), ["#3 running", "#2 failed", "#1 failed"])
        assert.include(attempts[1], "00:00:03.000 · 1.0 s · upstream answered 503 (run 2)")
        yield* screenshot(page, "dashboard-detail.png")
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "a group is a tree: its settings on its row, its children indented under it and collapsible, their restarts on their rows; the controller's slots live",
    () =>
      Effect.gen(function*() {
        const { controller, supervisor, url } = yield* served()
        const page = yield* opened(yield* browser, url)
        yield* supervisor.add(TaskSpec.make("solo", neverEnding))
        // parse crashes at 1 s and restarts 1 s later; restForOne restarts the store group after it, afresh
        const parse = yield* crashingChild("parse", "1 second")
        yield* supervisor.add(TaskSpec.group("pipeline", [
          TaskSpec.restartable("fetch", neverEnding),
          parse,
          TaskSpec.group(
            "store",
            [TaskSpec.restartable("db", neverEnding), TaskSpec.restartable("cache", neverEnding)],
            {
              strategy: "oneForAll"
            }
          )
        ], { strategy: "restForOne", intensity: { maxRestarts: 5, within: "1 minute" } }))
        const imports = (n: number) =>
          ControllerSpec.queue(TaskSpec.once(`import-${n}`, Effect.sleep("10 seconds"))).pipe(
            ControllerSpec.withSlot("imports")
          )
        yield* controller.submit(imports(1))
        yield* controller.submit(imports(2))
        yield* settle

        // the tree: each child after its group, by depth; a child shows its own name, its row keeps its path
        yield* cellShows(page, "pipeline/store/cache", 2, "Running")
        yield* cellShows(page, "import-1", 2, "Running")
        const tree = yield* wait(() =>
          page.locator("#tasks tbody tr").evaluateAll((trs: any) =>
            trs.map((tr: any) => `${tr.dataset.depth} ${tr.dataset.task}`)
          )
        )
        assert.deepStrictEqual(tree, [
          "0 solo",
          "0 pipeline",
          "1 pipeline/fetch",
          "1 pipeline/parse",
          "1 pipeline/store",
          "2 pipeline/store/db",
          "2 pipeline/store/cache",
          "0 import-1"
        ])
        assert.strictEqual(yield* wait(() => rowOf(page, "pipeline/store/db").locator(".label").innerText()), "db")
        const indent = (name: string) =>
          wait(() =>
            rowOf(page, name).locator("td.name").evaluate((td) =>
              parseFloat((globalThis as any).getComputedStyle(td).paddingLeft)
            )
          )
        assert.isAbove(yield* indent("pipeline/store"), yield* indent("pipeline"))
        assert.isAbove(yield* indent("pipeline/store/db"), yield* indent("pipeline/store"))
        yield* wait(() =>
          rowOf(page, "pipeline").locator(".badge", { hasText: "restForOne · ≤5 restarts/1m · autoShutdown never" })
            .waitFor({ timeout: 10_000 })
        )
        yield* wait(() =>
          rowOf(page, "pipeline/store").locator(".badge", { hasText: "oneForAll · no intensity limit" })
            .waitFor({ timeout: 10_000 })
        )

        // the controller's slot: its owner running, one submission queued
        const slot = page.locator(`#slots tr[data-slot="imports"]`)
        yield* wait(() => slot.locator("td:nth-child(4)", { hasText: /^1$/ }).waitFor({ timeout: 10_000 }))
        assert.deepStrictEqual((yield* wait(() => slot.locator("td").allInnerTexts())).slice(0, 4), [
          "imports",
          "Running",
          "import-1",
          "1"
        ])

        // collapsed, a group hides everything under it; expanded again, shows it
        const hidden = (name: string) => wait(() => rowOf(page, name).evaluate((tr: any) => tr.hidden))
        yield* wait(() => rowOf(page, "pipeline").locator("button.toggle").click())
        yield* wait(() =>
          page.locator(`#tasks tr[data-task="pipeline/store/db"][hidden]`).waitFor({ state: "attached" })
        )
        assert.deepStrictEqual(
          [yield* hidden("pipeline"), yield* hidden("pipeline/fetch"), yield* hidden("pipeline/store/cache")],
          [false, true, true]
        )
        yield* screenshot(page, "dashboard-collapsed.png")
        yield* wait(() => rowOf(page, "pipeline").locator("button.toggle").click())
        yield* wait(() => rowOf(page, "pipeline/store/db").waitFor({ state: "visible", timeout: 10_000 }))

        // parse crashes: the group restarts it and the store after it; the store's children start afresh
        const dbBefore = yield* wait(() => rowOf(page, "pipeline/store/db").getAttribute("data-id"))
        yield* advance("1 second")
        yield* wait(() =>
          rowOf(page, "pipeline").locator(".badge", { hasText: "1 group restart" }).waitFor({ timeout: 10_000 })
        )
        yield* cellShows(page, "pipeline/store", 7, "restarted with parse (RestForOne)")
        yield* advance("1 second")
        yield* cellShows(page, "pipeline/parse", 4, "1")
        yield* cellShows(page, "pipeline/store", 4, "1")
        yield* cellShows(page, "pipeline/store/db", 2, "Running")
        const restarts = (name: string) => wait(() => rowOf(page, name).locator("td").nth(4).innerText())
        assert.deepStrictEqual(
          [yield* restarts("pipeline/fetch"), yield* restarts("pipeline/parse"), yield* restarts("pipeline/store")],
          ["0", "1", "1"]
        )
        assert.notStrictEqual(yield* wait(() => rowOf(page, "pipeline/store/db").getAttribute("data-id")), dbBefore)
        assert.strictEqual(yield* wait(() => page.locator("#tasks tbody tr").count()), 8, "a new task keeps its row")
        assert.strictEqual(yield* wait(() => rowOf(page, "pipeline/store/db").getAttribute("data-depth")), "2")

        // the group's panel: its settings and children, as GET /tasks/pipeline gives them
        yield* wait(() => rowOf(page, "pipeline").click())
        yield* wait(() => page.locator("#d-title", { hasText: /^pipeline$/ }).waitFor({ timeout: 10_000 }))
        const facts = yield* factsOnce(page, "strategy")
        assert.match(facts, /strategy\s+restForOne/)
        assert.match(facts, /intensity\s+at most 5 child restarts within 1m/)
        assert.match(facts, /autoShutdown\s+never/)
        assert.match(facts, /group restarts\s+1: parse, store/)
        assert.include(facts, "parse Running")
        const pipeline = yield* wait(() => fetch(`${url}tasks/pipeline`).then((r): Promise<any> => r.json()))
        assert.deepStrictEqual(pipeline.supervision, {
          strategy: "restForOne",
          autoShutdown: "never",
          intensity: { maxRestarts: 5, withinMs: 60_000 },
          children: ["pipeline/fetch", "pipeline/parse", "pipeline/store"]
        })
        assert.isUndefined(
          (yield* wait(() => fetch(`${url}tasks/solo`).then((r): Promise<any> => r.json()))).supervision
        )

        // import-1 ends at 10 s: the slot passes to import-2 (no event says the slot went idle in between)
        yield* advance("8 seconds")
        yield* wait(() => slot.locator("td", { hasText: "import-2" }).waitFor({ timeout: 10_000 }))
        assert.strictEqual(yield* wait(() => slot.locator("td").nth(3).innerText()), "0")
        // a finished task goes below the registered ones, where a new one does not come after it
        yield* wait(() => page.locator(`#done tr[data-task="import-1"]`).waitFor({ timeout: 10_000 }))
        const order = yield* wait(() =>
          page.locator("#tasks tbody tr").evaluateAll((trs: any) => trs.map((tr: any) => tr.dataset.task))
        )
        assert.deepStrictEqual(order.slice(-2), ["import-2", "import-1"])
        yield* screenshot(page, "dashboard-tree.png")
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "controls: with a token, the buttons act on the supervisor (the token asked once, kept for the tab) and a 401 or 409 shows its error; without one there are none",
    () =>
      Effect.gen(function*() {
        const token = "s3cret-token"
        const { supervisor, url } = yield* served({ token })
        yield* supervisor.add(TaskSpec.make("steady", neverEnding))
        yield* settle
        const chrome = yield* browser
        const page = yield* opened(chrome, url)
        const stateOf = Effect.map(supervisor.list, (tasks) => tasks.find((t) => t.name === "steady")?.state)
        yield* wait(() => rowOf(page, "steady").click())
        const button = (action: string) => page.locator(`#controls button[data-action="${action}"]`)
        const message = page.locator("#control-message")
        const form = page.locator("#token-form")
        assert.deepStrictEqual(yield* wait(() => page.locator("#controls button[data-action]").allInnerTexts()), [
          "restart",
          "pause",
          "resume",
          "trigger",
          "cancel"
        ])
        assert.isTrue(yield* wait(() => form.isHidden()))

        // the first control asks for the token; a wrong one is a 401, shown, and asked again
        yield* wait(() => button("pause").click())
        yield* wait(() => form.waitFor({ state: "visible", timeout: 10_000 }))
        yield* wait(() => page.fill("#token", "wrong-token"))
        yield* wait(() => form.locator("button[type=submit]").click())
        yield* wait(() => message.and(page.locator(".bad")).waitFor({ timeout: 10_000 }))
        // the server's error, after its status
        assert.match(yield* wait(() => message.innerText()), /^401: \S/)
        yield* wait(() => form.waitFor({ state: "visible", timeout: 10_000 }))
        assert.strictEqual(yield* stateOf, "Running")

        // the right one: the pause waiting for it applies
        yield* wait(() => page.fill("#token", token))
        yield* wait(() => form.locator("button[type=submit]").click())
        yield* wait(() => message.and(page.locator(".ok")).waitFor({ timeout: 10_000 }))
        assert.strictEqual(yield* wait(() => message.innerText()), "pause steady: applied")
        assert.strictEqual(yield* stateOf, "Paused")
        yield* cellShows(page, "steady", 2, "Paused")

        // kept for the tab: not asked again; a control that does not apply is a 409, shown
        yield* wait(() => button("pause").click())
        yield* wait(() => message.and(page.locator(".bad")).waitFor({ timeout: 10_000 }))
        assert.match(yield* wait(() => message.innerText()), /^409: .*steady/)
        assert.isTrue(yield* wait(() => form.isHidden()))
        yield* wait(() => button("resume").click())
        yield* wait(() => message.and(page.locator(".ok")).waitFor({ timeout: 10_000 }))
        yield* settle
        assert.strictEqual(yield* stateOf, "Running")
        yield* cellShows(page, "steady", 3, "2")

        // cancel takes a second click
        yield* wait(() => button("cancel").click())
        assert.strictEqual(yield* wait(() => button("cancel").innerText()), "confirm cancel")
        assert.strictEqual(yield* stateOf, "Running")
        yield* wait(() => button("cancel").click())
        yield* wait(() =>
          page.locator("#control-message", { hasText: "cancel steady: applied" }).waitFor({ timeout: 10_000 })
        )
        yield* cellShows(page, "steady", 2, "Finished")
        yield* settle
        assert.isUndefined(yield* stateOf)

        // the token lives in this tab's session storage, never in the address
        const kept = yield* wait(() =>
          page.evaluate(() => (globalThis as any).sessionStorage.getItem("effect-taskvisor.token"))
        )
        assert.strictEqual(kept, token)
        assert.notInclude(page.url(), token)
        yield* screenshot(page, "dashboard-controls.png")

        // without a token, the control routes do not exist and the page has no buttons
        const unguarded = yield* served()
        yield* unguarded.supervisor.add(TaskSpec.make("steady", neverEnding))
        yield* settle
        const readOnly = yield* opened(chrome, unguarded.url)
        yield* wait(() => rowOf(readOnly, "steady").click())
        yield* wait(() => readOnly.locator("#d-title", { hasText: "steady" }).waitFor({ timeout: 10_000 }))
        assert.strictEqual(yield* wait(() => readOnly.locator("body").getAttribute("data-controls")), "off")
        assert.strictEqual(yield* wait(() => readOnly.locator("#detail button[data-action], #token-form").count()), 0)
      }),
    { timeout: 120_000 }
  )

  it.scopedLive(
    "cluster singletons: a panel with each one's owner runner, running, not running or fenced, here when local; none out of cluster mode",
    () =>
      Effect.gen(function*() {
        const hung = { on: false }
        const { runner, url } = yield* servedCluster([
          [TaskSpec.make("leader", Effect.never), { fence: { interval: "100 millis", deadline: "200 millis" } }],
          [
            TaskSpec.make("importer", Effect.fail("upstream gone"), { restart: RestartPolicy.never }),
            { unownedAfter: "200 millis", rearmAfter: "never", fence: false }
          ]
        ], { runner: hangingRunner(hung) })
        const chrome = yield* browser
        const page = yield* opened(chrome, url)
        const singleton = (name: string) => page.locator(`#singletons tr[data-singleton="${name}"]`)
        const shows = (name: string, column: number, text: string | RegExp) =>
          wait(() =>
            singleton(name).locator(`td:nth-child(${column + 1})`, { hasText: text }).waitFor({ timeout: 10_000 })
          )
        yield* shows("leader", 2, /^running$/)
        // the importer gave up: not running, on its owner here, for as long as the alarm says
        yield* shows("importer", 2, /^not running$/)
        yield* shows("importer", 3, /\d/)
        const order = yield* wait(() =>
          page.locator("#singletons tbody tr").evaluateAll((trs: any) => trs.map((tr: any) => tr.dataset.singleton))
        )
        assert.deepStrictEqual(order, ["importer", "leader"])
        for (const name of ["leader", "importer"]) {
          const owner = singleton(name).locator("td").nth(1)
          assert.include(yield* wait(() => owner.innerText()), runner)
          assert.strictEqual(yield* wait(() => owner.locator(".badge").innerText()), "here")
        }
        assert.strictEqual(
          yield* wait(() => singleton("leader").locator("td").nth(2).getAttribute("class")),
          "ok"
        )
        assert.strictEqual(
          yield* wait(() => singleton("importer").locator("td").nth(2).getAttribute("class")),
          "bad"
        )
        yield* screenshot(page, "dashboard-singletons.png")

        // a singleton's name leads to its task's row
        yield* wait(() => singleton("leader").locator("a").click())
        yield* wait(() => page.locator("#d-title", { hasText: /^leader$/ }).waitFor({ timeout: 10_000 }))

        // its lease cannot be confirmed: the owner fences it, and the panel says so, no longer here
        hung.on = true
        yield* shows("leader", 2, /^fenced$/)
        assert.strictEqual(yield* wait(() => singleton("leader").locator(".badge.here").count()), 0)
        hung.on = false
        yield* shows("leader", 2, /^running$/)
        yield* wait(() => singleton("leader").locator(".badge.here").waitFor({ timeout: 10_000 }))

        // out of cluster mode there is no panel
        const plain = yield* served()
        yield* plain.supervisor.add(TaskSpec.make("steady", neverEnding))
        const other = yield* opened(chrome, plain.url)
        yield* wait(() => rowOf(other, "steady").waitFor({ timeout: 10_000 }))
        yield* wait(() => other.locator("#slots").waitFor({ state: "visible", timeout: 10_000 }))
        assert.isTrue(yield* wait(() => other.locator("#singletons").isHidden()))
        assert.strictEqual(yield* wait(() => other.locator("#singletons tbody tr").count()), 0)
      }),
    { timeout: 120_000 }
  )
})
