/**
 * `local/internal-layers`: the folders of `src/internal` are layers, listed
 * below from the bottom up; a module imports only from its own layer or from
 * layers below it, and never from a public module (`src/*.ts`), which sit on
 * top of every layer. Type-only imports count too.
 */
import path from "node:path"

/** The layers of `src/internal`, bottom first. */
export const layers = [
  "data",
  "primitives",
  "effectInternals",
  "events",
  "config",
  "task",
  "group",
  "actor",
  "supervisor",
  "controller",
  "cluster",
  "process",
  "http"
]

/** The layer of a file under `src/internal` (`-1` for a file there in no layer), or `undefined` outside it. */
const layerOf = (file) => {
  const parts = file.split(path.sep)
  const at = parts.lastIndexOf("internal")
  if (at < 1 || parts[at - 1] !== "src") return undefined
  return parts.length === at + 2 ? -1 : layers.indexOf(parts[at + 1])
}

export default {
  rules: {
    "internal-layers": {
      meta: {
        type: "problem",
        docs: { description: "src/internal imports only from its own layer or the layers below it" },
        schema: []
      },
      create(context) {
        const file = context.filename
        const own = layerOf(file)
        if (own === undefined) return {}
        const check = (node) => {
          const specifier = node.source?.value
          if (typeof specifier !== "string" || !specifier.startsWith(".")) return
          const target = path.resolve(path.dirname(file), specifier)
          const theirs = layerOf(target)
          const name = (layer) => layers[layer] ?? "no layer"
          if (own < 0) {
            context.report({
              node,
              message: `${path.basename(file)} is in no layer: move it into one of ${layers.join(", ")}`
            })
          } else if (theirs === undefined) {
            context.report({ node, message: `the ${name(own)} layer imports the public module ${specifier}` })
          } else if (theirs < 0 || theirs > own) {
            context.report({
              node,
              message: `the ${name(own)} layer imports ${specifier}, of the ${name(theirs)} layer above it`
            })
          }
        }
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check }
      }
    }
  }
}
