/**
 * The HTTP endpoint served by `SupervisorHttp.layer` on a real loopback
 * socket, asked by real HTTP clients: every route's status and body, the
 * token rules, malformed requests, closing the layer whatever the clients
 * do, and Server-Sent Events with a client outrun by a burst and one that
 * stops reading; beside the embedded cluster runner, the singletons on
 * `/singletons` and `/tasks`, and `/ready` for an owner whose singleton does
 * not run (its task gave up, or it fenced it).
 */
import type * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import ts from "typescript"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as ClusterRunner from "../src/ClusterRunner.js"
import * as Controller from "../src/Controller.js"
import * as ControllerSpec from "../src/ControllerSpec.js"
import * as internalSpec from "../src/internal/config/taskSpec.js"
import { SupervisorRegistry } from "../src/internal/supervisor/taskSupervisor.js"
import * as attemptControl from "../src/internal/task/attemptControl.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import * as SupervisorConfig from "../src/SupervisorConfig.js"
import * as SupervisorError from "../src/SupervisorError.js"
import * as SupervisorHttp from "../src/SupervisorHttp.js"
import * as SupervisorMetrics from "../src/SupervisorMetrics.js"
import * as TaskSpec from "../src/TaskSpec.js"
import * as TaskSupervisor from "../src/TaskSupervisor.js"
import { eventuallyEffect, hangingRunner, servedCluster } from "./utils/cluster.js"
import { advance, settle } from "./utils/fibers.js"
import { neverEnding, perRun } from "./utils/tasks.js"

const token = "s3cret-token"

/** A supervisor (and a controller, with `controller`) served on a free loopback port; its base URL. */
const serve = (options: SupervisorHttp.Options & { readonly controller?: boolean; readonly port?: number } = {}) =>
  Effect.gen(function*() {
    const supervisorLayer = TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" })))
    const services = options.controller === true
      ? Controller.layer().pipe(Layer.provideMerge(supervisorLayer))
      : supervisorLayer
    const context = yield* Layer.build(
      SupervisorHttp.layer({ ...options, port: options.port ?? 0 }).pipe(Layer.provideMerge(services))
    )
    const server = Context.get(context, HttpServer.HttpServer)
    const address = server.address as HttpServer.TcpAddress
    return {
      base: `http://127.0.0.1:${address.port}`,
      port: address.port,
      supervisor: Context.get(context, TaskSupervisor.TaskSupervisor),
      controller: options.controller === true
        ? Context.get(context as Context.Context<any>, Controller.Controller)
        : undefined
    }
  })

/** A supervisor served on `port`, which must be free. */
const serveOn = (port: number) => serve({ port })

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** A request through Node's own HTTP client (`fetch`); the body parsed as JSON when it is JSON. */
const request = (url: string, init?: RequestInit) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(url, init)
    const text = await response.text()
    const json = response.headers.get("content-type")?.includes("application/json") === true
    return { status: response.status, headers: response.headers, body: json && text !== "" ? JSON.parse(text) : text }
  })

const post = (url: string, bearer?: string) =>
  request(url, { method: "POST", headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } })

/** Assert a `ConfigError` with exactly this field and reason (and the message built from them). */
const assertConfigError = (error: unknown, field: string, reason: string): void => {
  assert.instanceOf(error, SupervisorError.ConfigError)
  const e = error as SupervisorError.ConfigError
  assert.deepStrictEqual({ field: e.field, reason: e.reason }, { field, reason })
  assert.strictEqual(e.message, `invalid ${field}: ${reason}`)
}

/** A raw request line, for what `fetch` refuses to send. */
const raw = (port: number, line: string) =>
  Effect.async<string>((resume) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let text = ""
    socket.on("data", (chunk) => (text += chunk.toString()))
    socket.on("close", () => resume(Effect.succeed(text)))
    socket.on("error", () => resume(Effect.succeed(text)))
  })

describe("SupervisorHttp", () => {
  it.scoped("health, readiness and the tasks with their history", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ ready: ["poller"] })
      assert.deepStrictEqual((yield* request(`${base}/health`)).body, { status: "ok" })
      const waiting = yield* request(`${base}/ready`)
      assert.deepStrictEqual([waiting.status, waiting.body], [503, { ready: false, waiting: ["poller"] }])

      const { task } = yield* perRun((run) => run === 1 ? Effect.fail("first run fails") : neverEnding)
      yield* supervisor.add(
        TaskSpec.restartable("poller", task).pipe(TaskSpec.withBackoff(BackoffPolicy.constant("1 second")))
      )
      yield* supervisor.add(TaskSpec.group("g", [TaskSpec.make("child", neverEnding)]))
      yield* settle
      assert.deepStrictEqual((yield* request(`${base}/ready`)).body, { ready: true, waiting: [] })
      yield* advance("1 second")

      const tasks = yield* request(`${base}/tasks`)
      assert.strictEqual(tasks.status, 200)
      assert.deepStrictEqual(tasks.body.map((t: any) => [t.name, t.state, t.attempt, t.restarts]), [
        ["poller", "Running", 2, 1],
        ["g", "Running", 1, 0],
        ["g/child", "Running", 1, 0]
      ])
      const poller = (yield* request(`${base}/tasks/poller`)).body
      assert.deepStrictEqual(poller.lastAttempt, { result: "failed", reason: "first run fails", at: 0 })
      assert.deepStrictEqual(poller.failures, [{ at: 0, attempt: 1, reason: "first run fails" }])
      assert.strictEqual(poller.uptimeMs, 0)
      yield* advance("2 seconds")
      assert.strictEqual((yield* request(`${base}/tasks/poller`)).body.uptimeMs, 2000)
      for (const path of ["g%2Fchild", "g/child"]) {
        const child = yield* request(`${base}/tasks/${path}`)
        assert.deepStrictEqual([child.status, child.body.name, child.body.group], [200, "g/child", "g"])
      }
      const missing = yield* request(`${base}/tasks/nobody`)
      assert.deepStrictEqual([missing.status, missing.body], [404, { error: "no task named 'nobody' is registered" }])

      yield* supervisor.shutdown
      const down = yield* request(`${base}/health`)
      assert.deepStrictEqual([down.status, down.body], [503, { status: "shutting_down" }])
      assert.strictEqual((yield* request(`${base}/ready`)).status, 503)
    }))

  it.scoped("/ready waits for a ready task whose attempt is Starting; /tasks and its TaskAdded say it awaits readiness", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ ready: ["server"] })
      const go = yield* Deferred.make<void>()
      const body = Effect.zipRight(Deferred.await(go), Effect.zipRight(attemptControl.ready, neverEnding))
      yield* supervisor.add(
        internalSpec.update<never, never>(TaskSpec.restartable("server", body), { awaitsReady: true })
      )
      yield* supervisor.add(TaskSpec.restartable("other", neverEnding))
      yield* settle
      const starting = yield* request(`${base}/ready`)
      assert.deepStrictEqual([starting.status, starting.body], [503, { ready: false, waiting: ["server"] }])
      const row = (yield* request(`${base}/tasks/server`)).body
      assert.deepStrictEqual([row.state, row.awaitsReady, row.attempt], ["Starting", true, 1])
      yield* Deferred.succeed(go, undefined)
      yield* settle
      assert.deepStrictEqual((yield* request(`${base}/ready`)).body, { ready: true, waiting: [] })
      assert.strictEqual((yield* request(`${base}/tasks/server`)).body.state, "Running")
      const other = (yield* request(`${base}/tasks`)).body.find((t: any) => t.name === "other")
      assert.deepStrictEqual([other.state, other.awaitsReady], ["Running", undefined])
    }))

  it.scoped("the controller's slots, and a 404 without a controller", () =>
    Effect.gen(function*() {
      const without = yield* serve()
      assert.strictEqual((yield* request(`${without.base}/controller`)).status, 404)
      const { base, controller } = yield* serve({ controller: true })
      yield* controller!.submit(
        ControllerSpec.queue(TaskSpec.make("job", neverEnding)).pipe(ControllerSpec.withSlot("s"))
      )
      yield* settle
      const slots = (yield* request(`${base}/controller`)).body
      assert.deepStrictEqual(
        [slots.runningCount, slots.totalQueued, slots.slots.map((s: any) => [s.slot, s.status])],
        [1, 0, [["s", "Running"]]]
      )
    }))

  it.scoped("metrics: the exporter's text, or a 404 without one", () =>
    Effect.gen(function*() {
      const without = yield* serve()
      assert.strictEqual((yield* request(`${without.base}/metrics`)).status, 404)
      const { base } = yield* serve({ metrics: Effect.succeed("taskvisor_tasks_registered 0\n") })
      const metrics = yield* request(`${base}/metrics`)
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.headers.get("content-type") ?? "", "text/plain; version=0.0.4")
      assert.strictEqual(metrics.body, "taskvisor_tasks_registered 0\n")
    }))

  it.scoped("a route that fails unexpectedly (an exporter that dies) answers 500 and is a RuntimeFailure of http", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ metrics: Effect.die(new Error("exporter broke")) })
      const reported = yield* Effect.fork(
        Stream.runHead(Stream.filter(supervisor.events, (e) => e._tag === "RuntimeFailure"))
      )
      yield* Effect.yieldNow()
      const reply = yield* request(`${base}/metrics`)
      assert.deepStrictEqual([reply.status, reply.body], [500, { error: "internal error" }])
      const failure = Option.getOrThrow(yield* Fiber.join(reported))
      assert.deepStrictEqual(
        failure._tag === "RuntimeFailure" ? [failure.component, failure.reason] : [],
        ["http", "GET /metrics: exporter broke"]
      )
      assert.strictEqual((yield* request(`${base}/health`)).status, 200, "the endpoint carries on")
    }))

  it.scoped("controls need the bearer token: 401 without it or with a wrong one; then 200, 409 or 404", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ token: Redacted.make(token) })
      yield* supervisor.add(TaskSpec.make("worker", neverEnding))
      yield* settle
      for (const bearer of [undefined, "wrong", `${token}x`, ""]) {
        const refused = yield* post(`${base}/tasks/worker/pause`, bearer)
        assert.strictEqual(refused.status, 401)
        assert.strictEqual(refused.headers.get("www-authenticate"), "Bearer")
      }
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.state), ["Running"], "nothing happened")
      const paused = yield* post(`${base}/tasks/worker/pause`, token)
      assert.deepStrictEqual([paused.status, paused.body], [200, { task: "worker", action: "pause", applied: true }])
      yield* settle
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.state), ["Paused"])
      const again = yield* post(`${base}/tasks/worker/pause`, token)
      assert.deepStrictEqual([again.status, again.body.error], [409, "pause does not apply to task 'worker' (Paused)"])
      assert.strictEqual((yield* post(`${base}/tasks/worker/resume`, token)).status, 200)
      yield* settle
      assert.strictEqual((yield* post(`${base}/tasks/worker/restart`, token)).status, 200)
      assert.strictEqual((yield* post(`${base}/tasks/worker/trigger`, token)).status, 409)
      assert.strictEqual((yield* post(`${base}/tasks/nobody/restart`, token)).status, 404)
      for (const action of ["explode", "toString", "constructor", "__proto__"]) {
        assert.strictEqual((yield* post(`${base}/tasks/worker/${action}`, token)).status, 404, action)
      }
      assert.strictEqual((yield* post(`${base}/tasks/worker/cancel`, token)).status, 200)
      yield* settle
      assert.deepStrictEqual(yield* supervisor.list, [])
    }))

  it.scoped("without a token every control is refused with 403, saying controls are disabled", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve()
      yield* supervisor.add(TaskSpec.make("worker", neverEnding))
      yield* settle
      for (const action of ["cancel", "restart", "pause", "resume", "trigger", "explode"]) {
        for (const bearer of [token, undefined]) {
          const refused = yield* post(`${base}/tasks/worker/${action}`, bearer)
          assert.deepStrictEqual([refused.status, refused.body], [403, {
            error: "runtime controls are disabled: no token was configured"
          }], action)
        }
      }
      assert.deepStrictEqual((yield* supervisor.list).map((t) => t.state), ["Running"])
      const deleted = yield* request(`${base}/tasks/worker`, { method: "DELETE" })
      assert.deepStrictEqual([deleted.status, deleted.headers.get("allow")], [405, "GET, POST"])
    }))

  it.scoped("malformed paths, huge names, bad methods and unknown routes: a clear 4xx with a JSON error", () =>
    Effect.gen(function*() {
      const { base, port } = yield* serve({ token })
      const badEncoding = yield* request(`${base}/tasks/%E0%A4%A`)
      assert.deepStrictEqual([badEncoding.status, badEncoding.body.error], [
        400,
        "the task name is not valid percent-encoding"
      ])
      const huge = yield* request(`${base}/tasks/${"x".repeat(5000)}`)
      assert.strictEqual(huge.status, 414)
      const deleted = yield* request(`${base}/health`, { method: "DELETE" })
      assert.deepStrictEqual([deleted.status, deleted.headers.get("allow")], [405, "GET"])
      const unknown = yield* request(`${base}/nope`)
      assert.deepStrictEqual([unknown.status, unknown.body.error], [404, "no route for GET /nope"])
      const odd = yield* raw(port, "BREW /tasks HTTP/1.1")
      assert.match(odd, /^HTTP\/1\.1 4\d\d /)
      const dotted = yield* raw(port, "GET /../../etc/passwd HTTP/1.1")
      assert.match(dotted, /^HTTP\/1\.1 404 /)
      // the server still answers
      assert.strictEqual((yield* request(`${base}/health`)).status, 200)
    }))

  it.scoped("HEAD answers like GET, without a body; the event stream takes GET only", () =>
    Effect.gen(function*() {
      const { base } = yield* serve()
      const head = yield* request(`${base}/health`, { method: "HEAD" })
      assert.deepStrictEqual([head.status, head.body], [200, ""])
      assert.strictEqual((yield* request(`${base}/events`, { method: "HEAD" })).status, 405)
    }))

  it.scoped("the bearer scheme in any case, with any spaces around the token; anything else is 401", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ token })
      yield* supervisor.add(TaskSpec.make("worker", neverEnding))
      yield* settle
      const status = (authorization: string) =>
        Effect.map(
          request(`${base}/tasks/worker/restart`, { method: "POST", headers: { authorization } }),
          (reply) => reply.status
        )
      for (const header of [`bearer ${token}`, `BEARER ${token}`, `  Bearer ${token}  `, `Bearer  ${token}`]) {
        assert.strictEqual(yield* status(header), 200, header)
      }
      for (const header of ["Basic Zm9vOmJhcg==", "Bearer", token, `Bearer ${token} x`, `Bearer\t${token}`]) {
        assert.strictEqual(yield* status(header), 401, header)
      }
    }))

  it.effect("a token that cannot be sent as a bearer token is refused at configuration with a ConfigError", () =>
    Effect.gen(function*() {
      const refusals: ReadonlyArray<readonly [string, string]> = [
        ["tökén", "character 2 is outside ASCII"],
        ["密钥", "character 1 is outside ASCII"],
        ["two words", "character 4 is a space"],
        ["tab\tbed", "character 4 is a control character"],
        ["", "must not be empty (leave it out to turn runtime controls off)"]
      ]
      for (const [text, problem] of refusals) {
        const reason = text === "" ? problem : `must be visible ASCII, as a bearer token is sent (RFC 6750): ${problem}`
        for (const given of [text, Redacted.make(text)]) {
          let thrown: unknown = undefined
          try {
            SupervisorHttp.router({ token: given })
          } catch (error) {
            thrown = error
          }
          assertConfigError(thrown, "token", reason)
          const failed = yield* Layer.build(SupervisorHttp.layer({ port: 0, token: given })).pipe(
            Effect.provide(TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer()))),
            Effect.scoped,
            Effect.flip
          )
          assertConfigError(failed, "token", reason)
        }
      }
      for (const text of ["s3cret-token", "a+b/c==", "!#$%&'*.^_`|~", "~"]) SupervisorHttp.router({ token: text })
    }))

  it.scoped("readiness is a latch: a ready task that has started counts while it is paused or after it ended", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve({ ready: ["steady", "once"] })
      yield* supervisor.add(TaskSpec.make("steady", neverEnding))
      yield* (yield* supervisor.add(TaskSpec.once("once", Effect.void))).await
      yield* supervisor.pause("steady")
      yield* settle
      assert.deepStrictEqual((yield* request(`${base}/ready`)).body, { ready: true, waiting: [] })
    }))

  it("router: it requires the registry TaskSupervisor.layer provides beside the supervisor, in its type", () => {
    const router = SupervisorHttp.router()
    // @ts-expect-error SupervisorRegistry is required: a supervisor of another make does not serve the routes
    const _wrong: HttpRouter.HttpRouter<never, TaskSupervisor.TaskSupervisor> = router
    assert.isTrue(Effect.isEffect(router))
  })

  it.scoped("router: its readiness watch is unregistered once every ready task was seen started, or at shutdown", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        TaskSupervisor.layer.pipe(Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" })))
      )
      const supervisor = Context.get(context, TaskSupervisor.TaskSupervisor)
      // the registry's observers are internal: the watch is one of them
      const registry = Context.get(context, SupervisorRegistry) as unknown as { readonly observers: Set<unknown> }
      const observers = () => registry.observers.size
      const baseline = observers()
      const ready = (router: HttpRouter.HttpRouter<never, TaskSupervisor.TaskSupervisor | SupervisorRegistry>) =>
        Effect.flatMap(
          router.pipe(
            Effect.provideService(
              HttpServerRequest.HttpServerRequest,
              HttpServerRequest.fromWeb(new Request("http://localhost/ready"))
            ),
            Effect.provide(context)
          ),
          (response) =>
            Effect.map(
              Effect.promise(() => HttpServerResponse.toWeb(response).json()),
              (body) => ({ status: response.status, body })
            )
        )

      const both = SupervisorHttp.router({ ready: ["steady", "once"] })
      assert.deepStrictEqual(yield* ready(both), { status: 503, body: { ready: false, waiting: ["steady", "once"] } })
      assert.strictEqual(observers(), baseline + 1, "watching from the first /ready")
      yield* ready(both)
      assert.strictEqual(observers(), baseline + 1, "once")
      yield* supervisor.add(TaskSpec.make("steady", neverEnding))
      yield* settle
      assert.deepStrictEqual((yield* ready(both)).body, { ready: false, waiting: ["once"] })
      // seen started only by the watch: it ended before the next /ready
      yield* (yield* supervisor.add(TaskSpec.once("once", Effect.void))).await
      assert.strictEqual(observers(), baseline, "unregistered as the last ready task was seen started")
      assert.deepStrictEqual(yield* ready(both), { status: 200, body: { ready: true, waiting: [] } })
      assert.strictEqual(observers(), baseline, "not registered again")

      const never = SupervisorHttp.router({ ready: ["never-added"] })
      assert.strictEqual((yield* ready(never)).status, 503)
      assert.strictEqual(observers(), baseline + 1)
      yield* supervisor.shutdown
      assert.strictEqual(observers(), baseline, "unregistered at shutdown")
      assert.strictEqual((yield* ready(never)).status, 503)
      assert.strictEqual(observers(), baseline, "a supervisor shut down is not watched")
    }))

  it.scoped("the dashboard page is self-contained", () =>
    Effect.gen(function*() {
      const { base } = yield* serve()
      const page = yield* request(`${base}/`)
      assert.strictEqual(page.status, 200)
      assert.include(page.headers.get("content-type") ?? "", "text/html")
      assert.include(page.body, "new EventSource(\"events\")")
      assert.notMatch(page.body, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, "nothing loaded from elsewhere")
    }))
})

/**
 * An `/events` client (Node's HTTP client): the events it received so far,
 * parsed, and whether its connection ended. One that does not read at first
 * starts reading at `read()`.
 */
const sseClient = (port: number, reading: boolean) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly received: Array<any>
      readonly closed: () => boolean
      readonly read: () => void
      readonly request: http.ClientRequest
    }>((resume) => {
      const received: Array<any> = []
      let closed = false
      let buffer = ""
      const request = http.get({ host: "127.0.0.1", port, path: "/events" }, (response) => {
        for (const end of ["end", "aborted", "close", "error"]) response.on(end, () => (closed = true))
        response.socket.on("close", () => (closed = true))
        response.setEncoding("utf8")
        const read = () =>
          response.resume().on("data", (chunk: string) => {
            buffer += chunk
            let end = buffer.indexOf("\n\n")
            while (end >= 0) {
              const event = buffer.slice(0, end)
              const data = /^data: (.*)$/m.exec(event)
              if (data !== null) {
                // each event's id is its seq; a gap's the seq of the last event lost
                const json = JSON.parse(data[1])
                const type = /^event: (.*)$/m.exec(event)?.[1] ?? "message"
                received.push({ ...json, id: Number(/^id: (.*)$/m.exec(event)?.[1]), type })
              }
              buffer = buffer.slice(end + 2)
              end = buffer.indexOf("\n\n")
            }
          })
        if (reading) read()
        else response.pause()
        resume(Effect.succeed({ received, closed: () => closed, read, request }))
      })
      request.on("error", () => (closed = true))
    }),
    ({ request }) => Effect.sync(() => request.destroy())
  )

/** Wait, in real time, until `condition` holds; fail after `rounds` checks. */
const until = (condition: () => boolean, what: string, rounds = 2000) =>
  eventually(Effect.sync(condition), what, rounds)

/** Wait, in real time, until `condition` succeeds with `true`; fail after `rounds` checks. */
const eventually = <R>(condition: Effect.Effect<boolean, never, R>, what: string, rounds = 2000) =>
  Effect.gen(function*() {
    for (let i = 0; i < rounds; i++) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    assert.fail(`timed out waiting until ${what}`)
  })

/** A raw connection that sends `bytes` and nothing more: what it received, and whether it was closed. */
const rawClient = (port: number, bytes: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let received = ""
      let closed = false
      const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes))
      socket.on("data", (chunk) => (received += chunk.toString()))
      socket.on("close", () => (closed = true))
      socket.on("error", () => (closed = true))
      return { socket, received: () => received, closed: () => closed }
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

/** A GET on a keep-alive connection: its reply once complete, and whether its connection was closed. */
const keptAlive = (port: number, path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let reply: { readonly status: number; readonly body: string } | undefined = undefined
      let closed = false
      const agent = new http.Agent({ keepAlive: true })
      const request = http.get({ host: "127.0.0.1", port, path, agent }, (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (body += chunk))
        response.on("end", () => (reply = { status: response.statusCode!, body }))
      })
      request.on("socket", (socket) => socket.on("close", () => (closed = true)))
      request.on("error", () => (closed = true))
      return { agent, reply: () => reply, closed: () => closed }
    }),
    ({ agent }) => Effect.sync(() => agent.destroy())
  )

/** The events lost for `/events` clients so far, as the drops metric counts them. */
const httpDrops = Effect.map(
  Metric.value(Metric.tagged(SupervisorMetrics.eventsDropped, "subscriber", "http")),
  (state) => state.count
)

/** Close `scope` on a fiber of its own: how closing the layer goes. */
const closing = (scope: Scope.CloseableScope) => Effect.fork(Scope.close(scope, Exit.void))

/** Whether `fibers` fibers sleep until `millis` from now on the `TestClock`. */
const sleepsFor = (millis: number, fibers = 1) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    return Chunk.size(Chunk.filter(yield* TestClock.sleeps(), (at) => at === now + millis)) >= fibers
  })

/** Whether closing the layer is waiting out its grace for the connections still open. */
const inGrace = sleepsFor(1000)

describe("SupervisorHttp closing", () => {
  it.scoped(
    "closing the layer ends idle connections at once, lets a response in flight end within 1 s, then cuts",
    () =>
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        let exports = 0
        const metrics = Effect.suspend(() =>
          exports++ === 0 ? Effect.as(Deferred.await(release), "text") : Effect.never
        )
        const scope = yield* Scope.make()
        const { base, port } = yield* Scope.extend(serve({ metrics }), scope)
        // an idle keep-alive connection
        assert.strictEqual((yield* request(`${base}/health`)).status, 200)
        const ending = yield* keptAlive(port, "/metrics")
        const stuck = yield* keptAlive(port, "/metrics")
        yield* until(() => exports === 2, "both exports began")

        const closed = yield* closing(scope)
        yield* eventually(inGrace, "closing waits for the responses in flight")
        assert.isTrue(Option.isNone(yield* closed.poll), "still closing")
        // within the grace, a response that ends is delivered, then its connection is closed
        yield* Deferred.succeed(release, undefined)
        yield* until(() => ending.closed(), "the ended response's connection was closed")
        assert.deepStrictEqual(ending.reply(), { status: 200, body: "text" })
        assert.isTrue(Option.isNone(yield* closed.poll), "still closing: a response is in flight")
        // after it, the one still going is cut
        yield* TestClock.adjust("1 second")
        yield* eventually(Effect.map(closed.poll, Option.isSome), "the layer closed")
        yield* until(() => stuck.closed(), "the stuck response's connection was cut")
        assert.isUndefined(stuck.reply())
      }),
    { timeout: 30_000 }
  )

  it.scoped(
    "closing the layer cuts a half-sent request within 1 s, whatever the client does",
    () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const { port } = yield* Scope.extend(serve(), scope)
        const half = "GET /health HTTP/1.1\r\nHost: x\r\n"
        const silent = yield* rawClient(port, half)
        // one answered request, then half of another: once the answer is in, the server has read the half
        const after = yield* rawClient(port, `GET /health HTTP/1.1\r\nHost: x\r\n\r\n${half}`)
        yield* until(() => after.received().includes("\r\n\r\n{\"status\":\"ok\"}"), "the first request was answered")

        const closed = yield* closing(scope)
        yield* eventually(inGrace, "closing waits for the requests in flight")
        assert.isTrue(Option.isNone(yield* closed.poll), "still closing")
        yield* TestClock.adjust("1 second")
        yield* eventually(Effect.map(closed.poll, Option.isSome), "the layer closed")
        yield* until(() => silent.closed() && after.closed(), "both connections were cut")
      }),
    { timeout: 30_000 }
  )
})

describe("SupervisorHttp events", () => {
  it.live(
    "closing the layer cuts its /events clients off, even one that stopped reading, and frees the port",
    () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const { port, supervisor } = yield* Scope.extend(serve({ eventsBuffer: 100_000 }), scope)
        const reader = yield* sseClient(port, true)
        const stalled = yield* sseClient(port, false)
        const padding = "x".repeat(8000)
        for (let i = 0; i < 300; i++) yield* supervisor.add(TaskSpec.once(`closing-${i}-${padding}`, Effect.void))
        yield* until(() => reader.received.length >= 300 * 6, "the reader got the events")
        yield* Scope.close(scope, Exit.void).pipe(
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "hung" })
        )
        // the one that stopped reading sees its connection end once it reads what was on its way
        stalled.read()
        yield* until(() => reader.closed() && stalled.closed(), "both clients' connections ended")
        // the port is free again
        yield* Scope.extend(serveOn(port), yield* Scope.make())
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.scoped("every event as SSE, in order, with its label, its seq as id", () =>
    Effect.gen(function*() {
      const { port, supervisor } = yield* serve()
      const reader = yield* sseClient(port, true)
      yield* supervisor.add(TaskSpec.once("hello", Effect.void))
      yield* until(() => reader.received.some((e) => e.label === "task_removed"), "the reader got hello's events")
      assert.deepStrictEqual(reader.received.map((e) => e.label), [
        "task_add_requested",
        "task_added",
        "attempt_starting",
        "attempt_succeeded",
        "task_finished",
        "task_removed"
      ])
      const finished = reader.received.find((e) => e.label === "task_finished")
      assert.deepStrictEqual(finished.outcome, { _tag: "Completed" })
      assert.deepStrictEqual(reader.received.map((e) => e.seq), [1, 2, 3, 4, 5, 6])
      assert.deepStrictEqual(reader.received.map((e) => e.id), [1, 2, 3, 4, 5, 6])
      assert.deepStrictEqual(reader.received.map((e) => e.type), Array(6).fill("message"))
    }))

  it.scoped("a cron task: Scheduled with its next run as ISO and its schedule; a time it skips streamed as RunSkipped", () =>
    Effect.gen(function*() {
      const { base, port, supervisor } = yield* serve()
      const reader = yield* sseClient(port, true)
      yield* supervisor.add(TaskSpec.make("plain", neverEnding))
      // each minute, a run of 90 s: the time after each run's own comes while it runs, and is skipped
      yield* supervisor.add(
        TaskSpec.cron("report", Effect.sleep("90 seconds"), "* * * * *", {
          timeZone: "Europe/Berlin",
          catchUp: "5 minutes"
        })
      )
      yield* settle
      const schedule = {
        expression: "* * * * *",
        timeZone: "Europe/Berlin",
        overlap: "skip",
        catchUpMs: 300_000,
        jitterMs: 0
      }
      const rows = (yield* request(`${base}/tasks`)).body
      const report = rows.find((t: any) => t.name === "report")
      assert.deepStrictEqual(
        [report.state, report.nextRunAt, report.schedule],
        ["Scheduled", "1970-01-01T00:01:00.000Z", schedule]
      )
      const plain = rows.find((t: any) => t.name === "plain")
      assert.deepStrictEqual([plain.state, "nextRunAt" in plain, "schedule" in plain], ["Running", false, false])
      const inspected = (yield* request(`${base}/tasks/report`)).body
      assert.deepStrictEqual([inspected.nextRunAt, inspected.schedule], [report.nextRunAt, schedule])

      // running from 00:01, it runs next at 00:02, as far as its schedule says
      yield* advance("1 minute")
      const running = (yield* request(`${base}/tasks/report`)).body
      assert.deepStrictEqual([running.state, running.nextRunAt], ["Running", "1970-01-01T00:02:00.000Z"])
      yield* advance("1 minute")
      yield* until(() => reader.received.some((e) => e.label === "run_skipped"), "the reader got the RunSkipped")
      const skipped = reader.received.find((e) => e.label === "run_skipped")
      assert.deepStrictEqual(
        [skipped._tag, skipped.task, skipped.at, skipped.scheduledAt, skipped.skipped, skipped.why],
        ["RunSkipped", "report", 120_000, 120_000, 1, "Overlap"]
      )
      // its run over at 00:02:30, it waits for 00:03
      yield* advance("30 seconds")
      const over = (yield* request(`${base}/tasks/report`)).body
      assert.deepStrictEqual([over.state, over.nextRunAt, over.attempt], ["Scheduled", "1970-01-01T00:03:00.000Z", 1])

      // its TaskAdded carries its schedule; a plain task's does not
      const added = (name: string) => reader.received.find((e) => e.label === "task_added" && e.task === name)
      assert.deepStrictEqual([added("report").schedule, "schedule" in added("plain")], [schedule, false])
    }))

  it.scoped(
    "a reading client outrun by a burst far beyond its buffer stays connected and is told, in place, what it lost",
    () =>
      Effect.gen(function*() {
        const { port, supervisor } = yield* serve({ eventsBuffer: 64 })
        const reader = yield* sseClient(port, true)
        const dropsBefore = yield* httpDrops
        // a batch announces its 5000 tasks (10,000 events) in one step, before any reader can run
        yield* Effect.fork(
          supervisor.run(Array.from({ length: 5000 }, (_, i) => TaskSpec.make(`burst-${i}`, neverEnding)))
        )
        yield* eventually(
          Effect.map(supervisor.list, (tasks) => tasks.length === 5000 && tasks.every((task) => task.attempt === 1)),
          "the batch started"
        )
        // 15,000 events, and a report of each run of losses (the reader's, the only client)
        const gapsOf = () => reader.received.filter((e) => e.type === "gap")
        yield* until(() => {
          const last = reader.received.at(-1)
          return last !== undefined && (last.type === "gap" ? last.to : last.seq) === 15_000 + gapsOf().length
        }, "the reader caught up with the burst")
        // it lost none of what came next
        yield* supervisor.add(TaskSpec.once("after", Effect.void))
        yield* until(
          () => reader.received.some((e) => e.label === "task_removed" && e.task === "after"),
          "the reader got the events after the burst"
        )
        assert.isFalse(reader.closed(), "the reader stays connected")

        // events and gaps, in order, account for every seq exactly once
        let next = 1
        let lost = 0
        for (const item of reader.received) {
          if (item.type === "gap") {
            assert.deepStrictEqual([item.from, item.id, item.lost], [next, item.to, item.to - item.from + 1])
            lost += item.lost
            next = item.to + 1
          } else {
            assert.strictEqual(item.seq, next)
            next++
          }
        }
        const gaps = gapsOf()
        // the first 64 announcements fit its buffer: the loss begins right after them
        assert.deepStrictEqual(reader.received.slice(0, 65).map((e) => e.type === "gap" ? "gap" : e.seq), [
          ...Array.from({ length: 64 }, (_, i) => i + 1),
          "gap"
        ])
        assert.strictEqual(gaps[0].from, 65)
        assert.isAbove(lost, 9000)
        // each run is reported once: its ordinary events in the drops metric, the run in one SubscriberOverflow
        const drops = (yield* httpDrops) - dropsBefore
        const overflows = reader.received.filter((e) => e.label === "subscriber_overflow")
        for (const overflow of overflows) assert.strictEqual(overflow.subscriber, "http")
        // the reports it did not get are in the gaps, and are not counted: a lost report is not a new loss
        assert.strictEqual(drops, lost - (gaps.length - overflows.length))
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "a client that stopped reading is not let go at its first loss, but once its connection stayed full for eventsStall",
    () =>
      Effect.gen(function*() {
        const { port, supervisor } = yield* serve({ eventsBuffer: 256, eventsStall: "10 seconds" })
        const reader = yield* sseClient(port, true)
        const stalled = yield* sseClient(port, false)
        const dropsBefore = yield* httpDrops
        const drops = Effect.map(httpDrops, (count) => count - dropsBefore)

        // bursts the reader keeps up with, until the one that stopped reading has filled the sockets' buffers (tens
        // of MB on loopback: long names make it quicker) and then its own
        const padding = "x".repeat(4000)
        let round = 0
        const burst = Effect.gen(function*() {
          const before = reader.received.length
          for (let i = 0; i < 20; i++) {
            yield* supervisor.add(TaskSpec.once(`burst-${round}-${i}-${padding}`, Effect.void))
          }
          yield* until(() => reader.received.length >= before + 120, "the reader kept up")
          round++
        })
        while ((yield* drops) === 0) {
          yield* burst
          assert.isBelow(round, 1000, "the stalled client never lost an event")
        }
        // still connected: a burst more is lost for it too (it would not be, were it let go)
        const lostBefore = yield* drops
        yield* burst
        assert.strictEqual((yield* drops) - lostBefore, 120, "the stalled client lost the next burst")

        // each client is looked at every 10 s; one is let go when two looks in a row find its connection full
        yield* TestClock.adjust("10 seconds")
        yield* eventually(sleepsFor(10_000, 2), "the next looks are due")
        const lostAtFirstLook = yield* drops
        yield* burst
        assert.strictEqual((yield* drops) - lostAtFirstLook, 120, "not let go at the first look")
        yield* TestClock.adjust("10 seconds")
        // read at last, it gets what was on its way, in order, then its connection ends
        stalled.read()
        yield* until(stalled.closed, "the stalled client's connection ended")
        const got = stalled.received.map((e) => e.seq)
        assert.deepStrictEqual(got, got.map((_, i) => i + 1))
        // the reader lost nothing and stays: every task's 6 events and the reports of the other one's losses
        assert.isFalse(reader.closed())
        assert.isTrue(reader.received.every((e) => e.type === "message"))
        assert.deepStrictEqual(reader.received.map((e) => e.seq), reader.received.map((_, i) => i + 1))
        const overflows = reader.received.filter((e) => e.label === "subscriber_overflow")
        assert.deepStrictEqual(overflows.map((e) => e.subscriber), ["http"], "one run of losses, reported once")
      }),
    { timeout: 60_000 }
  )

  it.effect("eventsBuffer and eventsStall are checked at configuration", () =>
    Effect.gen(function*() {
      const problems: ReadonlyArray<readonly [SupervisorHttp.Options, string, string]> = [
        [{ eventsBuffer: 0 }, "eventsBuffer", "must be greater than zero, got 0"],
        [{ eventsBuffer: 1.5 }, "eventsBuffer", "must be a whole number, got 1.5"],
        [{ eventsBuffer: Number.NaN }, "eventsBuffer", "must be a whole number, got NaN"],
        [{ eventsStall: 0 }, "eventsStall", "must be greater than zero"],
        [{ eventsStall: "-1 second" }, "eventsStall", "must not be negative, got -1 second"],
        [{ eventsStall: Infinity }, "eventsStall", "must be finite"]
      ]
      for (const [options, field, reason] of problems) {
        let thrown: unknown = undefined
        try {
          SupervisorHttp.router(options)
        } catch (error) {
          thrown = error
        }
        assertConfigError(thrown, field, reason)
      }
    }))
})

/** The packages a module loads at run time, following its relative imports (type-only imports load nothing). */
const packagesLoaded = (entry: string): Set<string> => {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022)
    for (const statement of source.statements) {
      const loads = ts.isImportDeclaration(statement)
        ? statement.importClause?.isTypeOnly !== true
        : ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier !== undefined
      if (!loads) continue
      const specifier = ((statement as ts.ImportDeclaration).moduleSpecifier as ts.StringLiteral).text
      if (specifier.startsWith(".")) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")))
      else packages.add(specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"))
    }
  }
  visit(entry)
  return packages
}

describe("SupervisorHttp and cluster singletons", () => {
  it("SupervisorHttp loads none of the optional cluster packages: it works without them installed", () => {
    const loaded = packagesLoaded(path.resolve(import.meta.dirname, "../src/SupervisorHttp.ts"))
    assert.include([...loaded], "@effect/platform", "the walk reaches the imports")
    assert.include(
      [...packagesLoaded(path.resolve(import.meta.dirname, "../src/ClusterTask.ts"))],
      "@effect/cluster",
      "the walk sees a module that loads the cluster"
    )
    for (const cluster of ["@effect/cluster", "@effect/rpc", "@effect/sql", "@effect/workflow"]) {
      assert.notInclude([...loaded], cluster)
    }
  })

  it.scoped("out of cluster mode: /singletons is an empty list, /ready and /tasks are as before", () =>
    Effect.gen(function*() {
      const { base, supervisor } = yield* serve()
      yield* supervisor.add(TaskSpec.make("plain", neverEnding))
      yield* settle
      const singletons = yield* request(`${base}/singletons`)
      assert.deepStrictEqual([singletons.status, singletons.body], [200, { cluster: false, singletons: [] }])
      assert.deepStrictEqual((yield* request(`${base}/ready`)).body, { ready: true, waiting: [] })
      assert.notProperty((yield* request(`${base}/tasks/plain`)).body, "singleton")
    }))

  it.scopedLive(
    "a running singleton: its row on /singletons, its runner on its task, /ready 200, paused too",
    () =>
      Effect.gen(function*() {
        const { runner, supervisor, url } = yield* servedCluster([
          [TaskSpec.make("leader", Effect.never), { unownedAfter: "200 millis" }]
        ])
        yield* supervisor.add(TaskSpec.make("plain", neverEnding))
        const rows = () => Effect.map(request(`${url}singletons`), (reply) => reply.body.singletons)
        yield* eventuallyEffect("the singleton runs here", Effect.map(rows(), (found) => found[0]?.running === true))
        const singletons = yield* request(`${url}singletons`)
        assert.deepStrictEqual([singletons.status, singletons.body], [200, {
          cluster: true,
          runner,
          singletons: [{
            name: "leader",
            owner: runner,
            running: true,
            local: true,
            fenced: false,
            unownedAfterMs: 200
          }]
        }])
        const tasks = (yield* request(`${url}tasks`)).body
        assert.deepStrictEqual(
          tasks.map((t: any) => [t.name, t.singleton]),
          [["leader", { runner }], ["plain", undefined]]
        )
        assert.deepStrictEqual((yield* request(`${url}tasks/leader`)).body.singleton, { runner })
        // ready, and it stays so well past its unownedAfter: it runs
        const deadline = Date.now() + 600
        while (Date.now() < deadline) {
          const ready = yield* request(`${url}ready`)
          assert.deepStrictEqual([ready.status, ready.body], [200, { ready: true, waiting: [], singletons: [] }])
          yield* Effect.sleep("50 millis")
        }
        // an operator's pause: it runs nowhere past its unownedAfter, and the runner is ready all the same
        assert.isTrue(yield* supervisor.pause("leader"))
        yield* eventuallyEffect(
          "it has not run for its unownedAfter",
          Effect.map(rows(), (found) => !found[0].running && found[0].unownedForMs >= 200)
        )
        assert.deepStrictEqual((yield* request(`${url}ready`)).body, { ready: true, waiting: [], singletons: [] })
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "an owner whose singleton's task gave up is not ready once it has not run for its unownedAfter, naming it; it stays healthy",
    () =>
      Effect.gen(function*() {
        const started = Date.now()
        const { runner, url } = yield* servedCluster([
          [TaskSpec.make("leader", Effect.never), { unownedAfter: "200 millis" }],
          [
            TaskSpec.make("importer", Effect.fail("upstream gone"), { restart: RestartPolicy.never }),
            { unownedAfter: "1 second", rearmAfter: "never" }
          ]
        ])
        let down: Reply | undefined = undefined
        yield* eventuallyEffect(
          "/ready says 503",
          Effect.map(request(`${url}ready`), (reply) => {
            down = reply
            return reply.status === 503
          })
        )
        // never before its unownedAfter: the task cannot have ended before the layer was built
        assert.isAtLeast(Date.now() - started, 1000)
        const body = down!.body
        assert.deepStrictEqual([body.ready, body.waiting], [false, []])
        assert.deepStrictEqual(body.singletons.map((s: any) => [s.name, s.status]), [["importer", "not_running"]])
        assert.isAtLeast(body.singletons[0].forMs, 1000)
        assert.match(body.singletons[0].reason, /^owned here, and its task has not run for \d+ ms$/)
        // the process is alive: liveness is not readiness
        assert.deepStrictEqual((yield* request(`${url}health`)).body, { status: "ok" })
        const rows = (yield* request(`${url}singletons`)).body.singletons
        assert.deepStrictEqual(rows.map((r: any) => [r.name, r.owner, r.running, r.local]), [
          ["importer", runner, false, true],
          ["leader", runner, true, true]
        ])
        assert.isNumber(rows[0].unownedSince)
        assert.isAtLeast(rows[0].unownedForMs, 1000)
        assert.notProperty(rows[1], "unownedSince")
        // its task is gone from /tasks: only the running singleton's is there
        assert.deepStrictEqual((yield* request(`${url}tasks`)).body.map((t: any) => t.name), ["leader"])
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "an owner that fenced its singleton is not ready until it confirms its lease again",
    () =>
      Effect.gen(function*() {
        const hung = { on: false }
        const { url } = yield* servedCluster(
          [[TaskSpec.make("fenced", Effect.never), { fence: { interval: "100 millis", deadline: "200 millis" } }]],
          { runner: hangingRunner(hung) }
        )
        const ready = () => request(`${url}ready`)
        yield* eventuallyEffect("the singleton runs", Effect.map(ready(), (reply) => reply.status === 200))
        hung.on = true
        let down: Reply | undefined = undefined
        yield* eventuallyEffect(
          "/ready says 503",
          Effect.map(ready(), (reply) => {
            down = reply
            return reply.status === 503
          })
        )
        assert.deepStrictEqual(down!.body.singletons.map((s: any) => [s.name, s.status]), [["fenced", "fenced"]])
        const row = (yield* request(`${url}singletons`)).body.singletons[0]
        assert.deepStrictEqual([row.fenced, row.local, row.running], [true, false, false])
        hung.on = false
        yield* eventuallyEffect("ready again", Effect.map(ready(), (reply) => reply.status === 200))
        assert.deepStrictEqual((yield* ready()).body.singletons, [])
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "a runner whose cluster storage does not answer is not ready, whatever its singletons say, until it answers",
    () =>
      Effect.gen(function*() {
        const hung = { on: false }
        // no fence: only the runner's own readiness check can see the storage hang
        const { url } = yield* servedCluster(
          [[TaskSpec.make("unfenced", Effect.never), { fence: false }]],
          {
            runner: ClusterRunner.layerReadiness({ timeout: "200 millis" }).pipe(
              Layer.provideMerge(hangingRunner(hung))
            )
          }
        )
        const ready = () => request(`${url}ready`)
        yield* eventuallyEffect("the singleton runs", Effect.map(ready(), (reply) => reply.status === 200))
        assert.deepStrictEqual((yield* ready()).body, { ready: true, waiting: [], singletons: [] })
        hung.on = true
        const down = yield* ready()
        assert.strictEqual(down.status, 503)
        assert.strictEqual(down.body.ready, false)
        assert.match(down.body.cluster, /storage did not answer within 200ms/)
        // the process itself is fine: liveness stays up
        assert.strictEqual((yield* request(`${url}health`)).status, 200)
        hung.on = false
        yield* eventuallyEffect("ready again", Effect.map(ready(), (reply) => reply.status === 200))
        assert.notProperty((yield* ready()).body, "cluster")
      }),
    { timeout: 30_000 }
  )

  it.scopedLive(
    "a fenced singleton the engine then takes away is no longer this runner's: ready, and again once it runs here",
    () =>
      Effect.gen(function*() {
        const hung = { on: false }
        // the engine gives its shards up once its own refresh times out, 1 to 2 s after the storage hangs (its lock
        // interval is 1 s): long after the fence (50 ms interval, 50 ms deadline) stopped the task
        const { url } = yield* servedCluster(
          [[TaskSpec.make("moved", Effect.never), { fence: { interval: "50 millis", deadline: "50 millis" } }]],
          { runner: hangingRunner(hung, { refresh: "1 second", expiry: "5 seconds" }) }
        )
        const ready = () => request(`${url}ready`)
        const row = () => Effect.map(request(`${url}singletons`), (reply) => reply.body.singletons[0])
        yield* eventuallyEffect("the singleton runs", Effect.map(row(), (one) => one.running && one.local))
        hung.on = true
        yield* eventuallyEffect("/ready says it is fenced", Effect.map(ready(), (reply) => reply.status === 503))
        // the engine released the shard: this runner holds nothing, so nothing of its own is down
        yield* eventuallyEffect("ready while it holds nothing", Effect.map(ready(), (reply) => reply.status === 200))
        const released = yield* row()
        assert.deepStrictEqual([released.fenced, released.local], [false, false])
        hung.on = false
        yield* eventuallyEffect("it runs here again", Effect.map(row(), (one) => one.running && one.local))
        assert.deepStrictEqual((yield* ready()).body, { ready: true, waiting: [], singletons: [] })
      }),
    { timeout: 30_000 }
  )
})
