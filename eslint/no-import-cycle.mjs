/**
 * `local/no-import-cycle`: fails on any import cycle among the project's own
 * modules, type-only imports included. Every relative `import`/`export … from`
 * of a file is followed through the files on disk; an import whose target leads
 * back to the importing file is reported with the whole cycle.
 */
import fs from "node:fs"
import path from "node:path"
import ts from "typescript"

const resolveImport = (from, specifier) => {
  const target = path.resolve(path.dirname(from), specifier)
  return target.endsWith(".js") ? target.slice(0, -3) + ".ts" : target
}

/**
 * The relative imports of a file, as TypeScript's own scanner lists them
 * (`import`, `import type`, `export … from`, bare `import "./x.js"`), cached
 * by modification time so that an editor's long-lived lint process sees edits.
 */
const importsOf = (() => {
  const cache = new Map()
  return (file) => {
    const mtime = fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1
    const cached = cache.get(file)
    if (cached !== undefined && cached.mtime === mtime) return cached.imports
    const text = mtime < 0 ? "" : fs.readFileSync(file, "utf8")
    const imports = ts.preProcessFile(text, true, false).importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => resolveImport(file, specifier))
    cache.set(file, { mtime, imports })
    return imports
  }
})()

/** A path of imports from `start` back to `goal`, or undefined. */
const pathBack = (start, goal) => {
  const seen = new Set()
  const walk = (file) => {
    if (file === goal) return [file]
    if (seen.has(file)) return undefined
    seen.add(file)
    for (const next of importsOf(file)) {
      const rest = walk(next)
      if (rest !== undefined) return [file, ...rest]
    }
    return undefined
  }
  return walk(start)
}

export default {
  rules: {
    "no-import-cycle": {
      meta: {
        type: "problem",
        docs: { description: "no import cycle among the project's modules, type-only imports included" },
        schema: []
      },
      create(context) {
        const file = context.filename
        const check = (node) => {
          if (node.source === null || node.source === undefined) return
          const specifier = node.source.value
          if (typeof specifier !== "string" || !specifier.startsWith(".")) return
          const cycle = pathBack(resolveImport(file, specifier), file)
          if (cycle !== undefined) {
            const names = [file, ...cycle].map((f) => path.relative(path.dirname(file), f) || path.basename(f))
            context.report({ node, message: `import cycle: ${names.join(" → ")}` })
          }
        }
        return {
          ImportDeclaration: check,
          ExportNamedDeclaration: check,
          ExportAllDeclaration: check
        }
      }
    }
  }
}
