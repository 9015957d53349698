/** The PostgreSQL server of a test file: started before its tests, stopped after them (vitest's hooks). */
import { afterAll, beforeAll } from "@effect/vitest"
import { type Postgres, start } from "./postgres.js"

/**
 * A server for the tests of the calling file (or `describe`): started before them, stopped after them; the
 * function returns it once started.
 */
export const usePostgres = (): () => Postgres => {
  let postgres: Postgres | undefined
  beforeAll(async () => {
    postgres = await start()
  }, 60_000)
  afterAll(async () => {
    if (postgres !== undefined) await postgres.stop()
  }, 30_000)
  return () => postgres!
}
