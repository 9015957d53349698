/**
 * `local/no-import-cycle`: fails on any import cycle among the project's own
 * modules, type-only imports included. Every relative `import`/`export … from`
 * of a file is followed through the files on disk; an import whose target leads
 * back to the importing file is reported with the whole cycle.
 */
import fs from "node:fs"
import path from "node:path"

const specifiers = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/gms

const resolveImport = (from, specifier) => {
  const target = path.resolve(path.dirname(from), specifier)
  return target.endsWith(".js") ? target.slice(0, -3) + ".ts" : target
}

/** The relative imports of a file, read once per lint run. */
const importsOf = (() => {
  const cache = new Map()
  return (file) => {
    let imports = cache.get(file)
    if (imports === undefined) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
      imports = [...text.matchAll(specifiers)].map((m) => resolveImport(file, m[1]))
      cache.set(file, imports)
    }
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
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check }
      }
    }
  }
}
