/**
 * The shape of `src/internal` (docs/ARCHITECTURE.md): every file sits in a
 * layer and opens with one line saying what it owns, and the lint rule that
 * keeps the layers (`local/internal-layers`) refuses an import that runs back
 * up or into a public module.
 */
import { assert, describe, it } from "@effect/vitest"
import { Linter } from "eslint"
import * as fs from "node:fs"
import * as path from "node:path"
import tseslint from "typescript-eslint"
import layering, { layers } from "../eslint/internal-layers.mjs"

const root = path.resolve(import.meta.dirname, "..")
const internal = path.join(root, "src/internal")

const internalFiles = (fs.readdirSync(internal, { recursive: true }) as Array<string>)
  .filter((file) => file.endsWith(".ts"))

/** The rule's messages for a file at `file` (under the repository) that imports `specifier`. */
const lint = (file: string, specifier: string): Array<string> =>
  new Linter({ configType: "flat", cwd: root }).verify(
    `import { x } from "${specifier}"\nexport const y = x\n`,
    [{
      files: ["**/*.ts"],
      languageOptions: { parser: tseslint.parser },
      plugins: { local: layering },
      rules: { "local/internal-layers": "error" }
    }],
    path.join(root, file)
  ).map((message) => message.message)

describe("the layers of src/internal", () => {
  it("every file is in a folder that is a layer, and opens with one line saying what it owns", () => {
    assert.isNotEmpty(internalFiles)
    for (const file of internalFiles) {
      const folder = file.split(path.sep)[0]
      assert.include(layers, folder, `${file} is in a layer`)
      const first = fs.readFileSync(path.join(internal, file), "utf8").split("\n")[0]
      assert.match(first, /^\/\*\* \S.* \*\/$/, `${file} opens with a one-line comment`)
    }
  })

  it("the lint rule lets a module import its own layer and those below, and nothing above or public", () => {
    assert.deepStrictEqual(lint("src/internal/actor/x.ts", "./actor.js"), [])
    assert.deepStrictEqual(lint("src/internal/actor/x.ts", "../data/taskOutcome.js"), [])
    assert.deepStrictEqual(lint("src/internal/data/x.ts", "../actor/actor.js"), [
      "the data layer imports ../actor/actor.js, of the actor layer above it"
    ])
    assert.deepStrictEqual(lint("src/internal/config/x.ts", "../../RestartPolicy.js"), [
      "the config layer imports the public module ../../RestartPolicy.js"
    ])
    assert.deepStrictEqual(lint("src/internal/x.ts", "./data/taskOutcome.js"), [
      `x.ts is in no layer: move it into one of ${layers.join(", ")}`
    ])
    // a public module may import anything internal
    assert.deepStrictEqual(lint("src/TaskSupervisor.ts", "./internal/http/dashboard.js"), [])
  })
})
