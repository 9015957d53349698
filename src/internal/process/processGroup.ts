/** A child's process group: signalling it, waiting until it is gone, stopping it, and the memory it holds. */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"

/** Sends a signal to every process of the group; whether one was there to receive it. */
const signal = (pgid: number, name: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pgid, name)
    return true
  } catch (error) {
    // EPERM: a member is there, one this process may not signal
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** What the stop watches of the group's leader: its pid (the group's id), whether it runs, and its exit. */
export interface Leader {
  readonly pid: number
  readonly isRunning: Effect.Effect<boolean, unknown>
  readonly exitCode: Effect.Effect<unknown, unknown>
}

/** The processes of a group and their state (`Z`: ended, not yet reaped), read from /proc (Linux). */
const membersFromProc = (pgid: number): Promise<Array<{ readonly pid: string; readonly state: string }>> =>
  Fs.readdir("/proc").then((entries) =>
    Promise.all(
      entries.filter((entry) => /^\d+$/.test(entry)).map((pid) =>
        Fs.readFile(`/proc/${pid}/stat`, "utf8").then(
          (stat) => {
            // the fields after the command name, which may hold spaces and parentheses: state, ppid, pgrp
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
            return Number(fields[2]) === pgid ? [{ pid, state: fields[0] }] : []
          },
          () => [] // it ended meanwhile
        )
      )
    ).then((found) => found.flat())
  )

/**
 * Whether a process of the group has not ended. Once the leader has
 * exited, what is left may be zombies, ended processes their new parent (init,
 * or a subreaper) has not reaped yet; on Linux they do not count.
 */
const living = (leader: Leader): Effect.Effect<boolean> =>
  Effect.flatMap(
    Effect.orElseSucceed(leader.isRunning, () => false),
    (running) =>
      running ? Effect.succeed(true) : !signal(leader.pid, 0) ? Effect.succeed(false) : process.platform !== "linux"
        ? Effect.succeed(true)
        : Effect.promise(() =>
          membersFromProc(leader.pid).then((members) => members.some((member) => member.state !== "Z"), () => true)
        )
  )

/**
 * Whether a process of the group still runs after waiting up to `within`
 * for none to: the leader's exit is awaited (an event), what it left is
 * polled (no event tells when the last member is gone). It runs where the
 * stop runs, in a finalizer: its waits are made interruptible for the
 * deadline to end them.
 */
const stillThere = (leader: Leader, within: Duration.Duration): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const began = yield* Clock.currentTimeMillis
    const exited = yield* Effect.interruptible(Effect.ignore(leader.exitCode)).pipe(
      Effect.timeout(within),
      Effect.option
    )
    if (Option.isNone(exited)) return true
    const left = Duration.subtract(within, Duration.millis((yield* Clock.currentTimeMillis) - began))
    yield* Effect.repeat(living(leader), {
      schedule: Schedule.upTo(Schedule.spaced("10 millis"), left),
      while: (running) => running
    })
    return yield* living(leader)
  })

/**
 * Stops every process of the group: SIGTERM, then SIGKILL to those left
 * after `killAfter`, and ends once none runs and the leader's exit is
 * known. A group still running a further `killAfter` (at least a second)
 * after SIGKILL is reported at Warning level and let go.
 */
export const stop = (leader: Leader, killAfter: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (signal(leader.pid, "SIGTERM") && (yield* stillThere(leader, killAfter)) && signal(leader.pid, "SIGKILL")) {
      if (yield* stillThere(leader, Duration.max(killAfter, Duration.seconds(1)))) {
        return yield* Effect.logWarning(`process group ${leader.pid} still runs after SIGKILL; it is let go`)
      }
    }
    yield* Effect.ignore(leader.exitCode)
  }).pipe(Effect.uninterruptible)

/** The resident memory of the processes of a group, in bytes, read from /proc (Linux). */
const rssFromProc = (pgid: number): Promise<number> =>
  membersFromProc(pgid).then((members) =>
    Promise.all(members.map((member) => residentOf(member.pid))).then((sizes) =>
      sizes.reduce((sum, size) => sum + size, 0)
    )
  )

const residentOf = (pid: string): Promise<number> =>
  Fs.readFile(`/proc/${pid}/status`, "utf8").then(
    (status) => {
      const kibibytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)
      return kibibytes === null ? 0 : Number(kibibytes[1]) * 1024
    },
    () => 0
  )

/** The same, read from `ps` (other systems), whose `rss` is in KiB. */
const rssFromPs = (pgid: number): Promise<number> =>
  new Promise((resolve, reject) =>
    ChildProcess.execFile("ps", ["-A", "-o", "pgid=,rss="], (error, stdout) => {
      if (error !== null) return reject(error)
      let sum = 0
      for (const row of stdout.split("\n")) {
        const [group, rss] = row.trim().split(/\s+/)
        if (Number(group) === pgid) sum += Number(rss) * 1024
      }
      resolve(sum)
    })
  )

/** The resident memory of a process group, in bytes; a sample that cannot be read counts as 0. */
export const rss = (pgid: number): Effect.Effect<number> =>
  Effect.promise(() => (process.platform === "linux" ? rssFromProc(pgid) : rssFromPs(pgid)).catch(() => 0))
