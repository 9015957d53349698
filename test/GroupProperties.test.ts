/**
 * The property tests of the core, extended to groups: random trees of groups
 * (two levels) with random strategies and children that succeed, fail or
 * hang, random stops and time, each case on its own `TestClock`. Every child
 * gets exactly one outcome per attempt of its group, no child runs outside
 * its group's attempt, every task's events keep their order, and no fiber
 * outlives shutdown.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as TestContext from "effect/TestContext"
import * as BackoffPolicy from "../src/BackoffPolicy.js"
import * as RestartPolicy from "../src/RestartPolicy.js"
import type { SupervisorEvent } from "../src/SupervisorEvent.js"
import * as TaskSpec from "../src/TaskSpec.js"
import { trackedSupervisor } from "./utils/controller.js"
import { assertIdOrder, assertSeq } from "./utils/events.js"
import { advance, settle } from "./utils/fibers.js"
import { propertyRuns, propertySeed } from "./utils/random.js"

/** What each attempt of a leaf does. */
type Step =
  | { readonly _tag: "Succeed"; readonly after: number }
  | { readonly _tag: "Fail"; readonly after: number }
  | { readonly _tag: "Hang" }

type Node =
  | {
    readonly _tag: "Leaf"
    readonly restart: "never" | "onFailure" | "always"
    readonly steps: ReadonlyArray<Step>
    readonly significant: boolean
  }
  | {
    readonly _tag: "Group"
    readonly restart: "never" | "onFailure" | "always"
    readonly strategy: TaskSpec.Strategy
    readonly autoShutdown: TaskSpec.AutoShutdown
    readonly children: ReadonlyArray<Node>
    readonly significant: boolean
  }

type Op =
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "Remove"; readonly path: number }

interface Case {
  readonly tree: ReadonlyArray<Node>
  readonly ops: ReadonlyArray<Op>
}

const restartArb = fc.constantFrom("never" as const, "onFailure" as const, "always" as const)

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom(300, 1000).map((after): Step => ({ _tag: "Succeed", after })),
  fc.constantFrom(300, 1000).map((after): Step => ({ _tag: "Fail", after })),
  fc.constant<Step>({ _tag: "Hang" })
)

const leafArb: fc.Arbitrary<Node> = fc.record({
  _tag: fc.constant("Leaf" as const),
  restart: restartArb,
  steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
  significant: fc.boolean()
})

const groupArb = (children: fc.Arbitrary<Node>): fc.Arbitrary<Node> =>
  fc.record({
    _tag: fc.constant("Group" as const),
    restart: restartArb,
    strategy: fc.constantFrom("oneForOne" as const, "oneForAll" as const, "restForOne" as const),
    autoShutdown: fc.constantFrom("never" as const, "anySignificant" as const, "allSignificant" as const),
    children: fc.array(children, { minLength: 1, maxLength: 3 }),
    significant: fc.boolean()
  })

const caseArb: fc.Arbitrary<Case> = fc.record({
  tree: fc.array(groupArb(fc.oneof({ weight: 3, arbitrary: leafArb }, { weight: 1, arbitrary: groupArb(leafArb) })), {
    minLength: 1,
    maxLength: 2
  }),
  ops: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(300, 1000, 2500).map((millis): Op => ({ _tag: "Advance", millis })) },
      { weight: 1, arbitrary: fc.nat({ max: 9 }).map((path): Op => ({ _tag: "Remove", path })) }
    ),
    { maxLength: 8 }
  )
})

const restartOf = (restart: Node["restart"]) =>
  restart === "never" ? RestartPolicy.never : restart === "onFailure" ? RestartPolicy.onFailure : RestartPolicy.always()

/** The spec of a node; its leaves count their attempts to pick their steps. */
const specOf = (node: Node, name: string): Effect.Effect<TaskSpec.TaskSpec<unknown, never>> =>
  Effect.gen(function*() {
    const settings = (spec: TaskSpec.TaskSpec<unknown, never>) => {
      const set = spec.pipe(
        TaskSpec.withRestart(restartOf(node.restart)),
        TaskSpec.withBackoff(BackoffPolicy.constant("500 millis")),
        TaskSpec.withMaxRetries(2)
      )
      return node.significant ? TaskSpec.significant(set) : set
    }
    if (node._tag === "Leaf") {
      const runs = yield* Ref.make(0)
      const body = Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (run): Effect.Effect<void, string> => {
        const step = node.steps[(run - 1) % node.steps.length]
        switch (step._tag) {
          case "Succeed":
            return Effect.sleep(step.after)
          case "Fail":
            return Effect.zipRight(Effect.sleep(step.after), Effect.fail("boom"))
          case "Hang":
            return Effect.never
        }
      })
      return settings(TaskSpec.make(name, body))
    }
    const children = yield* Effect.forEach(node.children, (child, i) => specOf(child, `${name}${i}`))
    return settings(
      TaskSpec.group(name, children, { strategy: node.strategy, autoShutdown: node.autoShutdown })
    )
  })

const TestEnv = TestContext.TestContext.pipe(Layer.provide(Logger.remove(Logger.defaultLogger)))

const runCase = (program: Effect.Effect<void, unknown, Scope.Scope>): Promise<void> =>
  Effect.runPromiseExit(program.pipe(Effect.scoped, Effect.provide(TestEnv))).then((exit) => {
    if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
  })

/** The attempts of each task by id: the seq of each `AttemptStarting` and of its terminal event. */
const attemptsOf = (events: ReadonlyArray<SupervisorEvent>) => {
  const attempts = new Map<number, Array<{ start: number; end: number }>>()
  for (const e of events) {
    if (!("id" in e) || !("attempt" in e)) continue
    const list = attempts.get(e.id) ?? []
    if (e._tag === "AttemptStarting") list.push({ start: e.seq, end: Number.POSITIVE_INFINITY })
    else if (e._tag !== "BackoffScheduled" && list.length > 0) list[list.length - 1].end = e.seq
    attempts.set(e.id, list)
  }
  return attempts
}

const runTree = ({ ops, tree }: Case) =>
  Effect.gen(function*() {
    const { events, live, supervisor } = yield* trackedSupervisor({ grace: "3 seconds" })
    const specs = yield* Effect.forEach(tree, (node, i) => specOf(node, `t${i}`))
    yield* settle
    const before = yield* live
    for (const spec of specs) yield* supervisor.add(spec)
    yield* settle
    // one fiber per registered task, children included: the check below sees the tasks' fibers
    assert.isAtLeast((yield* live) - before, (yield* supervisor.list).length)
    for (const op of ops) {
      if (op._tag === "Advance") {
        yield* advance(op.millis)
      } else {
        const listed = yield* supervisor.list
        if (listed.length > 0) yield* supervisor.remove(listed[op.path % listed.length].name)
        yield* settle
      }
    }
    const stopping = yield* Effect.fork(supervisor.shutdown)
    yield* advance("10 seconds")
    yield* Effect.ignore(stopping.await)
    yield* settle

    assertSeq(events)
    assert.strictEqual(yield* live, 0, "no fiber outlives shutdown")
    assert.deepStrictEqual(yield* supervisor.list, [])
    const added = events.filter((e): e is Extract<SupervisorEvent, { _tag: "TaskAdded" }> => e._tag === "TaskAdded")
    const ids = new Map(added.map((e) => [e.id, e]))
    const attempts = attemptsOf(events)
    for (const e of added) {
      assertIdOrder(events, e.id)
      if (e.group === undefined) continue
      // the group's attempt this child belongs to: the one (of any instance of the group) running when it was added
      const attempt = added
        .filter((g) => g.task === e.group)
        .flatMap((g) => attempts.get(g.id) ?? [])
        .find((a) => a.start < e.seq && e.seq < a.end)
      assert.isDefined(attempt, `${e.task} #${e.id} was added outside an attempt of ${e.group}`)
      const finished = events.filter((f) => f._tag === "TaskFinished" && f.id === e.id)
      assert.strictEqual(finished.length, 1, `${e.task} #${e.id}: exactly one outcome`)
      assert.isBelow(finished[0].seq, attempt!.end, `${e.task} #${e.id} ended after its group's attempt`)
      for (const own of attempts.get(e.id) ?? []) {
        assert.isAbove(own.start, attempt!.start, `${e.task} #${e.id} ran before its group's attempt`)
        assert.isBelow(own.end, attempt!.end, `${e.task} #${e.id} ran after its group's attempt`)
      }
    }
    assert.isAtLeast(ids.size, tree.length)
  })

describe("group properties", () => {
  it("random trees keep every child inside its group's attempt, one outcome each, and no fiber after shutdown", {
    timeout: 120_000
  }, async () => {
    await fc.assert(fc.asyncProperty(caseArb, (c) => runCase(runTree(c))), {
      numRuns: propertyRuns(60),
      seed: propertySeed
    })
  })
})
