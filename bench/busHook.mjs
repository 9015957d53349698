/**
 * Module hook of `bench/bus.ts`: inside the compiled library, every import of its bus module
 * resolves to `bench/busSwitch.ts`, which builds the bus the comparison chose (and re-exports the
 * rest); the bench's own modules still reach the shipped bus.
 */
import { URL } from "node:url"

const switchUrl = new URL("./busSwitch.ts", import.meta.url).href
const distUrl = new URL("../dist/", import.meta.url).href

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  return resolved.url === `${distUrl}internal/events/bus.js` && context.parentURL?.startsWith(distUrl)
    ? { url: switchUrl, shortCircuit: true }
    : resolved
}
