/**
 * Every TypeScript block of the README compiles on its own, as a reader would
 * paste it into a file of their project (`effect-taskvisor` resolves to `src/`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

/** The README's ```ts blocks with the line each starts on. */
const blocks = (): ReadonlyArray<{ readonly line: number; readonly code: string }> => {
  const lines = fs.readFileSync(path.join(root, "README.md"), "utf8").split("\n")
  const found: Array<{ line: number; code: string }> = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end].trim() !== "```") end++
    found.push({ line: start + 1, code: lines.slice(start, end).join("\n") })
    i = end
  }
  return found
}

const compilerOptions = (): ts.CompilerOptions => {
  const base = ts.readConfigFile(path.join(root, "tsconfig.base.json"), ts.sys.readFile).config
  const { options } = ts.convertCompilerOptionsFromJson(base.compilerOptions, root)
  return {
    ...options,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    noEmit: true,
    baseUrl: root,
    paths: { "effect-taskvisor": ["./src/index.ts"] }
  }
}

describe("README", () => {
  it("every ts block type-checks on its own", { timeout: 60_000 }, () => {
    const snippets = blocks()
    assert.isAbove(snippets.length, 0, "the README shows code")
    const files = new Map(snippets.map((s) => [path.join(root, `readme-snippet-${s.line}.ts`), s.code]))
    const options = compilerOptions()
    const host = ts.createCompilerHost(options)
    const getSourceFile = host.getSourceFile
    host.getSourceFile = (name, language, onError, create) => {
      const code = files.get(path.resolve(name))
      return code !== undefined
        ? ts.createSourceFile(name, code, language, true)
        : getSourceFile.call(host, name, language, onError, create)
    }
    const fileExists = host.fileExists
    host.fileExists = (name) => files.has(path.resolve(name)) || fileExists.call(host, name)
    const program = ts.createProgram([...files.keys()], options, host)
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.has(path.resolve(d.file.fileName)))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const snippetLine = Number(/readme-snippet-(\d+)/.exec(d.file!.fileName)![1])
        return `README.md:${snippetLine + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    assert.deepStrictEqual(problems, [])
  })
})
