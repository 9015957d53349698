/** A child's process group: signalling it, waiting until it is gone, stopping it, and the memory it holds. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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

/** Whether a process of the group is left (a zombie not yet reaped counts). */
export const alive = (pgid: number): boolean => signal(pgid, 0)

/**
 * Whether a process of the group is still there after waiting up to
 * `within` for none to be left (polled: no event tells when the last member
 * is gone). It runs where the stop runs, in a finalizer: a deadline it checks,
 * not an interruption, ends the wait.
 */
const stillThere = (pgid: number, within: Duration.Duration): Effect.Effect<boolean> => {
  const check = Effect.sync(() => alive(pgid))
  return Effect.zipRight(
    Effect.repeat(check, { schedule: Schedule.upTo(Schedule.spaced("10 millis"), within), while: (left) => left }),
    check
  )
}

/**
 * Stops every process of the group: SIGTERM, then SIGKILL to those left
 * after `killAfter`, and ends once none is left and the leader's exit is
 * known. A group still there a further `killAfter` (at least a second) after
 * SIGKILL (zombies that no process reaps) is reported at Warning level and
 * let go.
 */
export const stop = (
  pgid: number,
  leaderExit: Effect.Effect<unknown>,
  killAfter: Duration.Duration
): Effect.Effect<unknown> =>
  Effect.gen(function*() {
    if (signal(pgid, "SIGTERM") && (yield* stillThere(pgid, killAfter)) && signal(pgid, "SIGKILL")) {
      if (yield* stillThere(pgid, Duration.max(killAfter, Duration.seconds(1)))) {
        return yield* Effect.logWarning(`process group ${pgid} is still there after SIGKILL; it is let go`)
      }
    }
    return yield* leaderExit
  }).pipe(Effect.uninterruptible)

/** The resident memory of the processes of a group, in bytes, read from /proc (Linux). */
const rssFromProc = (pgid: number): Promise<number> =>
  Fs.readdir("/proc").then((entries) =>
    Promise.all(
      entries.filter((entry) => /^\d+$/.test(entry)).map((pid) =>
        Fs.readFile(`/proc/${pid}/stat`, "utf8").then(
          (stat) => {
            // the fields after the command name, which may hold spaces and parentheses: state, ppid, pgrp
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
            return Number(fields[2]) === pgid ? residentOf(pid) : 0
          },
          () => 0 // it ended meanwhile
        )
      )
    ).then((sizes) => sizes.reduce((sum, size) => sum + size, 0))
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
