/**
 * The escrow watcher's durable log cursor: the last block whose escrow events were processed (and
 * its hash, to notice a reorg under it), in the seller's SQLite file. A restart resumes reading
 * events from the block after it, so nothing that happened while the seller was down is missed.
 */
import Database from 'better-sqlite3'
import type { Hex } from 'viem'

/** A processed block. */
export interface WatchPosition {
  block: bigint
  hash: Hex
}

export interface WatchCursor {
  get(): WatchPosition | undefined
  put(p: WatchPosition): void
  close(): void
}

/**
 * @param scope one cursor per chain, escrow and payee (`${chainId}:${escrow}:${payee}`)
 * @example
 * const cursor = openWatchCursor('/var/lib/bitcdn/ledger.db', `${chainId}:${escrow}:${payee}`)
 * createEscrowWatcher({ escrow, payee })({ publicClient, cursor })
 */
export function openWatchCursor(dbPath: string, scope: string): WatchCursor {
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  db.exec('CREATE TABLE IF NOT EXISTS watch_cursor (scope TEXT PRIMARY KEY, block TEXT NOT NULL, hash TEXT NOT NULL)')
  const get = db.prepare<[string], { block: string; hash: string }>('SELECT block, hash FROM watch_cursor WHERE scope = ?')
  const put = db.prepare('INSERT INTO watch_cursor VALUES (@scope, @block, @hash) ON CONFLICT (scope) DO UPDATE SET block = excluded.block, hash = excluded.hash')
  let open = true
  return {
    get() {
      const r = get.get(scope)
      return r ? { block: BigInt(r.block), hash: r.hash as Hex } : undefined
    },
    put(p) {
      if (open) put.run({ scope, block: p.block.toString(), hash: p.hash })
    },
    close() {
      if (!open) return
      open = false
      db.close()
    },
  }
}
