/**
 * Group commit for a SQLite file in WAL mode with `synchronous = NORMAL`: a commit writes its WAL
 * frames without an fsync (safe against a process crash: the kernel holds them), and `sync()`
 * makes every commit made before the call durable by an `fdatasync` of the `-wal` file on libuv's
 * thread pool — off the event loop, so a seller keeps serving while a cheque reaches the disk,
 * and one fsync covers every commit that came before it (concurrent callers share it).
 *
 * Why this is as durable as `synchronous = FULL` for those commits: fsync flushes the file (the
 * inode), whatever descriptor wrote it. A checkpoint in between copies frames into the database
 * file, and in NORMAL mode SQLite syncs the WAL before and the database after each checkpoint, so
 * a frame is on disk in one of the two once `sync()` resolves. If the WAL file is gone (no commit
 * yet, or removed when the last connection closed) the database file is synced instead.
 */
import { constants } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'

export interface WalSync {
  /** Resolves once every commit made before this call is on disk. Rejects on an I/O error. */
  sync(): Promise<void>
  /** fsyncs so far (a group commit covers many callers). */
  readonly syncs: number
  close(): Promise<void>
}

/**
 * @example
 * const durable = createWalSync(dbPath)
 * commit.run(row)          // synchronous = NORMAL: in the WAL, not yet on disk
 * await durable.sync()     // now it is; only then acknowledge it
 */
export function createWalSync(dbPath: string): WalSync {
  let handle: { fh: FileHandle; path: string; ino: number } | undefined
  let running: Promise<void> | undefined
  /** Callers that arrived while an fsync ran: their commits may be newer, so they need the next one. */
  let next: Promise<void> | undefined
  let syncs = 0

  const fileOf = async (): Promise<{ fh: FileHandle; path: string; ino: number }> => {
    for (const path of [`${dbPath}-wal`, dbPath]) {
      const st = await stat(path).catch(() => undefined)
      if (st === undefined) continue
      if (handle !== undefined && handle.path === path && handle.ino === st.ino) return handle
      await handle?.fh.close().catch(() => {})
      handle = { fh: await open(path, constants.O_RDONLY), path, ino: st.ino }
      return handle
    }
    throw Object.assign(new Error(`cannot sync ${dbPath}: neither it nor its WAL exists`), { code: 'ENOENT' })
  }

  const once = async (): Promise<void> => {
    const h = await fileOf()
    await h.fh.datasync()
    syncs++
  }

  const start = (): Promise<void> => {
    const p = once().finally(() => {
      if (running === p) running = undefined
    })
    running = p
    return p
  }

  return {
    sync() {
      if (running === undefined) return start()
      if (next === undefined) {
        next = running.catch(() => {}).then(() => {
          next = undefined
          return start()
        })
      }
      return next
    },
    get syncs() {
      return syncs
    },
    async close() {
      await (next ?? running)?.catch(() => {})
      await handle?.fh.close().catch(() => {})
      handle = undefined
    },
  }
}
