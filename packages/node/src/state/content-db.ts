/**
 * The node's content index (SQLite, WAL): every torrent the node holds — pinned (kept until
 * unpinned) or cached (kept while the storage quota allows) — with what a restart needs to seed
 * it again (the .torrent bytes or the magnet, the data folder) and what eviction weighs (bytes
 * stored, bytes served, earnings, last served). Counters only grow, written by the running node.
 */
import Database from 'better-sqlite3'

/** One torrent the node holds. */
export interface ContentRow {
  infoHash: string
  name: string
  /** The .torrent file, once the metadata is known. */
  torrent?: Buffer
  /** The magnet it was pinned by, when no .torrent was given. */
  magnet?: string
  /** Folder holding the torrent's top-level file or folder. */
  dir: string
  /** True when the data lives outside data_dir (seeded in place): never counted, never deleted. */
  inPlace: boolean
  pinned: boolean
  /** Served free whatever the free policy (a publisher sponsors it). */
  free: boolean
  /** Bytes of data (0 until the metadata is known). */
  bytes: number
  bytesServed: number
  /** Earnings attributed to this content, token base units. */
  earnedUnits: bigint
  addedAtMs: number
  lastServedAtMs: number
}

interface Row {
  info_hash: string
  name: string
  torrent: Buffer | null
  magnet: string | null
  dir: string
  in_place: number
  pinned: number
  free: number
  bytes: number
  bytes_served: number
  earned: string
  added_at: number
  last_served_at: number
}

export interface ContentDb {
  /** Adds or replaces a torrent's row (its counters are kept if it was there). */
  put(row: Omit<ContentRow, 'bytesServed' | 'earnedUnits' | 'lastServedAtMs'>): void
  get(infoHash: string): ContentRow | undefined
  all(): ContentRow[]
  setPinned(infoHash: string, pinned: boolean): boolean
  /** Records the metadata of a torrent pinned by magnet. */
  setMetadata(infoHash: string, name: string, torrent: Buffer, bytes: number): void
  /** Adds bytes served since the last call and sets the last-served time. */
  addServed(infoHash: string, bytes: number, atMs: number): void
  addEarned(infoHash: string, units: bigint): void
  remove(infoHash: string): void
  close(): void
}

const toRow = (r: Row): ContentRow => ({
  infoHash: r.info_hash,
  name: r.name,
  ...(r.torrent ? { torrent: r.torrent } : {}),
  ...(r.magnet ? { magnet: r.magnet } : {}),
  dir: r.dir,
  inPlace: r.in_place === 1,
  pinned: r.pinned === 1,
  free: r.free === 1,
  bytes: r.bytes,
  bytesServed: r.bytes_served,
  earnedUnits: BigInt(r.earned),
  addedAtMs: r.added_at,
  lastServedAtMs: r.last_served_at,
})

/**
 * Opens (or creates) the content index.
 * @example
 * const db = openContentDb(nodePaths().db)
 * db.put({ infoHash, name, torrent, dir, inPlace: false, pinned: true, free: false, bytes, addedAtMs: Date.now() })
 */
export function openContentDb(file: string): ContentDb {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec(`CREATE TABLE IF NOT EXISTS content (
    info_hash TEXT PRIMARY KEY, name TEXT NOT NULL, torrent BLOB, magnet TEXT, dir TEXT NOT NULL,
    in_place INTEGER NOT NULL, pinned INTEGER NOT NULL, free INTEGER NOT NULL, bytes INTEGER NOT NULL,
    bytes_served INTEGER NOT NULL DEFAULT 0, earned TEXT NOT NULL DEFAULT '0',
    added_at INTEGER NOT NULL, last_served_at INTEGER NOT NULL DEFAULT 0)`)
  const upsert = db.prepare(`INSERT INTO content (info_hash, name, torrent, magnet, dir, in_place, pinned, free, bytes, added_at)
    VALUES (@infoHash, @name, @torrent, @magnet, @dir, @inPlace, @pinned, @free, @bytes, @addedAtMs)
    ON CONFLICT (info_hash) DO UPDATE SET name = excluded.name, torrent = COALESCE(excluded.torrent, content.torrent),
      magnet = COALESCE(excluded.magnet, content.magnet), dir = excluded.dir, in_place = excluded.in_place,
      pinned = excluded.pinned, free = excluded.free, bytes = MAX(excluded.bytes, content.bytes)`)
  const one = db.prepare<[string], Row>('SELECT * FROM content WHERE info_hash = ?')
  const every = db.prepare<[], Row>('SELECT * FROM content ORDER BY added_at')
  const pin = db.prepare<[number, string]>('UPDATE content SET pinned = ? WHERE info_hash = ?')
  const meta = db.prepare<[string, Buffer, number, string]>('UPDATE content SET name = ?, torrent = ?, bytes = ? WHERE info_hash = ?')
  const served = db.prepare<[number, number, string]>('UPDATE content SET bytes_served = bytes_served + ?, last_served_at = ? WHERE info_hash = ?')
  const getEarned = db.prepare<[string], { earned: string }>('SELECT earned FROM content WHERE info_hash = ?')
  const setEarned = db.prepare<[string, string]>('UPDATE content SET earned = ? WHERE info_hash = ?')
  const del = db.prepare<[string]>('DELETE FROM content WHERE info_hash = ?')
  return {
    put(r) {
      upsert.run({ ...r, torrent: r.torrent ?? null, magnet: r.magnet ?? null, inPlace: r.inPlace ? 1 : 0, pinned: r.pinned ? 1 : 0, free: r.free ? 1 : 0 })
    },
    get(infoHash) {
      const r = one.get(infoHash)
      return r ? toRow(r) : undefined
    },
    all() {
      return every.all().map(toRow)
    },
    setPinned(infoHash, pinned) {
      return pin.run(pinned ? 1 : 0, infoHash).changes > 0
    },
    setMetadata(infoHash, name, torrent, bytes) {
      meta.run(name, torrent, bytes, infoHash)
    },
    addServed(infoHash, bytes, atMs) {
      if (bytes > 0) served.run(bytes, atMs, infoHash)
    },
    addEarned(infoHash, units) {
      db.transaction(() => {
        const r = getEarned.get(infoHash)
        if (r) setEarned.run((BigInt(r.earned) + units).toString(), infoHash)
      })()
    },
    remove(infoHash) {
      del.run(infoHash)
    },
    close() {
      db.close()
    },
  }
}
