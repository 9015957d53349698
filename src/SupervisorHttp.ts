/**
 * An HTTP endpoint for operators, on `@effect/platform`: health and
 * readiness probes, the tasks with their crash history, the controller's
 * slots, the events live as Server-Sent Events, metrics, runtime controls
 * behind a bearer token, and a live dashboard page at `/`.
 *
 * `router` is an `HttpRouter` to mount in an application's own server;
 * `layer` serves it with `@effect/platform-node` on its own port (on
 * 127.0.0.1 unless told otherwise). Import it as
 * `effect-taskvisor/SupervisorHttp`: it needs `@effect/platform` and
 * `@effect/platform-node`, which the rest of the library does not.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import * as Controller from "./Controller.js"
import { page } from "./internal/dashboard.js"
import { authorized, bearer, controllerJson, sse, taskJson } from "./internal/http.js"
import { registryOf } from "./internal/supervisor.js"
import type { TaskInfo } from "./internal/task.js"
import { TaskSupervisor } from "./TaskSupervisor.js"

/**
 * What the endpoint serves.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * The bearer token of the mutating routes (`POST /tasks/:name/cancel`,
   * `/restart`, `/pause`, `/resume`, `/trigger`); without one they do not
   * exist. A wrong or missing token gets 401.
   */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /** The tasks `GET /ready` waits for: ready once each has started an attempt. None: ready while healthy. */
  readonly ready?: ReadonlyArray<string> | undefined
  /** How many events an `/events` client may have waiting before it is let go (default 1024). */
  readonly eventsBuffer?: number | undefined
  /**
   * The text of `GET /metrics` (Prometheus' exposition format), from an
   * exporter the application installed; without it, `/metrics` is 404.
   */
  readonly metrics?: Effect.Effect<string> | undefined
}

/**
 * Where `layer` listens, with what it serves.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ServeOptions extends Options {
  /** Default 127.0.0.1: reachable from this machine only. */
  readonly host?: string | undefined
  /** 0 picks a free port. */
  readonly port: number
}

/** What a route does. */
type Handler = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  unknown,
  TaskSupervisor | HttpServerRequest.HttpServerRequest
>

/** The longest task name a path may carry. */
const maxName = 1024

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const problem = (status: number, error: string) => json({ error }, status)

/** The last segment of a control's path, and the supervisor's method it calls (`cancel` claims the stop). */
const controls = new Map(
  [
    ["cancel", "remove"],
    ["restart", "restart"],
    ["pause", "pause"],
    ["resume", "resume"],
    ["trigger", "trigger"]
  ] as const
)

/** The task name of a `/tasks/...` path (`%2F` or a plain `/` for a group's child), or why it is not one. */
const nameOf = (encoded: string): string | HttpServerResponse.HttpServerResponse => {
  if (encoded.length === 0) return problem(400, "a task name is missing")
  let name: string
  try {
    name = decodeURIComponent(encoded)
  } catch {
    return problem(400, "the task name is not valid percent-encoding")
  }
  return name.length > maxName ? problem(414, `a task name is at most ${maxName} characters`) : name
}

/** Close a request's connection, on Node (a server of another platform ends the response instead). */
const disconnect = (request: HttpServerRequest.HttpServerRequest): void => {
  try {
    NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
  } catch {
    // not a Node request: its stream failing ends the response
  }
}

/** The path of the request, without its query. */
const pathOf = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const query = request.url.indexOf("?")
  return query < 0 ? request.url : request.url.slice(0, query)
})

/**
 * A request no route took: a path this endpoint knows with another method is
 * 405 (with `Allow`), a task path that is not valid percent-encoding 400, the
 * rest 404; each with a JSON error.
 */
const unmatched = (mutable: boolean, reads: ReadonlySet<string>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = yield* pathOf
    const task = path.startsWith("/tasks/")
    if (task) {
      const name = nameOf(path.slice("/tasks/".length))
      if (typeof name !== "string" && request.method === "GET") return name
    }
    const allowed = task && mutable ? "GET, POST" : reads.has(path) || task ? "GET" : undefined
    return allowed === undefined
      ? problem(404, `no route for ${request.method} ${path.slice(0, 200)}`)
      : HttpServerResponse.unsafeJson({ error: `${request.method} is not allowed here` }, {
        status: 405,
        headers: { allow: allowed }
      })
  })

/**
 * The endpoint's routes. They need the `TaskSupervisor`, and serve
 * `/controller` when a `Controller` is in the context too.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const router = (options: Options = {}): HttpRouter.HttpRouter<never, TaskSupervisor> =>
  routes(options, new Endpoint(options.ready ?? [])).router

/**
 * What one endpoint keeps: the `ready` tasks seen started (a latch: one that
 * ended since still counts), and the `/events` requests being answered.
 */
class Endpoint {
  readonly started = new Set<string>()
  readonly streams = new Set<HttpServerRequest.HttpServerRequest>()
  private readonly watched = new WeakSet<object>()
  private readonly names: ReadonlySet<string>

  constructor(readonly ready: ReadonlyArray<string>) {
    this.names = new Set(ready)
  }

  /** Whether every `ready` task has been seen started: then nothing needs listing any more. */
  get allStarted(): boolean {
    return this.started.size === this.names.size
  }

  /** Latch the `ready` tasks that finish from now on (once per supervisor); how to stop watching. */
  watch(supervisor: object): () => void {
    const registry = registryOf(supervisor)
    if (registry === undefined || this.ready.length === 0 || this.watched.has(registry)) return () => {}
    this.watched.add(registry)
    return registry.observe({
      onFinished: (task) => {
        if (task.attempt > 0 && this.names.has(task.spec.name)) this.started.add(task.spec.name)
      },
      onShutdown: () => {}
    })
  }

  /** The `ready` tasks that have not started an attempt yet, as far as `listed` and the latch say. */
  waiting(listed: ReadonlyArray<TaskInfo>): ReadonlyArray<string> {
    for (const info of listed) if (info.attempt > 0 && this.names.has(info.name)) this.started.add(info.name)
    return this.ready.filter((name) => !this.started.has(name))
  }

  /** Cut every `/events` client off, so that a closing server does not wait for them. */
  disconnectAll(): void {
    for (const request of this.streams) disconnect(request)
    this.streams.clear()
  }
}

/** The routes of `endpoint`, and what answers a request none of them takes. */
const routes = (options: Options, endpoint: Endpoint) => {
  const token = typeof options.token === "string" ? Redacted.make(options.token) : options.token
  const expected = token === undefined ? undefined : bearer(token)
  const eventsBuffer = options.eventsBuffer ?? 1024

  const healthy = Effect.map(TaskSupervisor, (supervisor) => registryOf(supervisor)?.open ?? true)

  const task = Effect.gen(function*() {
    const supervisor = yield* TaskSupervisor
    const name = nameOf((yield* pathOf).slice("/tasks/".length))
    if (typeof name !== "string") return name
    const details = yield* supervisor.inspect(name)
    return Option.match(details, {
      onNone: () => problem(404, `no task named '${name}' is registered`),
      onSome: (found) => json(taskJson(found))
    })
  })

  const control = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (expected === undefined || !authorized(expected, request.headers["authorization"])) {
      return HttpServerResponse.unsafeJson({ error: "a valid bearer token is required" }, {
        status: 401,
        headers: { "www-authenticate": "Bearer" }
      })
    }
    const path = (yield* pathOf).slice("/tasks/".length)
    const slash = path.lastIndexOf("/")
    const action = path.slice(slash + 1)
    const method = controls.get(action as never)
    if (slash < 0 || method === undefined) {
      return problem(404, "POST /tasks/:name/{cancel,restart,pause,resume,trigger}")
    }
    const name = nameOf(path.slice(0, slash))
    if (typeof name !== "string") return name
    const supervisor = yield* TaskSupervisor
    const found = yield* supervisor.inspect(name)
    if (Option.isNone(found)) return problem(404, `no task named '${name}' is registered`)
    const applied = yield* supervisor[method](name)
    return applied
      ? json({ task: name, action, applied })
      : problem(409, `${action} does not apply to task '${name}' (${found.value.state})`)
  })

  const events = Effect.gen(function*() {
    const supervisor = yield* TaskSupervisor
    const registry = registryOf(supervisor)
    if (registry === undefined) return problem(404, "events need the supervisor built by TaskSupervisor")
    const request = yield* HttpServerRequest.HttpServerRequest
    // a client that stopped reading is cut off: its response may be blocked on a full socket, never to read again
    // listening from now: what is published while the response starts is not lost
    const stream = registry.bus.stream("http", eventsBuffer, () => disconnect(request), true).pipe(
      Stream.onStart(Effect.sync(() => endpoint.streams.add(request))),
      Stream.ensuring(Effect.sync(() => endpoint.streams.delete(request))),
      Stream.map(sse),
      // a comment first, so the response starts at once, and a client let go reconnects after a second
      Stream.prepend(Chunk.of(": connected\nretry: 1000\n\n")),
      Stream.encodeText
    )
    return HttpServerResponse.stream(stream, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })

  // what GET serves; HEAD too, but for the event stream, which never ends
  const reads: ReadonlyArray<readonly [HttpRouter.PathInput, Handler]> = [
    // the page shows the control buttons only when the control routes exist
    ["/", Effect.succeed(HttpServerResponse.html(page({ controls: options.token !== undefined })))],
    [
      "/health",
      Effect.map(healthy, (open) => open ? json({ status: "ok" }) : json({ status: "shutting_down" }, 503))
    ],
    [
      "/ready",
      Effect.gen(function*() {
        if (!(yield* healthy)) return json({ ready: false, status: "shutting_down" }, 503)
        const supervisor = yield* TaskSupervisor
        endpoint.watch(supervisor)
        const waiting = endpoint.allStarted ? [] : endpoint.waiting(yield* supervisor.list)
        return json({ ready: waiting.length === 0, waiting }, waiting.length === 0 ? 200 : 503)
      })
    ],
    [
      "/tasks",
      Effect.gen(function*() {
        const supervisor = yield* TaskSupervisor
        const listed = yield* supervisor.list
        const details = yield* Effect.forEach(listed, (info) => supervisor.inspect(info.id))
        return json(details.flatMap((found) => Option.isSome(found) ? [taskJson(found.value)] : []))
      })
    ],
    ["/tasks/*", task],
    [
      "/controller",
      Effect.map(
        Effect.serviceOption(Controller.Controller),
        Option.match({
          onNone: () => Effect.succeed(problem(404, "no controller runs beside this supervisor")),
          onSome: (controller) => Effect.map(controller.snapshot, (snapshot) => json(controllerJson(snapshot)))
        })
      ).pipe(Effect.flatten)
    ],
    ["/events", events],
    [
      "/metrics",
      options.metrics === undefined
        ? Effect.succeed(problem(404, "no metrics exporter is installed"))
        : Effect.map(
          options.metrics,
          (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
        )
    ]
  ]
  let routes: HttpRouter.HttpRouter<unknown, TaskSupervisor> = HttpRouter.empty
  for (const [path, handler] of reads) {
    routes = HttpRouter.get(routes, path, handler)
    if (path !== "/events") routes = HttpRouter.head(routes, path, handler)
  }
  if (token !== undefined) routes = HttpRouter.post(routes, "/tasks/*", control)
  const fallback = unmatched(token !== undefined, new Set(reads.map(([path]) => path)))
  return {
    router: routes.pipe(
      HttpRouter.all("*", fallback),
      // a task id this supervisor never issued cannot come from a path (names only): nothing else fails
      HttpRouter.catchAllCause(() => Effect.succeed(problem(500, "internal error")))
    ),
    fallback
  }
}

/**
 * Serve `router(options)` with `@effect/platform-node` on `host` (default
 * 127.0.0.1) and `port`, for the life of the layer. It gives the
 * `HttpServer`, whose `address` says where it listens (a port of 0 picks a
 * free one).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: ServeOptions
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, TaskSupervisor> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const endpoint = new Endpoint(options.ready ?? [])
    const { fallback, router } = routes(options, endpoint)
    const unwatch = endpoint.watch(yield* TaskSupervisor)
    // a path the router cannot even match (not valid percent-encoding) is answered like any other unmatched one
    yield* HttpServer.serveEffect(Effect.catchTag(router, "RouteNotFound", () => fallback))
    // before the server closes, which waits for every open connection: the `/events` clients are cut off
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        unwatch()
        endpoint.disconnectAll()
      })
    )
  })).pipe(
    Layer.provideMerge(
      NodeHttpServer.layerServer(createServer, { host: options.host ?? "127.0.0.1", port: options.port })
    )
  )
