import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
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
})
