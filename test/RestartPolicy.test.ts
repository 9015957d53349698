import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Equal from "effect/Equal"
import { pipe } from "effect/Function"
import * as Hash from "effect/Hash"
import * as RestartPolicy from "../src/RestartPolicy.js"
import { assertDuration } from "./utils/duration.js"

const describePolicy = RestartPolicy.$match({
  Never: () => "never",
  OnFailure: () => "on-failure",
  Always: ({ interval }) => interval === undefined ? "always" : `always every ${Duration.format(interval)}`
})

describe("RestartPolicy", () => {
  it("never and onFailure carry their tags", () => {
    assert.strictEqual(RestartPolicy.never._tag, "Never")
    assert.strictEqual(RestartPolicy.onFailure._tag, "OnFailure")
  })

  it("always() has no interval", () => {
    const policy = RestartPolicy.always()
    assert.strictEqual(policy._tag, "Always")
    assert.isTrue(RestartPolicy.$is("Always")(policy))
    if (policy._tag === "Always") assert.isUndefined(policy.interval)
  })

  it("always({}) and always({ interval: undefined }) have no interval", () => {
    for (const policy of [RestartPolicy.always({}), RestartPolicy.always({ interval: undefined })]) {
      assert.strictEqual(policy._tag, "Always")
      if (policy._tag === "Always") assert.isUndefined(policy.interval)
    }
  })

  it("a zero interval is the same as none", () => {
    for (const zero of [0, "0 millis", Duration.zero] as const) {
      const policy = RestartPolicy.always({ interval: zero })
      assert.strictEqual(policy._tag, "Always")
      if (policy._tag === "Always") assert.isUndefined(policy.interval, `interval ${String(zero)}`)
    }
  })

  it("always({ interval: \"2 seconds\" }) keeps the interval", () => {
    const policy = RestartPolicy.always({ interval: "2 seconds" })
    assert.strictEqual(policy._tag, "Always")
    if (policy._tag === "Always") {
      assert.isDefined(policy.interval)
      assertDuration(policy.interval!, "2 seconds")
    }
  })

  it("always decodes numeric intervals as milliseconds", () => {
    const policy = RestartPolicy.always({ interval: 1500 })
    if (policy._tag !== "Always") return assert.fail("expected Always")
    assertDuration(policy.interval!, "1500 millis")
  })

  it("$is tells the variants apart", () => {
    assert.isTrue(RestartPolicy.$is("Never")(RestartPolicy.never))
    assert.isFalse(RestartPolicy.$is("Never")(RestartPolicy.onFailure))
    assert.isTrue(RestartPolicy.$is("OnFailure")(RestartPolicy.onFailure))
    assert.isFalse(RestartPolicy.$is("Always")(RestartPolicy.onFailure))
    assert.isTrue(RestartPolicy.$is("Always")(RestartPolicy.always({ interval: "1 second" })))
  })

  it("$match dispatches on the variant", () => {
    assert.strictEqual(describePolicy(RestartPolicy.never), "never")
    assert.strictEqual(describePolicy(RestartPolicy.onFailure), "on-failure")
    assert.strictEqual(describePolicy(RestartPolicy.always()), "always")
    assert.strictEqual(describePolicy(RestartPolicy.always({ interval: "2 seconds" })), "always every 2s")
  })

  it("$match in data-first form", () => {
    const tag = RestartPolicy.$match(RestartPolicy.always({ interval: "5 seconds" }), {
      Never: () => 0,
      OnFailure: () => 1,
      Always: ({ interval }) => interval === undefined ? 2 : Duration.toMillis(interval)
    })
    assert.strictEqual(tag, 5000)
  })

  it("policies are structurally equal values", () => {
    assert.deepStrictEqual(RestartPolicy.always({ interval: "2 seconds" }), RestartPolicy.always({ interval: 2000 }))
    assert.notDeepEqual(RestartPolicy.always({ interval: "2 seconds" }), RestartPolicy.always({ interval: 3000 }))
  })

  it("isRestartPolicy recognises every variant and nothing else", () => {
    for (
      const policy of [RestartPolicy.never, RestartPolicy.onFailure, RestartPolicy.always({ interval: "1 second" })]
    ) {
      assert.isTrue(RestartPolicy.isRestartPolicy(policy))
      assert.strictEqual(policy[RestartPolicy.TypeId], RestartPolicy.TypeId)
    }
    for (const other of [{ _tag: "Never" }, { _tag: "Always", interval: undefined }, "Never", null, undefined]) {
      assert.isFalse(RestartPolicy.isRestartPolicy(other), JSON.stringify(other))
      assert.isFalse(RestartPolicy.$is("Never")(other), JSON.stringify(other))
    }
  })

  it("policies are Equal and hash alike by value", () => {
    const a = RestartPolicy.always({ interval: "2 seconds" })
    const b = RestartPolicy.always({ interval: 2000 })
    assert.isTrue(Equal.equals(a, b))
    assert.strictEqual(Hash.hash(a), Hash.hash(b))
    assert.isTrue(Equal.equals(RestartPolicy.always(), RestartPolicy.always({ interval: 0 })))
    assert.isFalse(Equal.equals(a, RestartPolicy.always({ interval: 3000 })))
    assert.isFalse(Equal.equals(a, RestartPolicy.always()))
    assert.isFalse(Equal.equals(RestartPolicy.never, RestartPolicy.onFailure))
    assert.isFalse(Equal.equals(RestartPolicy.never, { _tag: "Never" }))
    // a policy built from an invalid interval is not the valid one it reads like
    assert.isFalse(Equal.equals(RestartPolicy.always({ interval: -1 }), RestartPolicy.always()))
  })

  it("policies are pipeable and show as JSON", () => {
    assert.strictEqual(pipe(RestartPolicy.never, (p) => p._tag), "Never")
    assert.strictEqual(RestartPolicy.onFailure.pipe((p) => p._tag), "OnFailure")
    assert.deepStrictEqual(RestartPolicy.never.toJSON(), { _id: "RestartPolicy", _tag: "Never" })
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(RestartPolicy.always({ interval: "2 seconds" }))),
      { _id: "RestartPolicy", _tag: "Always", interval: { _id: "Duration", _tag: "Millis", millis: 2000 } }
    )
    assert.include(String(RestartPolicy.onFailure), "OnFailure")
    assert.deepStrictEqual(RestartPolicy.always({ interval: -1 }).toJSON(), {
      _id: "RestartPolicy",
      _tag: "Always",
      interval: undefined,
      invalid: "interval must not be negative, got -1"
    })
  })

  it("always with an invalid interval does not throw; unsafeAlways does", () => {
    assert.strictEqual(RestartPolicy.always({ interval: -1 })._tag, "Always")
    assert.throws(() => RestartPolicy.unsafeAlways({ interval: -1 }), /invalid interval: must not be negative, got -1/)
    assert.isTrue(
      Equal.equals(RestartPolicy.unsafeAlways({ interval: "1 second" }), RestartPolicy.always({ interval: 1000 }))
    )
  })
})
