/**
 * The payee's ledger (SQLite, WAL): per (payer, token) the best cheque — the highest verified
 * cumulative, the only one worth claiming — what the escrow has confirmed as paid out, what is in
 * flight in a claim transaction, and a history row per accepted cheque for bookkeeping.
 *
 * Durability: `accept()` commits before it returns (a process crash keeps the cheque) but with
 * `synchronous = NORMAL`, so the fsync is not on the event loop; `durable()` resolves once every
 * cheque accepted before it is on disk (one fdatasync on the thread pool for a whole group of
 * commits, `wal-sync.ts`). A seller acknowledges or credits a cheque only after `durable()`.
 * Claim bookkeeping (`markPending`, `markConfirmed`, …) commits with `synchronous = FULL`.
 */
import Database from 'better-sqlite3'
import { getAddress, type Address, type Hex } from 'viem'
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { PayError, peerVerifyLimitError } from '../cheques/errors.js'
import { createChequeVerifier, type ChequeVerifier } from '../cheques/verify.js'
import { createWalSync } from '../storage/wal-sync.js'
import type { ChequeDomain, SignedCheque } from '../cheques/types.js'

export interface PayeeLedgerInit {
  /** SQLite file; created if missing. */
  dbPath: string
  /** This node's payee address. */
  payee: Address
  /** The escrow the cheques are drawn on. */
  domain: ChequeDomain
  /** Tokens accepted; any when omitted. */
  tokens?: readonly Address[]
  /**
   * Signers the payer has authorized besides itself (current, previous within grace), e.g. from
   * the escrow watcher. The payer's own key is always valid.
   * @default () => []
   */
  signersOf?: (payer: Address) => readonly Address[]
  /** Shared verifier (keeps the fast-path key cache across ledgers). */
  verifier?: ChequeVerifier
  /** Time source for history rows, ms. @default Date.now */
  now?: () => number
}

/** Options of `accept` / `acceptNewest`. */
export interface AcceptOptions {
  domain?: ChequeDomain
  /**
   * Asked before each signature check; false refuses the cheque with
   * `BITCDN_ERR_PEER_VERIFY_LIMIT` and (in `acceptNewest`) the rest of the burst. The seller's
   * per-peer budget.
   */
  mayVerify?: () => boolean
}

/** The ledger's view of one (payer, token) pair. */
export interface LedgerEntry {
  payer: Address
  token: Address
  /** Best accepted cheque. */
  best: SignedCheque
  /** Cumulative confirmed paid out by the escrow (`paidOut`). */
  settled: TokenUnits
  /** Block of the claim that last raised `settled` (re-checked until final), if any. */
  settledBlock?: bigint
  /** Accepted but unsettled value: best − settled. */
  exposure: TokenUnits
  /** In-flight claim, if any. */
  pending?: { txHash: Hex; cumulative: TokenUnits; sinceMs: number }
  /** When the oldest unsettled cheque of the pair was accepted (ms), if exposure > 0. */
  unsettledSinceMs?: number
}

export interface AcceptResult {
  accepted: true
  payer: Address
  token: Address
  /** The cheque's cumulative, now the pair's best. */
  cumulative: TokenUnits
  /** What this cheque added over the previous best. */
  increment: TokenUnits
  signer: Address
}

/** One confirmed claim of one pair (a claim transaction pays many pairs). */
export interface ClaimRow {
  txHash: Hex
  payer: Address
  token: Address
  /** What the transaction paid for this pair. */
  paid: TokenUnits
  /** The pair's cumulative paid out after it. */
  paidOut: TokenUnits
  atMs: number
}

export interface HistoryRow {
  payer: Address
  token: Address
  cumulative: TokenUnits
  increment: TokenUnits
  atMs: number
}

/** The payee's durable book of cheques. */
export interface PayeeLedger {
  readonly payee: Address
  readonly domain: ChequeDomain
  /**
   * Verifies and durably records a cheque.
   * @throws {PayError} BITCDN_ERR_CHEQUE_WRONG_PAYEE | _WRONG_TOKEN | _WRONG_DOMAIN | _SIGNATURE |
   *   _NOT_NEWER, BITCDN_ERR_LEDGER_CLOSED
   */
  accept(signed: SignedCheque, opts?: AcceptOptions): AcceptResult
  /**
   * Resolves once every cheque accepted before the call is on disk (a group commit: one fsync off
   * the event loop for all of them). Acknowledge or credit a cheque only after it.
   * @throws an I/O error when the disk refuses the sync
   */
  durable(): Promise<void>
  /** Changes whenever the ledger records something (a cheque, a claim): a cache of what it says is stale when this moved. */
  readonly version: number
  /**
   * Coalesces a burst: per (payer, token) only the highest cheque is verified and recorded (each
   * supersedes the older ones, so verifying those would buy nothing); if it fails, the next
   * highest is tried. Cuts signature checks from one per cheque to one per pair per burst.
   */
  acceptNewest(
    cheques: readonly SignedCheque[],
    opts?: AcceptOptions,
  ): { accepted: AcceptResult[]; rejected: { signed: SignedCheque; error: unknown }[]; budgetSpent?: true }
  best(payer: Address, token: Address): SignedCheque | undefined
  entry(payer: Address, token: Address): LedgerEntry | undefined
  /** Every pair with value not yet confirmed on chain. */
  unsettled(): LedgerEntry[]
  /** Every pair, settled or not (in `token` when given). */
  entries(token?: Address): LedgerEntry[]
  /** Confirmed claims, oldest first (with their transaction hashes). */
  claims(): ClaimRow[]
  /** Sum of exposure in `token` (or per payer when given). */
  exposure(token: Address, payer?: Address): TokenUnits
  /** Marks pairs as claimed in `txHash` (not yet confirmed). */
  markPending(rows: readonly { payer: Address; token: Address; cumulative: TokenUnits }[], txHash: Hex): void
  /** Transactions with pairs pending. */
  pendingTxs(): Hex[]
  /**
   * Records a confirmed claim: each pair's on-chain paidOut (and the claim's block, so it can be
   * re-checked against a later reorg); clears the pending mark.
   */
  markConfirmed(txHash: Hex, rows: readonly { payer: Address; token: Address; paidOut: TokenUnits; paid: TokenUnits; block?: bigint }[]): void
  /** Pairs whose settlement came from a claim in a block ≥ `fromBlock` (not final yet). */
  settledSince(fromBlock: bigint): LedgerEntry[]
  /**
   * A reorg undid part of a settlement: the chain's `paidOut` is below what the ledger counted.
   * Lowers `settled` to it (the difference is owed and queued again) and logs a claims row.
   */
  markReorged(payer: Address, token: Address, paidOut: TokenUnits): void
  /** Stops re-checking settlements at or below a final block. */
  markFinal(throughBlock: bigint): void
  /** Puts the pairs of a dropped/reverted tx back in the queue. */
  requeue(txHash: Hex): void
  /**
   * Moves the pairs pending in `from` to `to`: a replacement of the same nonce (a fee bump), or
   * the older transaction of such a family when it is the one that was mined.
   */
  repointPending(from: Hex, to: Hex): void
  history(payer?: Address, token?: Address): HistoryRow[]
  /** Tokens this ledger holds cheques in. */
  tokens(): Address[]
  close(): void
}

interface BestRow {
  payer: string
  token: string
  cumulative: string
  signature: string
  settled: string
  pending_tx: string | null
  pending_cumulative: string | null
  pending_since: number | null
  unsettled_since: number | null
  settled_block: number | null
}

/**
 * Opens (or creates) a payee ledger.
 * @example
 * const ledger = createPayeeLedger({ dbPath, payee, domain, tokens: [usdc] })
 * ledger.accept(signed) // throws a coded PayError if not acceptable
 */
export function createPayeeLedger(init: PayeeLedgerInit): PayeeLedger {
  const payee = getAddress(init.payee)
  const domain = { chainId: init.domain.chainId, verifyingContract: getAddress(init.domain.verifyingContract) }
  const tokens = init.tokens ? new Set(init.tokens.map((t) => getAddress(t))) : undefined
  const signersOf = init.signersOf ?? (() => [])
  const verifier = init.verifier ?? createChequeVerifier(domain)
  const now = init.now ?? Date.now
  const db = new Database(init.dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS best (
      payer TEXT NOT NULL, token TEXT NOT NULL,
      cumulative TEXT NOT NULL, signature TEXT NOT NULL,
      settled TEXT NOT NULL DEFAULT '0',
      pending_tx TEXT, pending_cumulative TEXT, pending_since INTEGER,
      unsettled_since INTEGER,
      PRIMARY KEY (payer, token));
    CREATE TABLE IF NOT EXISTS history (
      id INTEGER PRIMARY KEY, payer TEXT NOT NULL, token TEXT NOT NULL,
      cumulative TEXT NOT NULL, increment TEXT NOT NULL, at_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS claims (
      id INTEGER PRIMARY KEY, tx TEXT NOT NULL, payer TEXT NOT NULL, token TEXT NOT NULL,
      paid TEXT NOT NULL, paid_out TEXT NOT NULL, at_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`)
  // ledgers made before reorg re-checks lack the column
  if (!db.prepare<[], { name: string }>('PRAGMA table_info(best)').all().some((c) => c.name === 'settled_block')) {
    db.exec('ALTER TABLE best ADD COLUMN settled_block INTEGER')
  }
  const stored = db.prepare<[], { v: string }>("SELECT v FROM meta WHERE k = 'scope'").get()
  const scope = `${domain.chainId}:${domain.verifyingContract}:${payee}`
  if (!stored) db.prepare("INSERT INTO meta VALUES ('scope', ?)").run(scope)
  else if (stored.v !== scope) {
    db.close()
    throw new PayError('BITCDN_ERR_CHEQUE_WRONG_DOMAIN', `ledger ${init.dbPath} belongs to ${stored.v}, not ${scope}`)
  }
  const getBest = db.prepare<[string, string], BestRow>('SELECT * FROM best WHERE payer = ? AND token = ?')
  const allUnsettled = db.prepare<[], BestRow>('SELECT * FROM best')
  // per-payer exposure is read on every upload request a buyer makes: one primary-key row, never a
  // scan that grows with the seller's customer count (a cheap way to slow a seller down)
  const bestOf = db.prepare<[string, string], BestRow>('SELECT * FROM best WHERE payer = ? AND token = ?')
  const bestOfToken = db.prepare<[string], BestRow>('SELECT * FROM best WHERE token = ?')
  const upsert = db.prepare(
    `INSERT INTO best (payer, token, cumulative, signature, unsettled_since) VALUES (@payer, @token, @cumulative, @signature, @at)
     ON CONFLICT (payer, token) DO UPDATE SET cumulative = excluded.cumulative, signature = excluded.signature,
       unsettled_since = COALESCE(best.unsettled_since, excluded.unsettled_since)`,
  )
  const addHistory = db.prepare(
    'INSERT INTO history (payer, token, cumulative, increment, at_ms) VALUES (@payer, @token, @cumulative, @increment, @at)',
  )
  const setPending = db.prepare(
    'UPDATE best SET pending_tx = @tx, pending_cumulative = @cumulative, pending_since = @at WHERE payer = @payer AND token = @token',
  )
  const pendingTxs = db.prepare<[], { pending_tx: string }>('SELECT DISTINCT pending_tx FROM best WHERE pending_tx IS NOT NULL')
  const repoint = db.prepare('UPDATE best SET pending_tx = @to WHERE pending_tx = @from')
  const clearPending = db.prepare(
    'UPDATE best SET pending_tx = NULL, pending_cumulative = NULL, pending_since = NULL WHERE pending_tx = ?',
  )
  const confirm = db.prepare(
    `UPDATE best SET settled = @paidOut, pending_tx = NULL, pending_cumulative = NULL, pending_since = NULL,
       unsettled_since = CASE WHEN @paidOut = cumulative THEN NULL ELSE unsettled_since END,
       settled_block = COALESCE(@block, settled_block)
     WHERE payer = @payer AND token = @token`,
  )
  const sinceBlock = db.prepare<[number], BestRow>('SELECT * FROM best WHERE settled_block IS NOT NULL AND settled_block >= ?')
  const reorged = db.prepare(
    `UPDATE best SET settled = @paidOut, unsettled_since = COALESCE(unsettled_since, @at) WHERE payer = @payer AND token = @token`,
  )
  const finalize = db.prepare('UPDATE best SET settled_block = NULL WHERE settled_block IS NOT NULL AND settled_block <= ?')
  const addClaim = db.prepare(
    'INSERT INTO claims (tx, payer, token, paid, paid_out, at_ms) VALUES (@tx, @payer, @token, @paid, @paidOut, @at)',
  )
  let closed = false
  const check = (): void => {
    if (closed) throw new PayError('BITCDN_ERR_LEDGER_CLOSED', 'payee ledger is closed')
  }

  const toEntry = (r: BestRow): LedgerEntry => {
    const best = BigInt(r.cumulative)
    const settled = BigInt(r.settled)
    const e: LedgerEntry = {
      payer: r.payer as Address,
      token: r.token as Address,
      best: {
        cheque: { payer: r.payer as Address, payee, token: r.token as Address, cumulativeAmount: tokenUnits(best) },
        signature: r.signature as Hex,
      },
      settled: tokenUnits(settled),
      exposure: tokenUnits(best > settled ? best - settled : 0n),
    }
    if (r.pending_tx) {
      e.pending = { txHash: r.pending_tx as Hex, cumulative: tokenUnits(BigInt(r.pending_cumulative ?? '0')), sinceMs: r.pending_since ?? 0 }
    }
    if (r.unsettled_since !== null && best > settled) e.unsettledSinceMs = r.unsettled_since
    if (r.settled_block !== null) e.settledBlock = BigInt(r.settled_block)
    return e
  }

  const commitAcceptTx = db.transaction((row: { payer: string; token: string; cumulative: string; signature: string; increment: string; at: number }) => {
    upsert.run(row)
    addHistory.run(row)
  })
  // a cheque's commit skips the fsync on the event loop; `durable()` syncs a whole group of them
  const relaxed = db.prepare('PRAGMA synchronous = NORMAL')
  const strict = db.prepare('PRAGMA synchronous = FULL')
  const commitAccept = (row: Parameters<typeof commitAcceptTx>[0]): void => {
    relaxed.run()
    try {
      commitAcceptTx(row)
    } finally {
      strict.run()
    }
    version++
  }
  const walSync = createWalSync(init.dbPath)
  /** Bumped by every write: `exposure` is read on every block a buyer is served, so it is cached against it. */
  let version = 0
  const exposureCache = new Map<string, { version: number; value: TokenUnits }>()

  const ledger: PayeeLedger = {
    payee,
    domain,
    acceptNewest(cheques, opts) {
      const groups = new Map<string, SignedCheque[]>()
      for (const c of cheques) {
        const k = `${c.cheque.payer.toLowerCase()}:${c.cheque.token.toLowerCase()}`
        const g = groups.get(k)
        if (g) g.push(c)
        else groups.set(k, [c])
      }
      const accepted: AcceptResult[] = []
      const rejected: { signed: SignedCheque; error: unknown }[] = []
      let spent = false
      for (const group of groups.values()) {
        group.sort((a, b) => (a.cheque.cumulativeAmount < b.cheque.cumulativeAmount ? 1 : -1))
        let done = false
        for (const signed of group) {
          if (done || spent) {
            // superseded by an accepted cheque, below the best, or past the verification budget
            if (spent && !done) rejected.push({ signed, error: peerVerifyLimitError() })
            continue
          }
          try {
            accepted.push(ledger.accept(signed, opts))
            done = true
          } catch (error) {
            const code = (error as { code?: string }).code
            if (code === 'BITCDN_ERR_PEER_VERIFY_LIMIT') {
              spent = true
              rejected.push({ signed, error })
              continue
            }
            rejected.push({ signed, error })
            if (code === 'BITCDN_ERR_CHEQUE_NOT_NEWER') done = true // the rest are lower still
          }
        }
      }
      return spent ? { accepted, rejected, budgetSpent: true } : { accepted, rejected }
    },
    durable: () => walSync.sync(),
    get version() {
      return version
    },
    accept(signed, opts) {
      check()
      const c = signed.cheque
      if (opts?.domain && (opts.domain.chainId !== domain.chainId || getAddress(opts.domain.verifyingContract) !== domain.verifyingContract)) {
        throw new PayError('BITCDN_ERR_CHEQUE_WRONG_DOMAIN', `cheque is for chain ${opts.domain.chainId} escrow ${opts.domain.verifyingContract}`)
      }
      if (getAddress(c.payee) !== payee) {
        throw new PayError('BITCDN_ERR_CHEQUE_WRONG_PAYEE', `cheque pays ${c.payee}, not ${payee}`)
      }
      const token = getAddress(c.token)
      if (tokens && !tokens.has(token)) throw new PayError('BITCDN_ERR_CHEQUE_WRONG_TOKEN', `token ${token} is not accepted`)
      const payer = getAddress(c.payer)
      const prev = getBest.get(payer, token)
      const prevAmount = prev ? BigInt(prev.cumulative) : 0n
      // cheap check first: a stale cheque costs no signature verification
      if (c.cumulativeAmount <= prevAmount) {
        throw new PayError('BITCDN_ERR_CHEQUE_NOT_NEWER', `cheque cumulative ${c.cumulativeAmount} is not above ${prevAmount}`, {
          details: { payer, token, best: prevAmount.toString() },
        })
      }
      const allowed = [payer, ...signersOf(payer).map((s) => getAddress(s))]
      if (opts?.mayVerify && !opts.mayVerify()) throw peerVerifyLimitError()
      const signer = verifier.recoverSigner(signed, allowed)
      if (!signer || !allowed.includes(signer)) {
        throw new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', `cheque is not signed by ${payer} or an authorized signer`, {
          details: { payer, recovered: signer },
        })
      }
      const increment = c.cumulativeAmount - prevAmount
      commitAccept({
        payer,
        token,
        cumulative: c.cumulativeAmount.toString(),
        signature: signed.signature,
        increment: increment.toString(),
        at: now(),
      })
      return { accepted: true, payer, token, cumulative: tokenUnits(c.cumulativeAmount), increment: tokenUnits(increment), signer }
    },
    best(payer, token) {
      check()
      const r = getBest.get(getAddress(payer), getAddress(token))
      return r ? toEntry(r).best : undefined
    },
    entry(payer, token) {
      check()
      const r = getBest.get(getAddress(payer), getAddress(token))
      return r ? toEntry(r) : undefined
    },
    unsettled() {
      check()
      return allUnsettled.all().map(toEntry).filter((e) => e.exposure > 0n)
    },
    entries(token) {
      check()
      const t = token ? getAddress(token) : undefined
      return allUnsettled.all().filter((r) => !t || r.token === t).map(toEntry)
    },
    claims() {
      check()
      return db
        .prepare<[], { tx: string; payer: string; token: string; paid: string; paid_out: string; at_ms: number }>('SELECT * FROM claims ORDER BY id')
        .all()
        .map((r) => ({
          txHash: r.tx as Hex,
          payer: r.payer as Address,
          token: r.token as Address,
          paid: tokenUnits(BigInt(r.paid)),
          paidOut: tokenUnits(BigInt(r.paid_out)),
          atMs: r.at_ms,
        }))
    },
    exposure(token, payer) {
      check()
      if (payer) {
        // keyed by the caller's spelling: no checksum per call; bounded (cleared when full)
        const k = `${payer}:${token}`
        const c = exposureCache.get(k)
        if (c !== undefined && c.version === version) return c.value
        const r = bestOf.get(getAddress(payer), getAddress(token))
        const value = tokenUnits(r ? toEntry(r).exposure : 0n)
        if (exposureCache.size >= 4096) exposureCache.clear()
        exposureCache.set(k, { version, value })
        return value
      }
      const t = getAddress(token)
      let sum = 0n
      for (const r of bestOfToken.all(t)) sum += toEntry(r).exposure
      return tokenUnits(sum)
    },
    markPending(rows, txHash) {
      check()
      version++
      const at = now()
      db.transaction(() => {
        for (const r of rows) setPending.run({ tx: txHash, cumulative: r.cumulative.toString(), at, payer: getAddress(r.payer), token: getAddress(r.token) })
      })()
    },
    pendingTxs() {
      check()
      return pendingTxs.all().map((r) => r.pending_tx as Hex)
    },
    markConfirmed(txHash, rows) {
      check()
      version++
      const at = now()
      db.transaction(() => {
        for (const r of rows) {
          const row = { payer: getAddress(r.payer), token: getAddress(r.token), paidOut: r.paidOut.toString() }
          confirm.run({ ...row, block: r.block === undefined ? null : Number(r.block) })
          addClaim.run({ ...row, tx: txHash, paid: r.paid.toString(), at })
        }
        clearPending.run(txHash)
      })()
    },
    settledSince(fromBlock) {
      check()
      return sinceBlock.all(Number(fromBlock)).map(toEntry)
    },
    markReorged(payer, token, paidOut) {
      check()
      version++
      const row = { payer: getAddress(payer), token: getAddress(token), paidOut: paidOut.toString() }
      db.transaction(() => {
        reorged.run({ ...row, at: now() })
        addClaim.run({ ...row, tx: 'reorg', paid: '0', at: now() })
      })()
    },
    markFinal(throughBlock) {
      check()
      version++
      finalize.run(Number(throughBlock))
    },
    requeue(txHash) {
      check()
      version++
      clearPending.run(txHash)
    },
    repointPending(from, to) {
      check()
      version++
      repoint.run({ from, to })
    },
    history(payer, token) {
      check()
      const rows = db
        .prepare<[], { payer: string; token: string; cumulative: string; increment: string; at_ms: number }>('SELECT * FROM history ORDER BY id')
        .all()
      return rows
        .filter((r) => (!payer || r.payer === getAddress(payer)) && (!token || r.token === getAddress(token)))
        .map((r) => ({
          payer: r.payer as Address,
          token: r.token as Address,
          cumulative: tokenUnits(BigInt(r.cumulative)),
          increment: tokenUnits(BigInt(r.increment)),
          atMs: r.at_ms,
        }))
    },
    tokens() {
      check()
      return db.prepare<[], { token: string }>('SELECT DISTINCT token FROM best').all().map((r) => r.token as Address)
    },
    close() {
      if (closed) return
      closed = true
      db.close()
      void walSync.close()
    },
  }
  return ledger
}
