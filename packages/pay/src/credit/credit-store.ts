/**
 * Durable unpaid-credit state of a seller's buyers (SQLite): per (payer, token) the value
 * delivered, the value credited as paid, and the window reached, so a restart neither forgives a
 * buyer's debt nor resets an honest buyer's window.
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

export interface CreditStore {
  get(payer: Address, token: Address): BuyerCreditState | undefined
  /** Write now. */
  put(payer: Address, token: Address, state: BuyerCreditState): void
  /** Write a `paid` or window change now, deliveries once `maxLag` value behind or 100 ms later (write-behind). */
  putLazy(payer: Address, token: Address, state: BuyerCreditState, maxLag: bigint): void
  /** Write what the write-behind holds. */
  flush(): void
  /** Flushes, then closes. */
  close(): void
}

interface Row {
  delivered: string
  paid: string
  settled_windows: number
  window_start_paid: string
}

/**
 * @example
 * const store = openCreditStore('/var/lib/bitcdn/ledger.db')
 * const credit = new BuyerCredit({ pieceValue, state: store.get(buyer, usdc), onChange: (s) => store.put(buyer, usdc, s) })
 */
export function openCreditStore(dbPath: string): CreditStore {
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(`CREATE TABLE IF NOT EXISTS credit (
    payer TEXT NOT NULL, token TEXT NOT NULL,
    delivered TEXT NOT NULL, paid TEXT NOT NULL,
    settled_windows INTEGER NOT NULL, window_start_paid TEXT NOT NULL,
    PRIMARY KEY (payer, token))`)
  const get = db.prepare<[string, string], Row>('SELECT delivered, paid, settled_windows, window_start_paid FROM credit WHERE payer = ? AND token = ?')
  const put = db.prepare(
    `INSERT INTO credit VALUES (@payer, @token, @delivered, @paid, @settledWindows, @windowStartPaid)
     ON CONFLICT (payer, token) DO UPDATE SET delivered = excluded.delivered, paid = excluded.paid,
       settled_windows = excluded.settled_windows, window_start_paid = excluded.window_start_paid`,
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
  return {
    get(payer, token) {
      const r = get.get(getAddress(payer), getAddress(token))
      if (!r) return undefined
      return { delivered: BigInt(r.delivered), paid: BigInt(r.paid), settledWindows: r.settled_windows, windowStartPaid: BigInt(r.window_start_paid) }
    },
    put(payer, token, s) {
      pending.delete(`${payer}:${token}`)
      write(payer, token, s)
    },
    putLazy(payer, token, s, maxLag) {
      if (!open) throw new PayError('BITCDN_ERR_LEDGER_CLOSED', 'credit store is closed')
      const k = `${payer}:${token}`
      const w = written.get(k)
      if (w === undefined || w.paid !== s.paid || w.settledWindows !== s.settledWindows || s.delivered - w.delivered >= maxLag) {
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
