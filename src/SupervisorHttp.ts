/**
 * An HTTP endpoint for operators, on `@effect/platform`: health and
 * readiness probes, the tasks with their crash history, the controller's
 * slots, the cluster singletons and which runner holds each, the events live
 * as Server-Sent Events, metrics, runtime controls behind a bearer token, and
 * a live dashboard page at `/`.
 *
 * The routes (each `GET` answers `HEAD` too, but `/events`):
 *
 * - `GET /health`: liveness, about the process only: 200 `{"status":"ok"}`
 *   while the supervisor is open, 503 once it shuts down. A probe that
 *   restarts the process on failure belongs here.
 * - `GET /ready`: readiness, about the work: 503 until every task named in
 *   `ready` has started an attempt that is ready (`waiting`: a child process
 *   with `readyWhen` is `Starting` until its line comes) and, in cluster mode, while this runner
 *   holds a singleton with nothing running (`singletons`: each it fenced, and
 *   each it owns whose task has not run for longer than its `unownedAfter`,
 *   parked or ended, with `status` `fenced` or `not_running`, `forMs` and a
 *   `reason`), so that an orchestrator takes it out and replaces it; 200
 *   otherwise. A runner that merely does not own a singleton is ready, and so
 *   is one whose singleton an operator paused. On a `ClusterRunner` layer it
 *   is also not ready while its engine is shut down or its storage does not
 *   answer a heartbeat in time (`cluster`: why), which stops its singletons
 *   and its sharded slots alike. The body is `{"ready","waiting"}`, with
 *   `singletons` in cluster mode and `cluster` when the runner is not ready.
 * - `GET /tasks`, `GET /tasks/:name`: the tasks with their crash history
 *   (times as the clock's milliseconds) and their `state` (a cron task waiting
 *   for its next run is `Scheduled`); a cron task has its `schedule`
 *   (`expression`, `timeZone`, `overlap`, `catchUpMs` if it catches up,
 *   `jitterMs`) and, while it is scheduled to run, `nextRunAt` as an ISO
 *   string (absent while it is paused or a run is due); the task of a
 *   cluster singleton this runner owns has `singleton: {"runner"}`.
 * - `GET /singletons`: `{"cluster":false,"singletons":[]}` out of cluster
 *   mode; in it `{"cluster":true,"runner","singletons":[…]}`, the singletons
 *   registered on this runner by name, each with its `owner` (absent when no
 *   runner answered for it), `running`, `local` (this runner owns it),
 *   `fenced`, and when it runs nowhere `unownedSince` (the clock's
 *   milliseconds) and `unownedForMs`; its `unownedAfterMs`.
 * - `GET /controller`: the controller's slots; 404 without a `Controller`.
 * - `GET /events`: the events as Server-Sent Events, each as JSON with its
 *   `label`, times (`at`, a cron task's `scheduledAt`) as the clock's
 *   milliseconds and durations in milliseconds; a cron task's `TaskAdded`
 *   has its `schedule`, as its row does. `GET /metrics`: the
 *   exporter's text; 404 without one. `GET /`: the dashboard.
 * - `POST /tasks/:name/{cancel,restart,pause,resume,trigger}`: runtime
 *   controls, with the bearer token.
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
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer, type Server, ServerResponse } from "node:http"
import * as Controller from "./Controller.js"
import { ClusterReadiness } from "./internal/cluster/readiness.js"
import { Singletons, type SingletonView, views } from "./internal/cluster/singletons.js"
import { integer, positiveDuration } from "./internal/config/validate.js"
import { describe } from "./internal/data/taskError.js"
import { page } from "./internal/http/dashboard.js"
import {
  authorized,
  bearer,
  controllerJson,
  singletonJson,
  singletonProblems,
  sse,
  taskJson
} from "./internal/http/supervisorHttp.js"
import type { Registry } from "./internal/supervisor/registry.js"
import { SupervisorRegistry } from "./internal/supervisor/taskSupervisor.js"
import type { TaskInfo } from "./internal/task/task.js"
import { ConfigError } from "./SupervisorError.js"
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
   * `/restart`, `/pause`, `/resume`, `/trigger`). A wrong or missing token
   * gets 401; without a configured token runtime controls are off, and every
   * control gets 403 with a JSON `error` saying so. The token is visible ASCII
   * (`!` to `~`, a superset of RFC 6750's `b64token`), as a request can carry
   * it: an empty one, or one with a space, a control character or a character
   * beyond ASCII, is refused with a `ConfigError` naming `token`.
   */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /**
   * The tasks `GET /ready` waits for: ready once each has started an attempt
   * and that attempt is past `Starting` (a latch). None: ready while healthy (and, in cluster mode, while no
   * singleton this runner holds is down). The supervisor is watched for them
   * (by `layer` from its start, by `router` from its first `/ready`) until
   * each was seen started or it shuts down.
   */
  readonly ready?: ReadonlyArray<string> | undefined
  /**
   * How many events an `/events` client may have waiting (default 1024, at
   * least 1): a burst beyond it is lost for the client, which is told where
   * (an SSE `gap` event) and stays connected.
   */
  readonly eventsBuffer?: number | undefined
  /**
   * How long an `/events` client may leave its connection full, not reading,
   * before it is let go (default 10 seconds, of Effect's `Clock`; more than
   * zero): each client is looked at every `eventsStall`, and let go when two
   * looks in a row find its response waiting for the connection to drain,
   * with no drain in between: between one and two `eventsStall` after it
   * stopped taking data. Only on Node's server, whose connections it sees.
   */
  readonly eventsStall?: Duration.DurationInput | undefined
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
  TaskSupervisor | SupervisorRegistry | HttpServerRequest.HttpServerRequest | Scope.Scope
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

/** The Node response to `request`; `undefined` on a server of another platform. */
const nodeResponse = (request: HttpServerRequest.HttpServerRequest): ServerResponse | undefined => {
  const response: unknown = NodeHttpServerRequest.toServerResponse(request)
  return response instanceof ServerResponse ? response : undefined
}

/** Close a request's connection, on Node. */
const disconnect = (request: HttpServerRequest.HttpServerRequest): void => {
  nodeResponse(request)?.destroy()
}

/**
 * Succeeds once the client of `request` has stopped reading: its response,
 * looked at every `stall`, was waiting for the connection to drain at two
 * looks in a row and did not drain in between. Never on a server of another
 * platform, whose connection it cannot see.
 */
const stalled = (request: HttpServerRequest.HttpServerRequest, stall: Duration.Duration): Effect.Effect<void> => {
  const response = nodeResponse(request)
  if (response === undefined) return Effect.never
  let drains = 0
  response.on("drain", () => drains++)
  /** How many drains there had been when the last look found it waiting; `undefined`: it was not. */
  let waiting: number | undefined = undefined
  const look = Effect.sync(() => {
    const stuck = response.writableNeedDrain && waiting === drains
    waiting = response.writableNeedDrain ? drains : undefined
    return stuck
  })
  return Effect.repeat(Effect.zipRight(Effect.sleep(stall), look), { until: (stuck) => stuck })
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
const unmatched = (reads: ReadonlySet<string>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = yield* pathOf
    const task = path.startsWith("/tasks/")
    if (task) {
      const name = nameOf(path.slice("/tasks/".length))
      if (typeof name !== "string" && request.method === "GET") return name
    }
    const allowed = task ? "GET, POST" : reads.has(path) ? "GET" : undefined
    return allowed === undefined
      ? problem(404, `no route for ${request.method} ${path.slice(0, 200)}`)
      : HttpServerResponse.unsafeJson({ error: `${request.method} is not allowed here` }, {
        status: 405,
        headers: { allow: allowed }
      })
  })

/**
 * The endpoint's routes. They need the `TaskSupervisor` and its
 * `SupervisorRegistry` (both from `TaskSupervisor.layer`), serve
 * `/controller` when a `Controller` is in the context too, and read the
 * cluster singletons (`/singletons`, `/ready`, `/tasks`) when the
 * `ClusterTask.Singletons` of a `ClusterTask.singleton` layer is. A bad option
 * throws a `ConfigError` naming it: a token no request can carry, an
 * `eventsBuffer` that is not a whole number of at least 1, an `eventsStall`
 * that is not a positive, finite duration.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const router = (
  options: Options = {}
): HttpRouter.HttpRouter<never, TaskSupervisor | SupervisorRegistry> => {
  const built = routes(options, new Endpoint(options.ready ?? []))
  if (built instanceof ConfigError) throw built
  return built.router
}

/**
 * What one endpoint keeps: the `ready` tasks seen started (a latch: one that
 * ended since still counts), the supervisors watched for them, and the
 * `/events` requests being answered.
 */
class Endpoint {
  readonly started = new Set<string>()
  readonly streams = new Set<HttpServerRequest.HttpServerRequest>()
  private readonly names: ReadonlySet<string>
  /** The registries observed for `ready` tasks that finish, each with how to stop observing it. */
  private readonly watching = new Map<Registry, () => void>()

  constructor(readonly ready: ReadonlyArray<string>) {
    this.names = new Set(ready)
  }

  /** Whether every `ready` task has been seen started: then nothing needs listing or watching any more. */
  get allStarted(): boolean {
    return this.started.size === this.names.size
  }

  /**
   * Latch the `ready` tasks of the supervisor of `registry` that finish from
   * now on: watched once, until every `ready` task was seen started or it
   * shuts down.
   */
  watch(registry: Registry): void {
    if (!registry.open || this.allStarted || this.watching.has(registry)) return
    this.watching.set(
      registry,
      registry.observe({
        component: "http",
        onFinished: (task) => {
          if (task.attempt > 0) this.seen(task.spec.name)
        },
        onShutdown: () => {
          this.watching.get(registry)?.()
          this.watching.delete(registry)
        }
      })
    )
  }

  /** The `ready` tasks that have not started an attempt yet (or whose attempt is still `Starting`), as far as `listed` and the latch say. */
  waiting(listed: ReadonlyArray<TaskInfo>): ReadonlyArray<string> {
    for (const info of listed) if (info.attempt > 0 && info.state !== "Starting") this.seen(info.name)
    return this.ready.filter((name) => !this.started.has(name))
  }

  /** Latch `name` if it is a `ready` task; once all were, stop watching. */
  private seen(name: string): void {
    if (!this.names.has(name)) return
    this.started.add(name)
    if (this.allStarted) this.unwatch()
  }

  /** Stop watching every supervisor. */
  unwatch(): void {
    for (const unobserve of this.watching.values()) unobserve()
    this.watching.clear()
  }

  /** Cut every `/events` client off, so that a closing server does not wait for them. */
  disconnectAll(): void {
    for (const request of this.streams) disconnect(request)
    this.streams.clear()
  }
}

/** The routes of `endpoint`, and what answers a request none of them takes; or what is wrong with `options`. */
const routes = (options: Options, endpoint: Endpoint) => {
  const expected = options.token === undefined ? undefined : bearer(options.token)
  if (expected instanceof ConfigError) return expected
  const eventsBuffer = integer("eventsBuffer", options.eventsBuffer ?? 1024, 1)
  if (eventsBuffer instanceof ConfigError) return eventsBuffer
  const eventsStall = positiveDuration("eventsStall", options.eventsStall ?? "10 seconds")
  if (eventsStall instanceof ConfigError) return eventsStall

  const healthy = Effect.map(SupervisorRegistry, (registry) => registry.open)

  /** The cluster singletons this runner registered (`undefined` out of cluster mode), with the time on its clock. */
  const singletons: Effect.Effect<
    | {
      readonly runner: string
      readonly views: ReadonlyArray<SingletonView>
      readonly now: number
      readonly registry: Registry
    }
    | undefined,
    never,
    SupervisorRegistry
  > = Effect.gen(function*() {
    const found = yield* Effect.serviceOption(Singletons)
    if (Option.isNone(found)) return undefined
    const registry = yield* SupervisorRegistry
    return { runner: found.value.runner, views: views(found.value), now: registry.now(), registry }
  })

  /** The singletons whose task this runner runs, by name, with this runner's address. */
  const heldHere = Effect.map(
    singletons,
    (found): ReadonlyMap<string, string> =>
      new Map(found?.views.flatMap((view) => view.local && view.owner !== undefined ? [[view.name, view.owner]] : []))
  )

  const task = Effect.gen(function*() {
    const supervisor = yield* TaskSupervisor
    const name = nameOf((yield* pathOf).slice("/tasks/".length))
    if (typeof name !== "string") return name
    const details = yield* supervisor.inspect(name)
    if (Option.isNone(details)) return problem(404, `no task named '${name}' is registered`)
    const registry = yield* SupervisorRegistry
    return json(taskJson(details.value, (yield* heldHere).get(details.value.name), shapeOf(registry, details.value.id)))
  })

  const control = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (expected === undefined) return problem(403, "runtime controls are disabled: no token was configured")
    if (!authorized(expected, request.headers["authorization"])) {
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
    const registry = yield* SupervisorRegistry
    const request = yield* HttpServerRequest.HttpServerRequest
    // listening from now until the request ends: what is published while the response starts is not lost
    const events = yield* registry.bus.follow("http", eventsBuffer)
    // a cron task's TaskAdded carries its schedule (and a task awaiting readiness says so): it was registered before
    // the event was published
    const shapes = (id: number) => shapeOf(registry, id)
    yield* Effect.acquireRelease(
      Effect.sync(() => endpoint.streams.add(request)),
      () => Effect.sync(() => endpoint.streams.delete(request))
    )
    // a client that stopped reading is let go: its response may be blocked on a full socket, never to read again
    yield* Effect.forkScoped(Effect.andThen(stalled(request, eventsStall), () => disconnect(request)))
    const stream = events.pipe(
      // one write per batch taken, not one per event
      Stream.mapChunks((chunk) => Chunk.of(Chunk.join(Chunk.map(chunk, (item) => sse(item, shapes)), ""))),
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
        endpoint.watch(yield* SupervisorRegistry)
        const supervisor = yield* TaskSupervisor
        const waiting = endpoint.allStarted ? [] : endpoint.waiting(yield* supervisor.list)
        const cluster = yield* singletons
        const down = cluster === undefined
          ? undefined
          : singletonProblems(
            cluster.views,
            cluster.now,
            (name) => cluster.registry.find(name)?.state._tag === "Paused"
          )
        const readiness = yield* Effect.serviceOption(ClusterReadiness)
        const runner = Option.isNone(readiness) ? undefined : yield* readiness.value.check
        const ready = waiting.length === 0 && (down === undefined || down.length === 0) && runner === undefined
        return json(
          {
            ready,
            waiting,
            ...(down === undefined ? {} : { singletons: down }),
            ...(runner === undefined ? {} : { cluster: runner })
          },
          ready ? 200 : 503
        )
      })
    ],
    [
      "/tasks",
      Effect.gen(function*() {
        const supervisor = yield* TaskSupervisor
        const listed = yield* supervisor.list
        const details = yield* Effect.forEach(listed, (info) => supervisor.inspect(info.id))
        const held = yield* heldHere
        const registry = yield* SupervisorRegistry
        return json(
          details.flatMap((found) =>
            Option.isSome(found)
              ? [taskJson(found.value, held.get(found.value.name), shapeOf(registry, found.value.id))]
              : []
          )
        )
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
    [
      "/singletons",
      Effect.map(singletons, (found) =>
        found === undefined
          ? json({ cluster: false, singletons: [] })
          : json({
            cluster: true,
            runner: found.runner,
            singletons: found.views.map((view) => singletonJson(view, found.now))
          }))
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
  let routes: HttpRouter.HttpRouter<unknown, TaskSupervisor | SupervisorRegistry> = HttpRouter.empty
  for (const [path, handler] of reads) {
    routes = HttpRouter.get(routes, path, handler)
    if (path !== "/events") routes = HttpRouter.head(routes, path, handler)
  }
  routes = HttpRouter.post(routes, "/tasks/*", control)
  const fallback = unmatched(new Set(reads.map(([path]) => path)))
  return {
    router: routes.pipe(
      HttpRouter.all("*", fallback),
      // a task id this supervisor never issued cannot come from a path (names only): what fails is unexpected (a
      // metrics exporter that fails or dies, say), answered 500 and reported as a failure of this component
      HttpRouter.catchAllCause((cause) =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const path = yield* pathOf
          const registry = yield* SupervisorRegistry
          registry.bus.emit("RuntimeFailure", {
            component: "http",
            reason: `${request.method} ${path.slice(0, 200)}: ${describe(Cause.squash(cause))}`
          })
          return problem(500, "internal error")
        })
      )
    ),
    fallback
  }
}

/** The spec of task `id` if it is registered. */
const shapeOf = (registry: Registry, id: number) => registry.find(id)?.spec

/** How long closing `layer` lets responses in flight end before it cuts every connection left. */
const closeGrace = Duration.seconds(1)

/**
 * Serve `router(options)` with `@effect/platform-node` on `host` (default
 * 127.0.0.1) and `port`, for the life of the layer. It gives the
 * `HttpServer`, whose `address` says where it listens (a port of 0 picks a
 * free one). It fails with a `ConfigError` naming a bad option (as `router`
 * throws it) before it listens.
 *
 * Closing the layer takes at most 1 second (of Effect's `Clock`), whatever
 * the clients do: it stops listening and ends the `/events` streams and the
 * idle connections at once; a response in flight may end within the second
 * (its connection is closed once it has); then every connection left is cut,
 * a half-sent request or a response still going included.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: ServeOptions
): Layer.Layer<
  HttpServer.HttpServer,
  HttpServerError.ServeError | ConfigError,
  TaskSupervisor | SupervisorRegistry
> =>
  Layer.unwrapEffect(Effect.suspend(() => {
    const endpoint = new Endpoint(options.ready ?? [])
    const built = routes(options, endpoint)
    if (built instanceof ConfigError) return Effect.fail(built)
    const { fallback, router } = built
    const server = createServer()
    // once it stopped listening, a connection whose response ended is closed (Node keeps it alive)
    server.on("request", (_, response: ServerResponse) =>
      response.on("finish", () => {
        if (!server.listening) server.closeIdleConnections()
      }))
    return Effect.succeed(
      Layer.scopedDiscard(Effect.gen(function*() {
        endpoint.watch(yield* SupervisorRegistry)
        // a path the router cannot even match (not valid percent-encoding) is answered like any other unmatched one
        yield* HttpServer.serveEffect(Effect.catchTag(router, "RouteNotFound", () => fallback))
        // before the platform closes the server, which would wait for every connection
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() => {
            endpoint.unwatch()
            endpoint.disconnectAll()
            return closeWithin(server, closeGrace)
          })
        )
      })).pipe(
        Layer.provideMerge(
          NodeHttpServer.layerServer(() => server, { host: options.host ?? "127.0.0.1", port: options.port })
        )
      )
    )
  }))

/**
 * Close `server` within `grace`: stop listening and close the idle
 * connections (Node's `close`), wait up to `grace` for the others to end,
 * then cut those left.
 */
const closeWithin = (server: Server, grace: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    const closed = yield* Deferred.make<void>()
    server.close(() => Deferred.unsafeDone(closed, Exit.void))
    // a finalizer runs uninterruptibly: the wait must be interruptible for the timeout to end it
    const ended = yield* Deferred.await(closed).pipe(Effect.interruptible, Effect.timeoutOption(grace))
    if (Option.isNone(ended)) {
      server.closeAllConnections()
      yield* Deferred.await(closed)
    }
  })
