/**
 * The package as npm ships it. `npm pack` (whose `prepack` builds `dist/`)
 * packs it into a temporary directory, and an empty ESM project there runs the
 * README's install lines, read from its "Install" section, with the tarball
 * for `effect-taskvisor`. In that project a plain `node` imports the root and
 * every public module (`src/<Module>.ts`) while `./internal/*` stays closed,
 * `tsc` type-checks the OpenTelemetry examples against the installed package,
 * and npm has kept one copy of each OpenTelemetry package.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

/**
 * Measured on a 2-core machine: packing builds the package (about 10 s from a fresh clone, up to 40 s loaded) and
 * each install line resolves a tree (5 to 30 s, the registry's answers included), 20 to 40 s in all. The budget
 * leaves room for a loaded machine and a slow registry.
 */
const setupBudget = 300_000

/** `src/<Module>.ts` beside `index.ts`: each is a subpath export `effect-taskvisor/<Module>`. */
const publicModules = fs.readdirSync(path.join(root, "src"))
  .filter((name) => name.endsWith(".ts") && name !== "index.ts")
  .map((name) => name.slice(0, -3))
  .sort()

/** The namespaces `src/index.ts` re-exports (`export * as X from "./X.js"`). */
const rootNamespaces = [...fs.readFileSync(path.join(root, "src/index.ts"), "utf8").matchAll(/export \* as (\w+)/g)]
  .map((match) => match[1])
  .sort()

/** Every internal module, as its path under `src/internal` without the extension (`actor/actor`). */
const internalModules = (fs.readdirSync(path.join(root, "src/internal"), { recursive: true }) as Array<string>)
  .filter((name) => name.endsWith(".ts"))
  .map((name) => name.slice(0, -3))

interface Ran {
  readonly code: number | null
  readonly stdout: string
  /** stdout and stderr as they came. */
  readonly output: string
}

const running = new Set<number>()

/**
 * Run a command in a process group of its own, with its output; past `timeout` the whole group (npm and the
 * scripts it started) is killed, so nothing outlives the test.
 */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeout: number): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, npm_config_update_notifier: "false" }
    })
    let stdout = ""
    let output = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      output += chunk
    })
    child.stderr.on("data", (chunk) => output += chunk)
    const pid = child.pid!
    running.add(pid)
    const timer = setTimeout(() => {
      killGroup(pid)
      reject(new Error(`${command} ${args.join(" ")} took more than ${timeout} ms:\n${output}`))
    }, timeout)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      running.delete(pid)
      resolve({ code, stdout, output })
    })
  })

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // the group has ended
  }
  running.delete(pid)
}

/** `run`, failing with the command's output unless it exits 0. */
const succeed = async (command: string, args: ReadonlyArray<string>, cwd: string, timeout: number) => {
  const ran = await run(command, args, cwd, timeout)
  if (ran.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${ran.code}:\n${ran.output}`)
  return ran.stdout
}

/**
 * Whether `version` is in `range`: the forms the README writes (`1.2.3`, `^1.2.3`, `~1.2.3`), anything else an
 * error, so that a new form is looked at rather than waved through.
 */
const satisfies = (version: string, range: string): boolean => {
  const match = /^([\^~]?)(\d+)\.(\d+)\.(\d+)$/.exec(range)
  if (match === null) throw new Error(`a range the test does not read: ${range}`)
  const want = match.slice(2).map(Number)
  const have = version.split("-")[0].split(".").map(Number)
  const fixed = match[1] === "" ? 3 : match[1] === "~" ? 2 : want[0] > 0 ? 1 : want[1] > 0 ? 2 : 3
  for (let i = 0; i < fixed; i++) if (have[i] !== want[i]) return false
  for (let i = fixed; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i]
  return true
}

/** The `npm i` lines of the README's Install section, each as its arguments, continuation lines joined. */
const installLines = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("\n## Install\n")
  assert.isAtLeast(start, 0, "the README has an Install section")
  const end = readme.indexOf("\n## ", start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1].replace(/\\\n/g, " ").split("\n"))
    .map((line) => line.trim())
    .filter((line) => line.startsWith("npm i "))
  return lines.map((line) => line.slice("npm i ".length).split(/\s+/).filter((arg) => arg !== ""))
}

/** The version our lockfile installed of `name`, if any. */
const locked = (() => {
  const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"))
  return (name: string): string | undefined => lock.packages[`node_modules/${name}`]?.version
})()

const peers = new Set(
  Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).peerDependencies)
)

/**
 * A README argument as the test installs it: our tarball for the package, our peer dependencies at the versions
 * of our lockfile (the ones our tests ran against), anything else as the README writes it, so that what npm
 * resolves for the OpenTelemetry line is what a reader gets. Whatever our lockfile has must be in the README's range.
 */
const asInstalled = (arg: string, tarball: string): string => {
  if (arg === "effect-taskvisor") return tarball
  const at = arg.lastIndexOf("@")
  assert.isAbove(at, 0, `${arg}: the README names a version`)
  const name = arg.slice(0, at)
  const range = arg.slice(at + 1)
  const version = locked(name)
  if (version === undefined) return arg
  assert.isTrue(satisfies(version, range), `${arg}: our lockfile has ${name}@${version}, outside the README's range`)
  return peers.has(name) ? `${name}@${version}` : arg
}

/** Every version of every package under `node_modules`, by name (from `npm ls --all --json`). */
const versionsOf = (tree: { dependencies?: Record<string, any> }) => {
  const found = new Map<string, Set<string>>()
  const walk = (node: { dependencies?: Record<string, any> }) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.version !== undefined) {
        const versions = found.get(name) ?? new Set<string>()
        found.set(name, versions.add(child.version))
      }
      walk(child)
    }
  }
  walk(tree)
  return found
}

describe("the packed package", () => {
  let tmp = ""
  let consumer = ""

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "taskvisor-package-"))
    consumer = path.join(tmp, "consumer")
    await succeed("npm", ["pack", "--pack-destination", tmp, "--loglevel=error"], root, setupBudget)
    const tarballs = fs.readdirSync(tmp).filter((name) => name.endsWith(".tgz"))
    assert.strictEqual(tarballs.length, 1, "npm pack made one tarball")
    const tarball = path.join(tmp, tarballs[0])
    fs.mkdirSync(consumer)
    fs.writeFileSync(
      path.join(consumer, "package.json"),
      JSON.stringify({ name: "taskvisor-consumer", private: true, type: "module" }, null, 2)
    )
    const lines = installLines()
    assert.isAtLeast(lines.length, 3, "the core, the HTTP endpoint and OpenTelemetry")
    assert.include(lines[0], "effect-taskvisor", "the first line installs the package")
    for (const line of lines) {
      await succeed(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", ...line.map((arg) => asInstalled(arg, tarball))],
        consumer,
        setupBudget
      )
    }
  }, setupBudget)

  // removing the consumer's node_modules took over 10 s (the default hook timeout) on the 2-core machine under load
  afterAll(() => {
    for (const pid of running) killGroup(pid)
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  }, 60_000)

  /** Each specifier imported by a plain node process in the consumer project: its export names, or the error's code. */
  const importEach = async (
    specifiers: ReadonlyArray<string>
  ): Promise<Record<string, ReadonlyArray<string> | string>> => {
    const script = `
      const found = {}
      for (const specifier of process.argv.slice(1)) {
        try {
          found[specifier] = Object.keys(await import(specifier)).sort()
        } catch (error) {
          found[specifier] = error.code ?? String(error)
        }
      }
      console.log(JSON.stringify(found))
    `
    return JSON.parse(
      await succeed(process.execPath, ["--input-type=module", "-e", script, ...specifiers], consumer, 60_000)
    )
  }

  it("a plain node process imports the root and every public module, each with its exports", async () => {
    const specifiers = ["effect-taskvisor", ...publicModules.map((name) => `effect-taskvisor/${name}`)]
    const found = await importEach(specifiers)
    assert.isAbove(publicModules.length, 10, "the modules are found in src/")
    for (const specifier of specifiers) {
      const keys = found[specifier]
      assert.isArray(keys, `${specifier}: ${keys}`)
      assert.isNotEmpty(keys, `${specifier} has exports`)
    }
    assert.deepStrictEqual(found["effect-taskvisor"], rootNamespaces, "the root holds the namespaces of src/index.ts")
  }, 60_000)

  it("./internal/* is closed, with or without an extension", async () => {
    const specifiers = internalModules.flatMap((name) => [
      `effect-taskvisor/internal/${name}`,
      `effect-taskvisor/internal/${name}.js`
    ])
    const found = await importEach(specifiers)
    assert.isNotEmpty(specifiers)
    for (const specifier of specifiers) assert.strictEqual(found[specifier], "ERR_PACKAGE_PATH_NOT_EXPORTED", specifier)
  }, 60_000)

  it("npm keeps one copy of each OpenTelemetry package, @opentelemetry/sdk-metrics among them", async () => {
    const ls = await run("npm", ["ls", "--all", "--json"], consumer, 60_000)
    assert.strictEqual(ls.code, 0, `npm ls finds no invalid or missing package:\n${ls.output}`)
    const versions = versionsOf(JSON.parse(ls.stdout))
    assert.strictEqual([...versions.get("@opentelemetry/sdk-metrics") ?? []].length, 1, "one sdk-metrics")
    const copies = [...versions].filter(([name]) => name.startsWith("@opentelemetry/"))
      .filter(([, found]) => found.size > 1)
      .map(([name, found]) => `${name}: ${[...found].join(", ")}`)
    assert.deepStrictEqual(copies, [])
  }, 60_000)

  it("examples/metrics.ts and examples/tracing.ts type-check against the installed package", async () => {
    for (const example of ["metrics.ts", "tracing.ts"]) {
      fs.copyFileSync(path.join(root, "examples", example), path.join(consumer, example))
    }
    // a reader's project: strict NodeNext ESM, `effect-taskvisor` resolved by its exports map to the tarball's dist/
    fs.writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2022"],
          types: ["node"],
          typeRoots: [path.join(root, "node_modules/@types")],
          skipLibCheck: true,
          noEmit: true
        },
        files: ["metrics.ts", "tracing.ts"]
      })
    )
    const tsc = path.join(root, "node_modules/typescript/bin/tsc")
    const checked = await run(process.execPath, [tsc, "-p", consumer, "--pretty", "false"], consumer, 120_000)
    assert.strictEqual(checked.code, 0, checked.output)
  }, 120_000)
})
