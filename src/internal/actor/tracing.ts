/** An attempt's span (`taskvisor.attempt`, under its caller's span), linked to the task's previous attempt's. */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Tracer from "effect/Tracer"
import type { AttemptResult } from "../events/metrics.js"
import type { Task } from "../task/task.js"

/** A task's attempt spans, with a tracer installed: the running attempt's, and the previous one's. */
export class AttemptSpans {
  private current: Tracer.Span | undefined = undefined
  private previous: Tracer.Span | undefined = undefined

  /** Attempt `attempt` of `task` in a span of its own, linked to the previous attempt's; `end` ends it. */
  trace(body: Effect.Effect<unknown, unknown>, task: Task, attempt: number): Effect.Effect<unknown, unknown> {
    const links: ReadonlyArray<Tracer.SpanLink> = this.previous === undefined
      ? []
      : [{ _tag: "SpanLink", span: this.previous, attributes: { relation: "previous_attempt" } }]
    return Effect.flatMap(
      Effect.makeSpan("taskvisor.attempt", {
        attributes: { task: task.spec.name, id: task.id, attempt },
        links,
        captureStackTrace: false
      }),
      (span) => {
        this.current = span
        return Effect.withParentSpan(body, span)
      }
    )
  }

  /** The running attempt's span ends with `result` (and `reason`, ending it as an error), if it has one. */
  end(result: AttemptResult | "force_aborted", reason: string | undefined, clock: Clock.Clock): void {
    const span = this.current
    if (span === undefined) return
    span.attribute("result", result)
    if (reason !== undefined) span.attribute("reason", reason)
    span.end(clock.unsafeCurrentTimeNanos(), reason === undefined ? Exit.void : Exit.fail(reason))
    this.previous = span
    this.current = undefined
  }
}
