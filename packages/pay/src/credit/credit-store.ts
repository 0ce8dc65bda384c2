/**
 * Durable unpaid-credit state of a seller's buyers (SQLite): per (payer, token) the value
 * delivered, the value credited as paid, the window reached, when the payer was last active and
 * how much of its debt was written off, so a restart neither forgives a buyer's debt early nor
 * resets an honest buyer's window. A write-off (`BuyerCredit.forgiveIfIdle`) is one row's update —
 * delivered, window and written-off total together — so a crash leaves it done or not done,
 * never half; not done, it is done again at the next look (the debt is still as old).
 *
 * Rows written before the forgiveness columns existed get the time the store was first opened
 * with them as their last activity (`opts.now`): an old debt is forgiven one full period after
 * the upgrade, never at once (its real age is unknown).
 *
 * It lives in the payee ledger's file on its own connection with `synchronous = NORMAL` (WAL):
 * `delivered` changes with every block sent, and an fsync — or even a commit — per block would
 * cost more than the block. `putLazy` is a write-behind: a change of `paid` or of the window is
 * written at once; deliveries are written once `maxLag` more value was delivered since the last
 * write, or 100 ms later. So a process crash loses at most `maxLag` or 100 ms of deliveries per
 * buyer from the record; a power loss can lose the last few writes besides — counted as unpaid
 * (SELLER-BOUND.md). The seller settlement writes with `put`: its caller (the market seller)
 * batches deliveries itself.
 */
import Database from 'better-sqlite3'
import { getAddress, type Address } from 'viem'
import { PayError } from '../cheques/errors.js'
import type { BuyerCreditState } from './credit-rules.js'

export interface CreditStoreOptions {
  /** Wall-clock ms: the last activity given to rows from before the forgiveness columns. @default Date.now */
  now?: () => number
}

export interface CreditStore {
  get(payer: Address, token: Address): BuyerCreditState | undefined
  /** Write now. */
  put(payer: Address, token: Address, state: BuyerCreditState): void
  /** Write a `paid`, window or write-off change now, deliveries once `maxLag` value behind or 100 ms later (write-behind). */
  putLazy(payer: Address, token: Address, state: BuyerCreditState, maxLag: bigint): void
  /** Write what the write-behind holds. */
  flush(): void
  /**
   * Every payer's stored credit, newest write-behind state included (the operator's view of who
   * owes what and what was written off: `bitcdn node earnings`). One row per (payer, token) the
   * seller ever delivered to, the same scale as the payee ledger's entries.
   */
  list(): StoredCredit[]
  /** Flushes, then closes. */
  close(): void
}

/** One payer's stored credit in one token. */
export interface StoredCredit {
  payer: Address
  token: Address
  state: BuyerCreditState
}

interface Row {
  delivered: string
  paid: string
  settled_windows: number
  window_start_paid: string
  last_activity_ms: number | null
  written_off: string
}

/**
 * @example
 * const store = openCreditStore('/var/lib/bitcdn/ledger.db')
 * const credit = new BuyerCredit({ pieceValue, state: store.get(buyer, usdc), onChange: (s) => store.put(buyer, usdc, s) })
 */
export function openCreditStore(dbPath: string, opts: CreditStoreOptions = {}): CreditStore {
  const now = opts.now ?? Date.now
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(`CREATE TABLE IF NOT EXISTS credit (
    payer TEXT NOT NULL, token TEXT NOT NULL,
    delivered TEXT NOT NULL, paid TEXT NOT NULL,
    settled_windows INTEGER NOT NULL, window_start_paid TEXT NOT NULL,
    last_activity_ms INTEGER, written_off TEXT NOT NULL DEFAULT '0',
    PRIMARY KEY (payer, token))`)
  // a store from before forgiveness: add its columns, old debts dated now (never forgiven early)
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(credit)').all()
  if (!columns.some((c) => c.name === 'last_activity_ms')) {
    db.transaction(() => {
      db.exec('ALTER TABLE credit ADD COLUMN last_activity_ms INTEGER')
      db.exec("ALTER TABLE credit ADD COLUMN written_off TEXT NOT NULL DEFAULT '0'")
      db.prepare('UPDATE credit SET last_activity_ms = ?').run(now())
    })()
  }
  const all = db.prepare<[], Row & { payer: string; token: string }>('SELECT payer, token, delivered, paid, settled_windows, window_start_paid, last_activity_ms, written_off FROM credit ORDER BY payer, token')
  const get = db.prepare<[string, string], Row>('SELECT delivered, paid, settled_windows, window_start_paid, last_activity_ms, written_off FROM credit WHERE payer = ? AND token = ?')
  const put = db.prepare(
    `INSERT INTO credit (payer, token, delivered, paid, settled_windows, window_start_paid, last_activity_ms, written_off)
     VALUES (@payer, @token, @delivered, @paid, @settledWindows, @windowStartPaid, @lastActivityMs, @writtenOff)
     ON CONFLICT (payer, token) DO UPDATE SET delivered = excluded.delivered, paid = excluded.paid,
       settled_windows = excluded.settled_windows, window_start_paid = excluded.window_start_paid,
       last_activity_ms = excluded.last_activity_ms, written_off = excluded.written_off`,
  )
  let open = true
  /** Newest unwritten state per pair, and what was last written (write-behind). */
  const pending = new Map<string, { payer: Address; token: Address; state: BuyerCreditState }>()
  const written = new Map<string, BuyerCreditState>()
  let timer: NodeJS.Timeout | undefined
  // a write per piece delivered: the checksums (keccak) once per address, not per write
  const checksums = new Map<string, Address>()
  const checksum = (a: Address): Address => {
    let c = checksums.get(a)
    if (c === undefined) {
      if (checksums.size >= 4096) checksums.clear()
      checksums.set(a, (c = getAddress(a)))
    }
    return c
  }
  const write = (payer: Address, token: Address, s: BuyerCreditState): void => {
    if (!open) throw new PayError('BITCDN_ERR_LEDGER_CLOSED', 'credit store is closed')
    put.run({
      payer: checksum(payer),
      token: checksum(token),
      delivered: s.delivered.toString(),
      paid: s.paid.toString(),
      settledWindows: s.settledWindows,
      windowStartPaid: s.windowStartPaid.toString(),
      lastActivityMs: Math.trunc(s.lastActivityMs),
      writtenOff: s.writtenOff.toString(),
    })
    written.set(`${payer}:${token}`, s)
  }
  const flush = (): void => {
    clearTimeout(timer)
    timer = undefined
    for (const [k, p] of pending) {
      pending.delete(k)
      write(p.payer, p.token, p.state)
    }
  }
  const stateOf = (r: Row): BuyerCreditState => ({
    delivered: BigInt(r.delivered),
    paid: BigInt(r.paid),
    settledWindows: r.settled_windows,
    windowStartPaid: BigInt(r.window_start_paid),
    // only a row written behind this code's back lacks it: dated now, as the migration does
    lastActivityMs: r.last_activity_ms ?? now(),
    writtenOff: BigInt(r.written_off),
  })
  return {
    get(payer, token) {
      const r = get.get(getAddress(payer), getAddress(token))
      return r ? stateOf(r) : undefined
    },
    list() {
      const rows = all.all().map((r) => ({ payer: getAddress(r.payer), token: getAddress(r.token), state: stateOf(r) }))
      const at = new Map(rows.map((r, i) => [`${r.payer}:${r.token}`, i]))
      for (const p of pending.values()) {
        const row = { payer: checksum(p.payer), token: checksum(p.token), state: p.state }
        const i = at.get(`${row.payer}:${row.token}`)
        if (i === undefined) rows.push(row)
        else rows[i] = row
      }
      return rows
    },
    put(payer, token, s) {
      pending.delete(`${payer}:${token}`)
      write(payer, token, s)
    },
    putLazy(payer, token, s, maxLag) {
      if (!open) throw new PayError('BITCDN_ERR_LEDGER_CLOSED', 'credit store is closed')
      const k = `${payer}:${token}`
      const w = written.get(k)
      // a write-off lowers `delivered`: written at once, like a payment
      if (w === undefined || w.paid !== s.paid || w.settledWindows !== s.settledWindows || w.writtenOff !== s.writtenOff || s.delivered - w.delivered >= maxLag) {
        pending.delete(k)
        write(payer, token, s)
        return
      }
      pending.set(k, { payer, token, state: s })
      if (timer === undefined) {
        timer = setTimeout(flush, 100)
        timer.unref()
      }
    },
    flush,
    close() {
      if (!open) return
      flush()
      open = false
      db.close()
    },
  }
}
