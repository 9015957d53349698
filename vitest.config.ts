import * as path from "node:path"
import { defineConfig } from "vitest/config"

const src = path.resolve(import.meta.dirname, "src")

export default defineConfig({
  // as a reader's project resolves the package: examples/testing.test.ts imports it by name
  resolve: {
    alias: [
      { find: /^effect-taskvisor$/, replacement: path.join(src, "index.ts") },
      { find: /^effect-taskvisor\/(.*)$/, replacement: path.join(src, "$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    sequence: { concurrent: false },
    // two files at a time, also on a 2-core machine (Vitest's default there is one): the files with real processes,
    // PostgreSQL and Chromium mostly wait on real time, which the TestClock files fill (npm test: about 300 s with
    // one worker, 220 s with two)
    maxWorkers: 2,
    minWorkers: 1
  }
})
