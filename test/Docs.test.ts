/**
 * Every TypeScript block of the README, and every `@example` of the sources'
 * JSDoc, compiles on its own, as a reader would paste it into a file of their
 * project (`effect-taskvisor` resolves to `src/`); and the README lists the examples.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

interface Block {
  /** Where it is shown, as `file:line`. */
  readonly at: string
  readonly code: string
}

/** The ```ts blocks of a text, `strip` taking each line's decoration off (a JSDoc ` * `). */
const blocksOf = (file: string, strip: (line: string) => string): ReadonlyArray<Block> => {
  const lines = fs.readFileSync(path.join(root, file), "utf8").split("\n").map(strip)
  const found: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end].trim() !== "```") end++
    found.push({ at: `${file}:${start + 1}`, code: lines.slice(start, end).join("\n") })
    i = end
  }
  return found
}

const blocks = (): ReadonlyArray<Block> => [
  ...blocksOf("README.md", (line) => line),
  ...fs.readdirSync(path.join(root, "src"))
    .filter((name) => name.endsWith(".ts"))
    .flatMap((name) => blocksOf(`src/${name}`, (line) => line.replace(/^\s*\* ?/, "")))
]

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
    // an example may declare what it only illustrates
    noUnusedLocals: false,
    baseUrl: root,
    paths: { "effect-taskvisor": ["./src/index.ts"], "effect-taskvisor/*": ["./src/*.ts"] }
  }
}

/** The names in the README's "More in examples/" paragraph, in backticks. */
const examplesListed = (): ReadonlyArray<string> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("More in [`examples/`](examples):")
  assert.isAtLeast(start, 0, "the README lists the examples")
  const paragraph = readme.slice(start, readme.indexOf("\n\n", start))
  const sentence = paragraph.slice(0, paragraph.indexOf("; each runs with"))
  return [...sentence.matchAll(/`(\w+)`/g)].map((match) => match[1]).sort()
}

describe("docs", () => {
  // a `*.test.ts` of examples/ is a test Vitest runs, not a program `npm run example` starts: the README shows it
  // where it tells how to test, not in that list
  it("the README's list of examples names every program of examples/, and nothing else", () => {
    const files = fs.readdirSync(path.join(root, "examples"))
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
      .map((name) => name.slice(0, -3))
      .sort()
    assert.isNotEmpty(files)
    assert.deepStrictEqual(examplesListed(), files)
  })

  it("the README's Testing section shows examples/testing.test.ts as it is, after its opening comment", () => {
    const example = fs.readFileSync(path.join(root, "examples/testing.test.ts"), "utf8")
    const code = example.slice(example.indexOf("*/\n") + 3).trim()
    assert.include(blocksOf("README.md", (line) => line).map((block) => block.code.trim()), code)
  })

  it("every ts block of the README and every @example type-checks on its own", { timeout: 60_000 }, () => {
    const snippets = blocks()
    assert.isAbove(snippets.filter((b) => b.at.startsWith("README")).length, 0, "the README shows code")
    assert.isAbove(snippets.filter((b) => b.at.startsWith("src/")).length, 3, "the sources show examples")
    const files = new Map(snippets.map((b, i) => [path.join(root, `docs-snippet-${i}.ts`), b]))
    const options = compilerOptions()
    const host = ts.createCompilerHost(options)
    const getSourceFile = host.getSourceFile
    host.getSourceFile = (name, language, onError, create) => {
      const block = files.get(path.resolve(name))
      return block !== undefined
        ? ts.createSourceFile(name, block.code, language, true)
        : getSourceFile.call(host, name, language, onError, create)
    }
    const fileExists = host.fileExists
    host.fileExists = (name) => files.has(path.resolve(name)) || fileExists.call(host, name)
    const program = ts.createProgram([...files.keys()], options, host)
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.has(path.resolve(d.file.fileName)))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const block = files.get(path.resolve(d.file!.fileName))!
        return `${block.at} (+${line}): ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    assert.deepStrictEqual(problems, [])
  })
})
