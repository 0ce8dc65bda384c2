/**
 * The payer's wallet: issues cumulative cheques, one running total per (payee, token).
 *
 * Safety rule: the new cumulative is committed to SQLite and on disk BEFORE the cheque is signed
 * (WAL, synchronous=NORMAL, then a group commit's fdatasync off the event loop, `wal-sync.ts`:
 * as durable as synchronous=FULL, and the download keeps flowing while the disk syncs). A crash between commit and signature loses a signature, never
 * issues a cumulative lower than one already signed — because the next start reads the stored
 * total and signs above it. The last signature is persisted lazily (with the next commit or on
 * close) so a wallet can resend its newest cheque after a clean restart without a second fsync
 * per cheque.
 *
 * Chain instance: totals are kept per (chain id, escrow address) — and, given `instance` (the hash
 * of the escrow's deployment block), per chain *instance*. A local chain restarted from nothing
 * deploys the escrow at the same address on the same chain id; its sellers start with empty
 * ledgers, so a cumulative carried over from the dead chain would be claimed in full from the new
 * deposit (seen: a devnet restart made a 0.0015 USDC download cost 0.0054). When the instance
 * changes, the old totals are set aside (kept, under the old instance's name) and new ones start
 * from zero (or from that instance's own, set aside earlier); a wallet opened without `instance`
 * adopts the first one it is given.
 */
import Database from 'better-sqlite3'
import { getAddress, type Address, type Hex, type LocalAccount } from 'viem'
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { PayError } from '../cheques/errors.js'
import { accountChequeSigner, type ChequeSigner } from '../cheques/sign.js'
import { MAX_CUMULATIVE, type ChequeDomain, type SignedCheque } from '../cheques/types.js'
import { createWalSync } from '../storage/wal-sync.js'

export interface PayerWalletInit {
  /** SQLite file of this wallet; created if missing. */
  dbPath: string
  /** Signs the cheques: the payer itself or its delegated signer (`setSigner`). */
  signer: ChequeSigner | LocalAccount
  /** The escrow account that pays (owner of the deposit). */
  payer: Address
  /** The escrow the cheques are drawn on. */
  domain: ChequeDomain
  /**
   * Which chain instance behind `domain`: the hash of the escrow's deployment block. Another one
   * than recorded means the chain was replaced (a local chain restarted): totals start from zero.
   * @default none — one set of totals per (chain id, escrow), whatever chain answers
   */
  instance?: Hex
}

/** Issues cheques for one payer on one escrow. */
export interface PayerWallet {
  /**
   * Raises the cumulative owed to `payee` in `token` by `amount` and returns the signed cheque.
   * @throws {PayError} BITCDN_ERR_AMOUNT_INVALID (amount ≤ 0), BITCDN_ERR_CHEQUE_OVERFLOW,
   *   BITCDN_ERR_WALLET_CLOSED
   */
  pay(payee: Address, token: Address, amount: TokenUnits): Promise<SignedCheque>
  /**
   * Pays several distinct (payee, token) pairs with one durable commit (one fsync) for all of
   * them, then signs each: same guarantee as `pay`, cheaper when paying many sellers at once.
   * @throws {PayError} as `pay`; BITCDN_ERR_AMOUNT_INVALID also for a repeated pair
   */
  payMany(payments: readonly { payee: Address; token: Address; amount: TokenUnits }[]): Promise<SignedCheque[]>
  /** The stored cumulative (≥ every cheque ever signed for the pair). */
  cumulative(payee: Address, token: Address): TokenUnits
  /** The totals of an earlier chain instance were set aside at this open (see `instance`): the one recorded before, else undefined. */
  readonly replacedInstance: Hex | undefined
  /** The newest cheque whose signature is on record, if any. */
  lastCheque(payee: Address, token: Address): SignedCheque | undefined
  close(): void
}

/**
 * Opens (or creates) a payer wallet.
 * @example
 * const wallet = createPayerWallet({ dbPath, signer: account, payer: account.address, domain })
 * const cheque = await wallet.pay(payee, usdc, tokenUnits(5_000n))
 */
export function createPayerWallet(init: PayerWalletInit): PayerWallet {
  const signer: ChequeSigner = 'signTypedData' in init.signer ? accountChequeSigner(init.signer, init.domain) : init.signer
  const payer = getAddress(init.payer)
  const scope = `${init.domain.chainId}:${getAddress(init.domain.verifyingContract)}`
  const db = new Database(init.dbPath)
  db.pragma('journal_mode = WAL')
  // the fsync is `durable.sync()`, awaited before each signature, not a blocking one per commit
  db.pragma('synchronous = NORMAL')
  const durable = createWalSync(init.dbPath)
  db.exec(`CREATE TABLE IF NOT EXISTS cumulative (
    scope TEXT NOT NULL, payer TEXT NOT NULL, payee TEXT NOT NULL, token TEXT NOT NULL,
    amount TEXT NOT NULL,            -- decimal: uint128 does not fit SQLite's int64
    signed_amount TEXT, signature TEXT,
    PRIMARY KEY (scope, payer, payee, token))`)
  db.exec('CREATE TABLE IF NOT EXISTS chain_instance (scope TEXT PRIMARY KEY, instance TEXT NOT NULL)')
  const replacedInstance = adoptInstance(db, scope, init.instance)
  const get = db.prepare<[string, string, string, string], { amount: string; signed_amount: string | null; signature: string | null }>(
    'SELECT amount, signed_amount, signature FROM cumulative WHERE scope = ? AND payer = ? AND payee = ? AND token = ?',
  )
  const put = db.prepare(
    `INSERT INTO cumulative (scope, payer, payee, token, amount) VALUES (@scope, @payer, @payee, @token, @amount)
     ON CONFLICT (scope, payer, payee, token) DO UPDATE SET amount = excluded.amount`,
  )
  const putSig = db.prepare(
    `UPDATE cumulative SET signed_amount = @signed, signature = @signature
     WHERE scope = @scope AND payer = @payer AND payee = @payee AND token = @token`,
  )
  const rollback = db.prepare(
    `UPDATE cumulative SET amount = @prev
     WHERE scope = @scope AND payer = @payer AND payee = @payee AND token = @token AND amount = @next`,
  )
  // signatures not yet on disk, keyed by pair; written with the next commit or on close
  const unsaved = new Map<string, { payee: string; token: string; signed: bigint; signature: Hex }>()
  let closed = false

  const flush = (): void => {
    for (const u of unsaved.values()) putSig.run({ scope, payer, payee: u.payee, token: u.token, signed: u.signed.toString(), signature: u.signature })
    unsaved.clear()
  }

  const reserveOne = (payee: string, token: string, amount: bigint): { prev: bigint; next: bigint } => {
    const row = get.get(scope, payer, payee, token)
    const prev = row ? BigInt(row.amount) : 0n
    const next = prev + amount
    if (next > MAX_CUMULATIVE) {
      throw new PayError('BITCDN_ERR_CHEQUE_OVERFLOW', 'cumulative amount would exceed uint128', { details: { payee, token } })
    }
    put.run({ scope, payer, payee, token, amount: next.toString() })
    return { prev, next }
  }
  const reserve = db.transaction((items: readonly { payee: Address; token: Address; amount: bigint }[]) => {
    flush()
    return items.map((i) => reserveOne(i.payee, i.token, i.amount))
  })

  const check = (): void => {
    if (closed) throw new PayError('BITCDN_ERR_WALLET_CLOSED', 'payer wallet is closed')
  }

  const payMany = async (payments: readonly { payee: Address; token: Address; amount: TokenUnits }[]): Promise<SignedCheque[]> => {
    check()
    const items = payments.map((p) => {
      if (typeof p.amount !== 'bigint' || p.amount <= 0n) {
        throw new PayError('BITCDN_ERR_AMOUNT_INVALID', `payment must be a positive bigint, got ${String(p.amount)}`)
      }
      return { payee: getAddress(p.payee), token: getAddress(p.token), amount: p.amount }
    })
    if (new Set(items.map((i) => `${i.payee}:${i.token}`)).size !== items.length) {
      throw new PayError('BITCDN_ERR_AMOUNT_INVALID', 'payMany takes each (payee, token) pair at most once')
    }
    // durable before signing: committed here, on disk once the group commit resolves
    // IMMEDIATE: the write lock before the read, so two processes on one ledger (`get` and a
    // gateway paying from the same key) wait for each other instead of failing SQLITE_BUSY
    const reserved = reserve.immediate(items)
    try {
      await durable.sync()
    } catch (err) {
      // nothing was signed at the new totals: step them back (unless another pay moved them on)
      if (!closed) for (const [j, r] of reserved.entries()) rollback.run({ scope, payer, payee: items[j]!.payee, token: items[j]!.token, prev: r.prev.toString(), next: r.next.toString() })
      throw err
    }
    const out: SignedCheque[] = []
    for (let k = 0; k < items.length; k++) {
      const { payee, token } = items[k]!
      const { next } = reserved[k]!
      const cheque = { payer, payee, token, cumulativeAmount: tokenUnits(next) }
      let signature: Hex
      try {
        signature = await signer.sign(cheque)
      } catch (err) {
        // no signature exists at `next` for this and the later pairs, so stepping them back is
        // safe — unless another pay moved a pair on meanwhile (the WHERE guards that)
        if (!closed) {
          for (let j = k; j < items.length; j++) {
            const r = reserved[j]!
            rollback.run({ scope, payer, payee: items[j]!.payee, token: items[j]!.token, prev: r.prev.toString(), next: r.next.toString() })
          }
        }
        throw err
      }
      const key = `${payee}:${token}`
      const cur = unsaved.get(key)
      if (!cur || cur.signed < next) unsaved.set(key, { payee, token, signed: next, signature })
      out.push({ cheque, signature })
    }
    return out
  }

  return {
    async pay(payee, token, amount) {
      const [signed] = await payMany([{ payee, token, amount }])
      return signed!
    },
    payMany: (payments) => payMany(payments),
    replacedInstance,
    cumulative(payee, token) {
      check()
      const row = get.get(scope, payer, getAddress(payee), getAddress(token))
      return tokenUnits(row ? BigInt(row.amount) : 0n)
    },
    lastCheque(payeeIn, tokenIn) {
      check()
      const payee = getAddress(payeeIn)
      const token = getAddress(tokenIn)
      const u = unsaved.get(`${payee}:${token}`)
      if (u) return { cheque: { payer, payee, token, cumulativeAmount: tokenUnits(u.signed) }, signature: u.signature }
      const row = get.get(scope, payer, payee, token)
      if (!row?.signed_amount || !row.signature) return undefined
      return {
        cheque: { payer, payee, token, cumulativeAmount: tokenUnits(BigInt(row.signed_amount)) },
        signature: row.signature as Hex,
      }
    },
    close() {
      if (closed) return
      db.transaction(flush)()
      closed = true
      db.close()
      void durable.close()
    },
  }
}

/**
 * Record `instance` as the chain behind `scope`; when another one was recorded, move that chain's
 * totals aside (scope `…#<old instance>`) in one transaction, so this scope starts from zero — or
 * from this instance's own totals, set aside when it was replaced before. Returns the replaced
 * instance, if any.
 */
function adoptInstance(db: Database.Database, scope: string, instance: Hex | undefined): Hex | undefined {
  if (instance === undefined) return undefined
  const want = instance.toLowerCase() as Hex
  const row = db.prepare<[string], { instance: string }>('SELECT instance FROM chain_instance WHERE scope = ?').get(scope)
  if (row === undefined) {
    // the first instance given: the totals already here were made on it (or on nothing)
    db.prepare('INSERT INTO chain_instance (scope, instance) VALUES (?, ?)').run(scope, want)
    return undefined
  }
  if (row.instance === want) return undefined
  const aside = `${scope}#${row.instance}`
  db.transaction(() => {
    db.prepare('DELETE FROM cumulative WHERE scope = ?').run(aside)
    db.prepare('UPDATE cumulative SET scope = ? WHERE scope = ?').run(aside, scope)
    // an instance seen before (an RPC switched back to it): its own totals return
    db.prepare('UPDATE cumulative SET scope = ? WHERE scope = ?').run(scope, `${scope}#${want}`)
    db.prepare('UPDATE chain_instance SET instance = ? WHERE scope = ?').run(want, scope)
  }).immediate()
  return row.instance as Hex
}
