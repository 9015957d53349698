/**
 * A child process as a task with `ProcessTask.make`: a Node server (examples/process/flaky_server.mjs) that crashes on
 * its first two starts (exit code 3, `AttemptFailed` with `exit_code=3`), is restarted under an exponential backoff,
 * and on its third start serves. Its attempt is `Starting` until it prints `listening on <port>` (`readyWhen`), then
 * `Running`. Its stdout goes to the log at Info, its stderr at Warning, annotated with the task, stream and pid. The
 * program asks it once over HTTP, then shuts the supervisor down: the server's process group gets SIGTERM (SIGKILL
 * after `killAfter`), so the server and the helper it started are gone before shutdown returns. It ends by itself
 * after a few seconds; Ctrl-C before that stops it the same way, and leaves no process behind either.
 */
import { Command } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Stream } from "effect"
import {
  BackoffPolicy,
  ProcessTask,
  RestartPolicy,
  Subscriber,
  SupervisorConfig,
  TaskSupervisor
} from "effect-taskvisor"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const startsFile = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskvisor-example-")), "starts")
let served: { readonly port: number; readonly pid: number } | undefined

const server = ProcessTask.make(
  "flaky-server",
  Command.make(process.execPath, Path.join(import.meta.dirname, "process/flaky_server.mjs")),
  {
    restart: RestartPolicy.onFailure,
    backoff: BackoffPolicy.exponential("200 millis"),
    maxRetries: 5,
    env: { STARTS_FILE: startsFile },
    readyWhen: /listening on \d+/,
    readyTimeout: "10 seconds",
    killAfter: "2 seconds",
    // the port is in the line that makes it ready; every line still goes to the log
    onLine: (line) =>
      Effect.gen(function*() {
        const port = /listening on (\d+)/.exec(line.text)?.[1]
        if (port !== undefined) served = { port: Number(port), pid: line.pid }
        yield* Effect.logInfo(line.text).pipe(Effect.annotateLogs({ stream: line.stream, pid: line.pid }))
      })
  }
)

const program = Effect.gen(function*() {
  yield* TaskSupervisor.add(server)
  yield* TaskSupervisor.events.pipe(
    Stream.filter((event) => event._tag === "AttemptReady" && event.task === "flaky-server"),
    Stream.runHead
  )
  const { pid, port } = served!
  const reply = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/`).then((response) => response.text()))
  yield* Effect.log(`the server (pid ${pid}) says: ${reply.trim()}`)
  yield* TaskSupervisor.shutdown
  const left = processesInGroup(pid)
  yield* Effect.log(`after shutdown, processes left in the server's group: ${left}`)
})

/** How many processes of the group still run, as `ps` lists them (a zombie, ended but not yet reaped, does not). */
const processesInGroup = (pgid: number): number =>
  execFileSync("ps", ["-A", "-o", "pgid=,stat="], { encoding: "utf8" }).split("\n").filter((row) => {
    const [group, stat] = row.trim().split(/\s+/)
    return Number(group) === pgid && !stat.startsWith("Z")
  }).length

program.pipe(
  Effect.provide(
    TaskSupervisor.layer.pipe(
      Layer.provide(Subscriber.layer(Subscriber.log)),
      Layer.provide(SupervisorConfig.layer({ grace: "5 seconds" }))
    )
  ),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
