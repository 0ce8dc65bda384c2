/**
 * The gateway's piece cache: verified pieces on disk, one file each
 * (`<dir>/pieces/<infohash>/<index>`), indexed in SQLite (`<dir>/cache.db`) with a least-recently
 * used order and a size limit. Shared by every route and torrent; survives restarts. The .torrent
 * of each content served is kept too, so content stays addressable after a restart.
 *
 * Only hash-verified pieces come in (the swarm and the origin hedge verify before storing). A piece
 * file is written to a temporary name and renamed, so a crash leaves either the old state or the
 * whole file; a file whose size is wrong on read is dropped and fetched again.
 *
 * The warm path touches neither SQLite nor a file's metadata: the index lives in memory (loaded at
 * open), recency is written back in one transaction at most every second (and before eviction
 * and on close), and up to `openFiles` piece files stay open — a stored piece keeps the
 * descriptor it was written through — so a cached piece costs one `read` and no `open`/`close`
 * (opening and closing a file per piece cost more CPU than reading it, measured). Pieces just
 * stored are held in memory too (`memoryBytes`), for the responses waiting on them; pieces read
 * back from their files join it only while it has room (after a restart it fills with what is
 * asked for), never by evicting (a scan larger than the memory tier would only churn it and the
 * garbage collector). A piece served from memory costs no `read` and no copy (a third of a warm
 * 1 MiB range's time against reading it back, measured).
 */
import { close, mkdirSync, open, read, write } from 'node:fs'
import { mkdir, rename, rm, unlink } from 'node:fs/promises'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { gatewayError } from '../errors.js'
import { BufferPool } from './buffer-pool.js'


export interface PieceCacheInit {
  /** Directory of the cache (created). */
  dir: string
  /** Most piece bytes kept; the least recently used pieces go first. @default 10 GiB */
  maxBytes?: number
  /** Most recently used pieces also held in memory, bytes (0: none). @default `defaultCacheMemoryBytes()` */
  memoryBytes?: number
  /** Piece files kept open for reading (each is a descriptor). @default 1024 */
  openFiles?: number
}

export interface PieceCacheComponents {
  /** A piece left the cache (so its torrent forgets it had it). */
  onEvict?: (infoHash: string, index: number) => void
}

export interface PieceCache {
  /** The whole piece, or undefined when not cached. Marks it recently used. */
  get(infoHash: string, index: number, expectedSize: number): Promise<Buffer | undefined>
  /**
   * Store a verified piece; evicts the least recently used pieces beyond the limit. `owned`: the
   * caller hands `data` over (never writes to it again), so the cache keeps it without a copy.
   */
  put(infoHash: string, index: number, data: Buffer, opts?: { owned?: boolean }): Promise<void>
  /**
   * Call `fn` with the piece (a copy the cache owns) the moment a `put` of it starts, before its
   * file is written: a response waiting on a verified piece need not wait for the disk (writing
   * the file took 40% of a cold piece's time to first byte, measured). Returns the unsubscribe.
   */
  whenPut(infoHash: string, index: number, fn: (data: Buffer) => void): () => void
  /**
   * Give back the buffer of a piece `get` read from its file, once nothing uses it any more (the
   * socket took its bytes). Optional; anything else passed is ignored. Never call it for a
   * buffer someone else may still hold.
   */
  release(data: Buffer): void
  /** Cached piece indices of one torrent. */
  pieces(infoHash: string): number[]
  /** Bytes of pieces held. */
  readonly bytes: number
  /** Keep a .torrent file so the content can be served after a restart. */
  saveTorrent(infoHash: string, torrent: Buffer): void
  /** Every kept .torrent. */
  torrents(): Array<{ infoHash: string; torrent: Buffer }>
  /** Remove a torrent and its pieces. */
  removeTorrent(infoHash: string): Promise<void>
  /** The SQLite handle, for the gateway's other tables (pull-zone objects). */
  readonly db: Database.Database
  /**
   * Waits for every store in flight (a response may have been answered from a piece whose file
   * is still being written: closing under it would lose the piece from the index), then closes.
   */
  close(): Promise<void>
}

/**
 * The memory tier's default: an eighth of the machine's RAM, at most 1 GiB (a CDN's hot set is
 * served from RAM; the page cache still holds much of the rest).
 * @example defaultCacheMemoryBytes() // 1073741824 on a 24 GiB machine
 */
export function defaultCacheMemoryBytes(): number {
  return Math.min(2 ** 30, Math.floor(totalmem() / 8))
}

/** Write all of `data` at the start of the file (a short write continues where it stopped). */
async function writeAll(fd: number, data: Buffer): Promise<void> {
  for (let done = 0; done < data.length; ) {
    done += await new Promise<number>((resolve, reject) => write(fd, data, done, data.length - done, done, (err, n) => (err ? reject(err) : resolve(n))))
  }
}

/**
 * @throws BitcdnError `BITCDN_ERR_GATEWAY_CACHE` when the directory or database cannot be opened.
 * @example
 * const cache = openPieceCache({ dir: '/var/cache/bitcdn', maxBytes: 50 * 2 ** 30 })
 * await cache.put(infoHash, 0, piece0)
 */
export function openPieceCache(init: PieceCacheInit, components: PieceCacheComponents = {}): PieceCache {
  const maxBytes = init.maxBytes ?? 10 * 2 ** 30
  const openFiles = Math.max(1, init.openFiles ?? 1024)
  let db: Database.Database
  try {
    mkdirSync(join(init.dir, 'pieces'), { recursive: true })
    db = new Database(join(init.dir, 'cache.db'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(`
      CREATE TABLE IF NOT EXISTS pieces (info_hash TEXT NOT NULL, idx INTEGER NOT NULL, bytes INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (info_hash, idx));
      CREATE INDEX IF NOT EXISTS pieces_used ON pieces (used);
      CREATE TABLE IF NOT EXISTS torrents (info_hash TEXT PRIMARY KEY, torrent BLOB NOT NULL);
    `)
  } catch (err) {
    throw gatewayError('cache', `cannot open the piece cache in ${init.dir}: ${(err as Error).message}`, { dir: init.dir }, err)
  }
  const q = {
    touch: db.prepare('UPDATE pieces SET used = ? WHERE info_hash = ? AND idx = ?'),
    insert: db.prepare('INSERT OR REPLACE INTO pieces (info_hash, idx, bytes, used) VALUES (?, ?, ?, ?)'),
    remove: db.prepare('DELETE FROM pieces WHERE info_hash = ? AND idx = ?'),
    oldest: db.prepare('SELECT info_hash AS infoHash, idx, bytes FROM pieces ORDER BY used LIMIT 16'),
    ofTorrent: db.prepare('SELECT idx FROM pieces WHERE info_hash = ?').pluck(),
    total: db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM pieces').pluck(),
    maxUsed: db.prepare('SELECT COALESCE(MAX(used), 0) FROM pieces').pluck(),
    saveTorrent: db.prepare('INSERT OR REPLACE INTO torrents (info_hash, torrent) VALUES (?, ?)'),
    torrents: db.prepare('SELECT info_hash AS infoHash, torrent FROM torrents'),
    removeTorrent: db.prepare('DELETE FROM torrents WHERE info_hash = ?'),
    removePieces: db.prepare('DELETE FROM pieces WHERE info_hash = ?'),
  }
  let bytes = q.total.get() as number
  // a counter, not a clock: two uses in one millisecond still order
  let clock = q.maxUsed.get() as number
  let tmpSeq = 0
  const pieceFile = (infoHash: string, index: number) => join(init.dir, 'pieces', infoHash, String(index))
  const keyOf = (infoHash: string, index: number) => `${infoHash}:${index}`
  // torrents whose piece folder exists
  const made = new Set<string>()
  // the index in memory: size of every cached piece
  const sizes = new Map<string, number>()
  for (const r of db.prepare('SELECT info_hash AS infoHash, idx, bytes FROM pieces').iterate() as Iterable<{ infoHash: string; idx: number; bytes: number }>) sizes.set(keyOf(r.infoHash, r.idx), r.bytes)
  // recency not yet written back, and the write-back
  const touched = new Map<string, { infoHash: string; index: number; used: number }>()
  const flushTouches = db.transaction((rows: Array<{ infoHash: string; index: number; used: number }>) => {
    for (const r of rows) q.touch.run(r.used, r.infoHash, r.index)
  })
  const flush = () => {
    if (touched.size === 0) return
    const rows = [...touched.values()]
    touched.clear()
    flushTouches(rows)
  }
  const flusher = setInterval(flush, 1000)
  flusher.unref()
  // open piece files, least recently read first (a Map keeps insertion order)
  const fds = new Map<string, number>()
  const closeFd = (key: string) => {
    const fd = fds.get(key)
    if (fd === undefined) return
    fds.delete(key)
    close(fd, () => {})
  }
  const keepFd = (key: string, fd: number) => {
    closeFd(key)
    fds.set(key, fd)
    if (fds.size > openFiles) closeFd(fds.keys().next().value!)
  }
  const openFd = (key: string, file: string): Promise<number> => {
    const fd = fds.get(key)
    if (fd !== undefined) {
      fds.delete(key)
      fds.set(key, fd)
      return Promise.resolve(fd)
    }
    return new Promise((resolve, reject) =>
      open(file, 'r', (err, fd) => {
        if (err) return reject(err)
        const raced = fds.get(key)
        if (raced !== undefined) {
          close(fd, () => {})
          return resolve(raced)
        }
        keepFd(key, fd)
        resolve(fd)
      }),
    )
  }
  // the memory tier: recently used pieces, least recent first (a Map keeps insertion order)
  const memoryBytes = init.memoryBytes ?? defaultCacheMemoryBytes()
  const memory = new Map<string, Buffer>()
  let inMemory = 0
  const unremember = (key: string) => {
    const b = memory.get(key)
    if (b === undefined) return
    memory.delete(key)
    inMemory -= b.length
  }
  const remember = (key: string, data: Buffer) => {
    if (data.length > memoryBytes) return
    unremember(key)
    memory.set(key, data)
    inMemory += data.length
    while (inMemory > memoryBytes) unremember(memory.keys().next().value!)
  }

  /** Exactly `size` bytes of the file, or undefined when it holds fewer or more. */
  const readExact = async (key: string, file: string, size: number): Promise<Buffer | undefined> => {
    const fd = await openFd(key, file)
    // one byte more than expected: a longer file is as wrong as a shorter one
    const buf = pool.take(size + 1)
    const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, size + 1, 0, (err, n) => (err ? reject(err) : resolve(n))))
    return n === size ? buf.subarray(0, size) : undefined
  }

  const forget = (infoHash: string, index: number, size: number) => {
    const key = keyOf(infoHash, index)
    closeFd(key)
    unremember(key)
    touched.delete(key)
    if (sizes.delete(key)) bytes -= size
    q.remove.run(infoHash, index)
  }

  async function evict(): Promise<void> {
    if (bytes > maxBytes) flush()
    while (bytes > maxBytes) {
      const rows = q.oldest.all() as Array<{ infoHash: string; idx: number; bytes: number }>
      if (rows.length === 0) break
      for (const r of rows) {
        if (bytes <= maxBytes) break
        forget(r.infoHash, r.idx, r.bytes)
        components.onEvict?.(r.infoHash, r.idx)
        await unlink(pieceFile(r.infoHash, r.idx)).catch(() => {})
      }
    }
  }

  // buffers of pieces read from their files, reused (a fresh one each is the collector's work)
  const pool = new BufferPool(32 * 2 ** 20)
  // responses waiting for a piece to arrive, and pieces whose file is being written
  const watchers = new Map<string, Set<(data: Buffer) => void>>()
  const writing = new Map<string, Buffer>()
  // stores not yet finished (close waits for them), and whether close has begun
  const inFlight = new Set<Promise<void>>()
  let closed = false

  async function store(infoHash: string, index: number, data: Buffer): Promise<void> {
    const file = pieceFile(infoHash, index)
    const tmp = `${file}.${process.pid}.${tmpSeq++}.tmp`
    let fd: number
    try {
      // one mkdir per torrent, not per piece (a cold piece's store is on the TTFB path)
      if (!made.has(infoHash)) {
        await mkdir(join(init.dir, 'pieces', infoHash), { recursive: true })
        made.add(infoHash)
      }
      // opened for reading too: the descriptor stays in the open-file set (it names the inode,
      // which the rename keeps), so the first read of the piece needs no `open`
      // (a raw descriptor, not a FileHandle: a FileHandle closes its descriptor when collected)
      fd = await new Promise<number>((resolve, reject) => open(tmp, 'w+', (err, d) => (err ? reject(err) : resolve(d))))
      try {
        await writeAll(fd, data)
        await rename(tmp, file)
      } catch (err) {
        close(fd, () => {})
        throw err
      }
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw gatewayError('cache', `cannot write piece ${index} of ${infoHash} to the cache: ${(err as Error).message}`, { infoHash, index }, err)
    }
    const key = keyOf(infoHash, index)
    // a replaced file: a descriptor still open reads the old one, so the new one replaces it
    keepFd(key, fd)
    remember(key, data)
    touched.delete(key)
    const old = sizes.get(key)
    q.insert.run(infoHash, index, data.length, ++clock)
    sizes.set(key, data.length)
    bytes += data.length - (old ?? 0)
    await evict()
  }

  return {
    db,
    get bytes() {
      return bytes
    },
    async get(infoHash, index, expectedSize) {
      const key = keyOf(infoHash, index)
      const pending = writing.get(key)
      if (pending !== undefined && pending.length === expectedSize) return pending
      const size = sizes.get(key)
      if (size === undefined) return undefined
      const hot = memory.get(key)
      if (hot !== undefined && hot.length === expectedSize) {
        memory.delete(key)
        memory.set(key, hot)
        touched.set(key, { infoHash, index, used: ++clock })
        return hot
      }
      let data: Buffer | undefined
      try {
        data = await readExact(key, pieceFile(infoHash, index), expectedSize)
      } catch {
        forget(infoHash, index, size)
        return undefined
      }
      if (data === undefined) {
        // torn by a crash or changed behind our back: fetch it again
        forget(infoHash, index, size)
        await unlink(pieceFile(infoHash, index)).catch(() => {})
        return undefined
      }
      if (sizes.has(key)) {
        touched.set(key, { infoHash, index, used: ++clock })
        // read back while the memory tier has room (after a restart, say): kept there, taken out
        // of the pool for good. Never by evicting — a scan larger than the tier would only churn it
        if (inMemory + data.length <= memoryBytes && pool.disown(data)) remember(key, data)
      }
      return data
    },
    release(data) {
      pool.release(data)
    },
    whenPut(infoHash, index, fn) {
      const key = keyOf(infoHash, index)
      let set = watchers.get(key)
      if (set === undefined) watchers.set(key, (set = new Set()))
      set.add(fn)
      return () => {
        set.delete(fn)
        if (set.size === 0 && watchers.get(key) === set) watchers.delete(key)
      }
    },
    put(infoHash, index, data, opts) {
      if (closed) return Promise.reject(gatewayError('cache', `cannot store piece ${index} of ${infoHash}: the cache is closed`, { infoHash, index }))
      const key = keyOf(infoHash, index)
      // else a copy: the caller may reuse its buffer once the put resolves (256 KiB copied on
      // the path to a cold first byte, 150–200 µs measured on a loaded box)
      const copy = opts?.owned === true ? data : Buffer.from(data)
      writing.set(key, copy)
      const done = (async () => {
        try {
          const waiting = watchers.get(key)
          if (waiting !== undefined) {
            for (const fn of [...waiting]) fn(copy)
            // the waiting responses write their bytes first (ticks and microtasks run before
            // setImmediate); each file operation wakes a threadpool thread, which on a busy box
            // can take the loop's core just before its first byte
            await new Promise<void>((resolve) => setImmediate(resolve))
          }
          await store(infoHash, index, copy)
        } finally {
          if (writing.get(key) === copy) writing.delete(key)
        }
      })()
      inFlight.add(done)
      void done.then(
        () => inFlight.delete(done),
        () => inFlight.delete(done),
      )
      return done
    },
    pieces(infoHash) {
      return q.ofTorrent.all(infoHash) as number[]
    },
    saveTorrent(infoHash, torrent) {
      q.saveTorrent.run(infoHash, torrent)
    },
    torrents() {
      return q.torrents.all() as Array<{ infoHash: string; torrent: Buffer }>
    },
    async removeTorrent(infoHash) {
      for (const key of [...sizes.keys()]) {
        if (!key.startsWith(`${infoHash}:`)) continue
        closeFd(key)
        unremember(key)
        touched.delete(key)
        sizes.delete(key)
      }
      made.delete(infoHash)
      q.removeTorrent.run(infoHash)
      q.removePieces.run(infoHash)
      bytes = q.total.get() as number
      await rm(join(init.dir, 'pieces', infoHash), { recursive: true, force: true })
    },
    async close() {
      if (closed) return
      closed = true
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
      clearInterval(flusher)
      flush()
      for (const key of [...fds.keys()]) closeFd(key)
      db.close()
    },
  }
}
