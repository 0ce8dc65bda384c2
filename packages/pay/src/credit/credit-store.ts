/**
 * Durable unpaid-credit state of a seller's buyers (SQLite): per (payer, token) the value
 * delivered, the value credited as paid, and the window reached, so a restart neither forgives a
 * buyer's debt nor resets an honest buyer's window.
 *
 * It lives in the payee ledger's file on its own connection with `synchronous = NORMAL` (WAL):
 * `delivered` changes once per piece, and an fsync per piece would cost more than the piece. A
 * process crash loses nothing (WAL); a power loss can lose the last few writes — at most the few
 * pieces delivered since the last checkpoint, counted as unpaid (SELLER-BOUND.md).
 */
import Database from 'better-sqlite3'
import { getAddress, type Address } from 'viem'
import { PayError } from '../cheques/errors.js'
import type { BuyerCreditState } from './credit-rules.js'

export interface CreditStore {
  get(payer: Address, token: Address): BuyerCreditState | undefined
  put(payer: Address, token: Address, state: BuyerCreditState): void
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
  return {
    get(payer, token) {
      const r = get.get(getAddress(payer), getAddress(token))
      if (!r) return undefined
      return { delivered: BigInt(r.delivered), paid: BigInt(r.paid), settledWindows: r.settled_windows, windowStartPaid: BigInt(r.window_start_paid) }
    },
    put(payer, token, s) {
      if (!open) throw new PayError('BITCDN_ERR_LEDGER_CLOSED', 'credit store is closed')
      put.run({
        payer: getAddress(payer),
        token: getAddress(token),
        delivered: s.delivered.toString(),
        paid: s.paid.toString(),
        settledWindows: s.settledWindows,
        windowStartPaid: s.windowStartPaid.toString(),
      })
    },
    close() {
      if (!open) return
      open = false
      db.close()
    },
  }
}
