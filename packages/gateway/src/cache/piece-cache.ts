/**
 * The gateway's piece cache: verified pieces on disk, one file each
 * (`<dir>/pieces/<infohash>/<index>`), indexed in SQLite (`<dir>/cache.db`) with a least-recently
 * used order and a size limit. Shared by every route and torrent; survives restarts. The .torrent
 * of each content served is kept too, so content stays addressable after a restart.
 *
 * Only hash-verified pieces come in (the swarm and the origin hedge verify before storing). A piece
 * file is written to a temporary name and renamed, so a crash leaves either the old state or the
 * whole file; a file whose size is wrong on read is dropped and fetched again.
 */
import { mkdirSync } from 'node:fs'
import { mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { gatewayError } from '../errors.js'

export interface PieceCacheInit {
  /** Directory of the cache (created). */
  dir: string
  /** Most piece bytes kept; the least recently used pieces go first. @default 10 GiB */
  maxBytes?: number
}

export interface PieceCacheComponents {
  /** A piece left the cache (so its torrent forgets it had it). */
  onEvict?: (infoHash: string, index: number) => void
}

export interface PieceCache {
  /** The whole piece, or undefined when not cached. Marks it recently used. */
  get(infoHash: string, index: number, expectedSize: number): Promise<Buffer | undefined>
  /** Store a verified piece; evicts the least recently used pieces beyond the limit. */
  put(infoHash: string, index: number, data: Buffer): Promise<void>
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
  close(): void
}

/**
 * @throws BitcdnError `BITCDN_ERR_GATEWAY_CACHE` when the directory or database cannot be opened.
 * @example
 * const cache = openPieceCache({ dir: '/var/cache/bitcdn', maxBytes: 50 * 2 ** 30 })
 * await cache.put(infoHash, 0, piece0)
 */
export function openPieceCache(init: PieceCacheInit, components: PieceCacheComponents = {}): PieceCache {
  const maxBytes = init.maxBytes ?? 10 * 2 ** 30
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
    has: db.prepare('SELECT bytes FROM pieces WHERE info_hash = ? AND idx = ?').pluck(),
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

  const forget = (infoHash: string, index: number, size: number) => {
    const r = q.remove.run(infoHash, index)
    if (r.changes > 0) bytes -= size
  }

  async function evict(): Promise<void> {
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

  return {
    db,
    get bytes() {
      return bytes
    },
    async get(infoHash, index, expectedSize) {
      const size = q.has.get(infoHash, index) as number | undefined
      if (size === undefined) return undefined
      let data: Buffer
      try {
        data = await readFile(pieceFile(infoHash, index))
      } catch {
        forget(infoHash, index, size)
        return undefined
      }
      if (data.length !== expectedSize) {
        // torn by a crash or changed behind our back: fetch it again
        forget(infoHash, index, size)
        await unlink(pieceFile(infoHash, index)).catch(() => {})
        return undefined
      }
      q.touch.run(++clock, infoHash, index)
      return data
    },
    async put(infoHash, index, data) {
      const file = pieceFile(infoHash, index)
      const tmp = `${file}.${process.pid}.${tmpSeq++}.tmp`
      try {
        await mkdir(join(init.dir, 'pieces', infoHash), { recursive: true })
        await writeFile(tmp, data)
        await rename(tmp, file)
      } catch (err) {
        await unlink(tmp).catch(() => {})
        throw gatewayError('cache', `cannot write piece ${index} of ${infoHash} to the cache: ${(err as Error).message}`, { infoHash, index }, err)
      }
      const old = q.has.get(infoHash, index) as number | undefined
      q.insert.run(infoHash, index, data.length, ++clock)
      bytes += data.length - (old ?? 0)
      await evict()
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
      q.removeTorrent.run(infoHash)
      q.removePieces.run(infoHash)
      bytes = q.total.get() as number
      await rm(join(init.dir, 'pieces', infoHash), { recursive: true, force: true })
    },
    close() {
      db.close()
    },
  }
}
