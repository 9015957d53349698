import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    sequence: { concurrent: false },
    // two files at a time, also on a 2-core machine (Vitest's default there is one): the files with real processes,
    // PostgreSQL and Chromium mostly wait on real time, which the TestClock files fill (npm test: about 300 s with
    // one worker, 220 s with two)
    maxWorkers: 2,
    minWorkers: 1
  }
})
