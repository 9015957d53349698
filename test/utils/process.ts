import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Command from "@effect/platform/Command"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Subscriber from "../../src/Subscriber.js"
import type { SupervisorEvent } from "../../src/SupervisorEvent.js"
import type * as TaskHandle from "../../src/TaskHandle.js"
import type * as TaskSpec from "../../src/TaskSpec.js"
import * as TaskSupervisor from "../../src/TaskSupervisor.js"
import { buildSupervisor, type TestConfig } from "./recorder.js"

const fixtures = Path.join(import.meta.dirname, "../fixtures/process")

/** A node script of test/fixtures/process, run by this node. */
export const node = (script: string, ...args: Array<string>): Command.Command =>
  Command.make(process.execPath, Path.join(fixtures, script), ...args)

/**
 * The pids of the processes of a group that have not ended, from /proc: a
 * zombie (ended, waiting for its new parent to reap it; this machine's init
 * reaps orphans late) holds nothing and does not count.
 */
export const membersOf = (pgid: number): Array<number> =>
  Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((pid) => {
    try {
      const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
      const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return Number(group) === pgid && state !== "Z" ? [Number(pid)] : []
    } catch {
      return [] // it ended meanwhile
    }
  })

/**
 * A live supervisor (scoped) whose events are recorded, with `until`: the
 * events once a condition on them holds, failing after `within`; and `add`
 * with a `CommandExecutor` (NodeContext.layer).
 */
export const processSupervisor = (config: TestConfig = {}) =>
  Effect.gen(function*() {
    const events: Array<SupervisorEvent> = []
    const count = yield* SubscriptionRef.make(0)
    const subscriber = Subscriber.make({
      name: "watch",
      capacity: 100_000,
      onEvent: (event) =>
        Effect.zipRight(Effect.sync(() => events.push(event)), SubscriptionRef.update(count, (n) => n + 1))
    })
    const { context } = yield* buildSupervisor({ grace: "5 seconds", ...config }, [subscriber])
    const until = (
      what: string,
      holds: (events: ReadonlyArray<SupervisorEvent>) => boolean,
      within: Duration.DurationInput = "10 seconds"
    ) =>
      count.changes.pipe(
        Stream.filter(() => holds(events)),
        Stream.runHead,
        Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`timed out waiting for ${what}`) }),
        Effect.orDie,
        Effect.as(events)
      )
    const provide = <A, E>(effect: Effect.Effect<A, E, TaskSupervisor.TaskSupervisor>) =>
      Effect.provide(effect, context)
    const add = <E>(spec: TaskSpec.TaskSpec<E, any>) =>
      TaskSupervisor.add(spec).pipe(Effect.provide(context), Effect.provide(NodeContext.layer))
    /** Its outcome, once the recorder has its `TaskFinished` too. */
    const outcome = <E>(handle: TaskHandle.TaskHandle<E>) =>
      Effect.zipLeft(
        handle.await,
        until(`TaskFinished of ${handle.name}`, (events) => has(events, "TaskFinished", handle.name))
      )
    return { events, until, add, provide, outcome }
  })

/** Whether some event is of this tag and task. */
export const has = (events: ReadonlyArray<SupervisorEvent>, tag: SupervisorEvent["_tag"], task?: string): boolean =>
  events.some((e) => e._tag === tag && (task === undefined || ("task" in e && e.task === task)))
