import { buildSync } from "esbuild"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const fixtures = Path.join(import.meta.dirname, "../fixtures/worker")

/** The worker fixtures, of test/fixtures/worker. */
export type Fixture = "square" | "behave"

let built: string | undefined

/**
 * A worker fixture bundled to JavaScript in a directory of its own (Node 20
 * does not load TypeScript in a worker thread), once per test process; the
 * directory is removed by `removeWorkerModules`.
 */
export const workerModule = (fixture: Fixture): string => {
  if (built === undefined) {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskvisor-workers-"))
    buildSync({
      entryPoints: [Path.join(fixtures, "square.ts"), Path.join(fixtures, "behave.ts")],
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "error",
      // bundled CommonJS dependencies may require Node's modules
      banner: { js: "import { createRequire } from \"node:module\"; const require = createRequire(import.meta.url);" }
    })
    built = dir
  }
  return Path.join(built, `${fixture}.mjs`)
}

/** The threads of this process (Linux: /proc/self/task), worker threads among them. */
export const threadCount = (): number => Fs.readdirSync("/proc/self/task").length

/** Removes the bundled fixtures (a test file's `afterAll`). */
export const removeWorkerModules = (): void => {
  if (built !== undefined) Fs.rmSync(built, { recursive: true, force: true })
  built = undefined
}

/**
 * A worker answering a `Behave` request with "spinning", then never yielding:
 * plain JavaScript speaking WorkerRunner's protocol, which starts in
 * milliseconds where a bundle of Effect takes a few hundred.
 */
export const spinner: string = Path.join(fixtures, "spin.mjs")
