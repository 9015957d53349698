/** A process's output as lines: bytes split at newlines in a bounded buffer, each line delivered to its sink. */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { Line } from "./processOptions.js"

/** A line, or a piece of one, as the splitter cuts it. */
export interface Piece {
  readonly text: string
  readonly continues: boolean
}

/**
 * Splits decoded text at newlines (a `\r` before one is dropped). Text
 * without a newline is held only up to `max` characters: beyond it, pieces
 * of `max` characters go out marked `continues`, so a line without end does
 * not grow the buffer.
 */
export class LineSplitter {
  private pending = ""
  private readonly decoder = new TextDecoder()
  constructor(private readonly max: number) {}

  push(chunk: Uint8Array): Array<Piece> {
    const text = this.decoder.decode(chunk, { stream: true })
    const out: Array<Piece> = []
    let start = 0
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      let line = this.pending + text.slice(start, newline)
      this.pending = ""
      line = this.cut(line, out)
      out.push({ text: line.endsWith("\r") ? line.slice(0, -1) : line, continues: false })
      start = newline + 1
    }
    this.pending = this.cut(this.pending + text.slice(start), out)
    return out
  }

  /** What is left at the end of the stream: a last line without a newline. */
  end(): Array<Piece> {
    const out: Array<Piece> = []
    const rest = this.cut(this.pending + this.decoder.decode(), out)
    this.pending = ""
    if (rest.length > 0) out.push({ text: rest, continues: false })
    return out
  }

  /** Pieces of `max` characters off the front of `text` while it is longer; what remains. */
  private cut(text: string, out: Array<Piece>): string {
    while (text.length > this.max) {
      // a surrogate pair is not cut in two (unless max is 1)
      const at = this.max > 1 && isHighSurrogate(text.charCodeAt(this.max - 1)) ? this.max - 1 : this.max
      out.push({ text: text.slice(0, at), continues: true })
      text = text.slice(at)
    }
    return text
  }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff

/** Where lines go: the user's sink, or the logger at the stream's level (`undefined`: dropped). */
export interface Delivery {
  readonly task: string
  readonly onLine: ((line: Line) => Effect.Effect<void>) | undefined
  readonly level: LogLevel.LogLevel | undefined
  /** Called on every line, dropped or not (readiness). */
  readonly seen: (text: string) => Effect.Effect<void>
}

/**
 * A user sink's call, guarded: one that throws, fails, dies or returns no
 * Effect loses that value (`what`, as the warning names it) and is reported
 * at Warning level; the next value goes to it again.
 */
/**
 * What a user function returned that is not what it should be, made harmless: a Promise (an `async` function) has its
 * rejection handled here, or it would end the process as an unhandled rejection. `true` when it was a Promise.
 */
export const settledPromise = (value: unknown): boolean => {
  if (!Predicate.isPromiseLike(value)) return false
  value.then(undefined, () => undefined)
  return true
}

export const toSink = <A>(
  name: string,
  sink: (value: A) => Effect.Effect<void>,
  value: A,
  what: string
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const effect: unknown = sink(value)
    if (Effect.isEffect(effect)) return effect as Effect.Effect<void>
    return Effect.dieMessage(`${name} returned ${settledPromise(effect) ? "a Promise, not an Effect" : "no Effect"}`)
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logWarning(`${name} failed on ${what}; it is lost`, cause)
    )
  )

const deliver = (delivery: Delivery, line: Line): Effect.Effect<void> =>
  Effect.zipRight(
    delivery.seen(line.text),
    delivery.level === undefined
      ? Effect.void
      : delivery.onLine !== undefined
      ? toSink("onLine", delivery.onLine, line, "a line of the process")
      : Effect.logWithLevel(delivery.level, line.text).pipe(
        Effect.annotateLogs(line.continues ? { continues: true } : {})
      )
  )

/**
 * Reads one stream of the process to its end, line by line, the last line
 * without a newline included; an error reading it ends it as its end would.
 */
export const pump = (
  stream: Stream.Stream<Uint8Array, unknown>,
  name: Line["stream"],
  pid: number,
  maxLineLength: number,
  delivery: Delivery
): Effect.Effect<void> => {
  const splitter = new LineSplitter(maxLineLength)
  const send = (pieces: Array<Piece>) =>
    Effect.forEach(
      pieces,
      (piece) => deliver(delivery, { stream: name, text: piece.text, pid, continues: piece.continues }),
      {
        discard: true
      }
    )
  return Stream.runForEach(stream, (chunk) => send(splitter.push(chunk))).pipe(
    Effect.ignore,
    Effect.zipRight(Effect.suspend(() => send(splitter.end()))),
    Effect.annotateLogs({ task: delivery.task, stream: name, pid })
  )
}
