/** The types of `internal-layers.mjs`, for the test that checks the rule. */
import type { ESLint } from "eslint"

/** The layers of `src/internal`, bottom first. */
export declare const layers: ReadonlyArray<string>

declare const plugin: ESLint.Plugin
export default plugin
