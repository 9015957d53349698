/**
 * A headless Chromium for the browser tests, found without a system install:
 * `CHROMIUM_PATH` if set, else a system Chromium, else (on Linux) the one
 * `@sparticuz/chromium` ships inside its npm package, unpacked on first use.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import { type Browser, chromium } from "playwright-core"

/** Where Debian, Ubuntu and Fedora put their Chromium. */
const systemPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]

/** Flags for a headless browser run as root on a closed network: no sandbox, no background connections. */
const flags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const howToPoint = "set CHROMIUM_PATH to a Chromium or Chrome executable"

/** The executable to launch and the flags it needs, or why there is none. */
const locate = async (): Promise<{ readonly executablePath: string; readonly args: ReadonlyArray<string> }> => {
  const configured = process.env.CHROMIUM_PATH
  if (configured !== undefined && configured !== "") {
    if (!fs.existsSync(configured)) throw new Error(`CHROMIUM_PATH is ${configured}, which does not exist`)
    return { executablePath: configured, args: flags }
  }
  const system = systemPaths.find((candidate) => fs.existsSync(candidate))
  if (system !== undefined) return { executablePath: system, args: flags }
  if (process.platform !== "linux") {
    throw new Error(`no Chromium found: the bundled one (@sparticuz/chromium) runs on Linux only; ${howToPoint}`)
  }
  const { default: bundled } = await import("@sparticuz/chromium")
  return { executablePath: await bundled.executablePath(), args: [...bundled.args, ...flags] }
}

/** A headless Chromium, closed with the scope. */
export const browser: Effect.Effect<Browser, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const { args, executablePath } = await locate()
    return chromium.launch({ executablePath, headless: true, args: [...new Set(args)] })
  }),
  (launched) => Effect.promise(() => launched.close())
)
