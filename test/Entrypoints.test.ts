/**
 * The scripts `npm run bench`, `soak`, `demo` and `example` start outside vitest: nothing they import, however
 * indirectly (a bench row may reuse a test fixture), may import vitest, whose hooks throw outside a test run. Nor
 * may the test kit (`src/testing.ts`): it serves any test runner, and the package does not depend on vitest.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

/** The local files `file` imports (relative specifiers, `.js` read as its `.ts` source) and the packages it imports. */
const importsOf = (file: string) => {
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true)
  const local: Array<string> = []
  const packages: Array<string> = []
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith(".")) {
      packages.push(fileName)
      continue
    }
    const target = path.resolve(path.dirname(file), fileName)
    const source = [target.replace(/\.js$/, ".ts"), target.replace(/\.mjs$/, ".mts"), target].find((candidate) =>
      fs.existsSync(candidate) && fs.statSync(candidate).isFile()
    )
    if (source !== undefined) local.push(source)
  }
  return { local, packages }
}

/** Every chain of imports from `entry` that reaches vitest, as `a.ts → b.ts → vitest`. */
const vitestChains = (entry: string): Array<string> => {
  const chains: Array<string> = []
  const seen = new Set<string>()
  const visit = (file: string, chain: ReadonlyArray<string>) => {
    if (seen.has(file)) return
    seen.add(file)
    const here = [...chain, path.relative(root, file)]
    const { local, packages } = importsOf(file)
    for (const name of packages) if (/^(@effect\/)?vitest(\/|$)/.test(name)) chains.push([...here, name].join(" → "))
    for (const next of local) visit(next, here)
  }
  visit(entry, [])
  return chains
}

const entries = [
  "bench/run.ts",
  "bench/soak.ts",
  "src/testing.ts",
  ...fs.readdirSync(path.join(root, "examples")).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .map((name) => `examples/${name}`)
]

describe("entry points", () => {
  it("the bench, the soak, the examples and the test kit import nothing of vitest, however indirectly", () => {
    assert.includeMembers(entries, ["bench/run.ts", "examples/demo.ts", "examples/cluster_fleet.ts", "src/testing.ts"])
    for (const entry of entries) assert.deepStrictEqual(vitestChains(path.join(root, entry)), [], entry)
  })

  it("the check sees an import of vitest through a chain of local files", () => {
    const chains = vitestChains(path.join(root, "test/utils/usePostgres.ts"))
    assert.deepStrictEqual(chains, ["test/utils/usePostgres.ts → @effect/vitest"])
  })
})
