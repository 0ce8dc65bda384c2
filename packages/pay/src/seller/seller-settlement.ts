/**
 * The seller's settlement side in one service, for the node: the payee ledger, the escrow watcher
 * and the cash-out, wired together.
 *
 * - The ledger trusts the signers the watcher reads from the escrow (current, and the previous one
 *   during its grace in chain time).
 * - A buyer that asks the escrow for a withdrawal is claimed at once: the watcher's
 *   `WithdrawRequested` marks it urgent in the cash-out and starts a pass, so the claim lands
 *   inside the notice period, before the funds can leave.
 * - Cheques arrive through `receive()`, which keeps only the newest verified cheque per buyer and
 *   token (`ledger.acceptNewest`: cumulative cheques supersede each other, so one signature check
 *   per buyer per burst, not per cheque). Credit grows only by what the ledger verified and
 *   stored on disk: `receive()` resolves after the ledger's group commit (`durable()`, an fsync
 *   off the event loop shared by every cheque committed before it); until then the cheque counts
 *   neither as payment nor as exposure. A forged or stale cheque never extends credit.
 * - Reading the chain for a cheque's payer is bounded (a cheque can name any address): cheques are
 *   screened first without any read (payee, token, amount, signature form), and for a payer not
 *   tracked yet the signer is recovered once, locally. The payer's first cheque costs one lookup
 *   (signer + funds), later ones none. Lookups for new payers go through a `PayerGate`: a token
 *   bucket (`lookupBurst`, `lookupsPerSecond`) and a negative cache of payers found without escrow
 *   funds or signed by a key they have not authorized (`BITCDN_ERR_CHEQUE_PAYER_UNKNOWN` until the
 *   entry expires; `BITCDN_ERR_LOOKUP_RATE_LIMITED` past the bucket). Tracked payers bypass the
 *   gate; their signer rotations arrive through the watcher's `SignerChanged` events.
 * - Credit is backed by claimable collateral (`collateral()`): the allocation to this seller minus
 *   its pending decrease, plus a soft allowance from the free balance (`softAllowance`, default one
 *   piece's worth), minus this seller's unsettled cheques. A cheque's increment is credited only up
 *   to that collateral as it was before the cheque; the excess is reported in `unbacked`
 *   (`BITCDN_ERR_CHEQUE_UNBACKED`) and never counted as payment. The cheque itself is still kept:
 *   claiming more than is there pays what is there, never less.
 * - Signature checks are budgeted per peer (`verifyBudget`, `receive(cheques, { peer })`): past the
 *   budget the rest of the burst is refused (`BITCDN_ERR_PEER_VERIFY_LIMIT`) and the result says
 *   `closePeer: true` — the wire layer closes that connection.
 * - Deadlines: a withdrawal request, a deallocation request naming this seller, a signer rotation
 *   or revocation (watcher `onUrgent`) make the cash-out claim that payer at once; so does
 *   accepting a cheque signed by a rotated-out signer (it must land before the grace ends), or
 *   any cheque while the payer's withdrawal or our allocation's decrease is pending (with that
 *   notice's deadline, so its claim is repriced as the deadline nears). A
 *   revoked signer's new cheques are refused (`BITCDN_ERR_SIGNER_REVOKED`).
 * - Unpaid credit survives a restart: each buyer's credit state is written to the ledger's SQLite
 *   file (`credit-store.ts`) at every change; `delivered()` is called in batches (the market
 *   seller: at most 1 MiB or 100 ms behind), so the debt on disk lags one piece's worth at most.
 * - A stale debt is written off (`forgiveUnpaidAfterMs`, one day by default): `credit()` forgives
 *   a payer that owes something and has had no delivery and no credited cheque for that long
 *   (`BuyerCredit.forgiveIfIdle`: nothing owed, the window back to one piece, the amount added to
 *   its `writtenOff` — and taken off the cap its window can regrow to, never below one piece, so
 *   regrowing and defaulting again takes at most `maxWindow + n · piece` in all), lazily — when the payer is looked up, never by a scan of all payers. The
 *   last activity is stored with the credit, in wall-clock time (`components.clock`), so a restart
 *   neither restarts the period nor ends it early. A write-off changes `collateralVersion()`, so a
 *   caller's figures derived from the payer's credit are derived again. Accepted cheques are the
 *   ledger's and are not touched: what they pay stays claimable.
 * - `collateral()` and `credit()` are asked on every block served, so they are cached: collateral
 *   against the watcher's `version`, the ledger's `version` and the cheques awaiting their fsync,
 *   so it is exactly as fresh as the watcher (its event poll, `pollingIntervalMs`, 1 s by default,
 *   and its periodic re-read).
 *
 * The bound on what a seller can lose to any buyer behaviour is derived in `SELLER-BOUND.md`.
 */
import { getAddress, hexToBytes, type Address, type PublicClient, type WalletClient } from 'viem'
import { silentLogger, tokenUnits, type Clock, type Logger, type Startable, type TokenUnits } from '@bitcdn/core'
import { createCashout, type Cashout, type CashoutInit } from '../cashout/cashout.js'
import { BuyerCredit, collateralAvailable, creditableIncrement, DEFAULT_FORGIVE_UNPAID_AFTER_MS, type BuyerCreditInit, type CreditAction } from '../credit/credit-rules.js'
import { openCreditStore, type StoredCredit } from '../credit/credit-store.js'
import { createEscrowWatcher, type EscrowWatcher, type EscrowWatcherInit, type UrgentClaim } from '../credit/escrow-watcher.js'
import { openWatchCursor } from '../credit/watch-cursor.js'
import { createPayeeLedger, type AcceptResult, type PayeeLedger } from '../ledger/payee-ledger.js'
import { MAX_CUMULATIVE, type ChequeDomain, type SignedCheque } from '../cheques/types.js'
import { PayError, peerVerifyLimitError } from '../cheques/errors.js'
import { parseSignatureBytes } from '../cheques/signature.js'
import { createChequeVerifier } from '../cheques/verify.js'
import { createPayerGate, type PayerGate, type PayerGateInit } from './payer-gate.js'
import { createPeerBudget, type PeerBudgetInit } from './peer-budget.js'

export interface SellerSettlementInit {
  /** The payee ledger's SQLite file. */
  ledgerPath: string
  /** This seller's payee address (the cash-out wallet's account). */
  payee: Address
  /** The escrow (chain id and address). */
  domain: ChequeDomain
  /** Tokens accepted; any when omitted. */
  tokens?: readonly Address[]
  /** Cash-out settings (threshold, age, gas cap, confirmations, batch size…). */
  cashout?: Omit<CashoutInit, 'escrow' | 'watchWithdrawals'>
  /** Event and block polling of the watcher, ms. @default 1000 */
  pollingIntervalMs?: number
  /** The watcher's log reading and re-reads (`maxLogRange`, `rereadIntervalMs`, `reorgDepth`, `maxCatchUpBlocks`). */
  watch?: Pick<EscrowWatcherInit, 'maxLogRange' | 'rereadIntervalMs' | 'reorgDepth' | 'maxCatchUpBlocks'>
  /**
   * Bounds on chain lookups for payers not tracked yet (defaults: burst 16, 2 per second,
   * negative cache of 4096 entries for 5 minutes). See `PayerGateInit`.
   */
  lookups?: PayerGateInit
  /**
   * The most of a buyer's free (unallocated) balance this seller extends credit against, token
   * base units; the free balance is shared with every payee and can be drained at once by a
   * sock-puppet payee, so it is soft collateral. A function gets the buyer's credit settings.
   * @default one piece's worth (`creditInit(payer, token).pieceValue`)
   */
  softAllowance?: bigint | ((payer: Address, token: Address, credit: BuyerCreditInit) => bigint)
  /** Signature checks per peer (defaults: 32 at once, 16 per second, 4096 peers). */
  verifyBudget?: PeerBudgetInit
  /** Stop accepting a rotated-out signer this long before its grace ends, s. @default 3600 (the escrow's REVOKE_DELAY) */
  signerMarginS?: number
  /**
   * Write a payer's unpaid debt off once it has had no delivery and no credited cheque here for
   * this long, ms; 0 never forgives (a debt then stays until paid). A payer that never pays gets
   * at most its first credit window per period; one whose blocks a relay kept is served again
   * after it (docs/security.md), its window cap lowered by what was written off (never below one
   * piece). Overrides the `creditInit`'s. @default 86_400_000 (one day)
   */
  forgiveUnpaidAfterMs?: number
  /** Told of every write-off (for metrics and logs). */
  onWriteOff?: (w: WriteOff) => void
}

/** A payer's debt written off by forgiveness. */
export interface WriteOff {
  payer: Address
  token: Address
  /** Value written off now. */
  amount: TokenUnits
  /** The payer's written-off total, this one included. */
  total: TokenUnits
  /** How long the payer had been idle, ms. */
  idleMs: number
}

export interface SellerSettlementComponents {
  publicClient: PublicClient
  walletClient: WalletClient
  clock?: Clock
  logger?: Logger
}

/** An accepted cheque and how much of it counted as payment. */
export interface CreditedCheque extends AcceptResult {
  /** The part of `increment` within the collateral: what the buyer's credit was paid. */
  credited: TokenUnits
}

/** What `receive()` did with a burst. */
export interface ReceiveResult {
  /** Cheques verified and stored (the newest per buyer and token). */
  accepted: CreditedCheque[]
  rejected: { signed: SignedCheque; error: unknown }[]
  /**
   * Accepted cheques whose increment exceeded the collateral: `excess` was not counted as
   * payment (`error` is `BITCDN_ERR_CHEQUE_UNBACKED`). The buyer is not paid up by it.
   */
  unbacked: { payer: Address; token: Address; excess: TokenUnits; error: PayError }[]
  /** True when the peer spent its signature-check budget: close that connection. */
  closePeer: boolean
}

/** Options of one `receive()` call. */
export interface ReceiveOptions {
  /** The connection the cheques came on (its budget of signature checks). @default 'anonymous' */
  peer?: string
}

export interface SellerSettlement extends Startable {
  readonly ledger: PayeeLedger
  readonly watcher: EscrowWatcher
  readonly cashout: Cashout
  /** The lookup limiter for new payers (counters for metrics). */
  readonly gate: PayerGate
  /**
   * Records a burst of cheques from one peer (newest per buyer verified first); credits each buyer
   * with the backed part of what the ledger accepted, and starts following new buyers' escrow
   * funds. Never throws for a bad cheque: every refusal is in the result with its code.
   */
  receive(cheques: readonly SignedCheque[], opts?: ReceiveOptions): Promise<ReceiveResult>
  /**
   * Starts following a buyer's escrow funds before its first cheque (the market layer calls it at
   * the handshake, so the first piece can be served against collateral). Goes through the same
   * lookup gate as a new payer's cheque.
   * @throws {PayError} BITCDN_ERR_LOOKUP_RATE_LIMITED; an RPC error when the chain cannot be read
   */
  follow(payer: Address, token: Address): Promise<void>
  /**
   * The running credit of a buyer in a token (created on first use, resumed from disk). A debt due
   * for forgiveness (`forgiveUnpaidAfterMs`) is written off first; its `writtenOff` is the total.
   */
  credit(payer: Address, token: Address): BuyerCredit
  /**
   * What this seller could claim for this buyer right now and has not yet been paid by cheque:
   * (allocation − pending decrease) + min(soft allowance, free − pending withdrawal) − our
   * unsettled cheques. 0 for a buyer whose funds are not known.
   */
  collateral(payer: Address, token: Address): TokenUnits
  /**
   * A number that changes whenever `collateral()` of any payer may have changed (the watcher's
   * funds, the ledger's records, the cheques awaiting their fsync), and when a payer's debt was
   * written off: a caller that derives a figure from `collateral()` or a payer's debt (the market
   * seller's per-block byte limit) keeps it while this holds.
   */
  collateralVersion(): number
  /** True when delivering `value` more to the buyer keeps its debt within its limit. Ask before each piece. */
  mayDeliver(payer: Address, token: Address, value: TokenUnits): boolean
  /** serve / request-payment / choke / disconnect for a buyer right now. */
  action(payer: Address, token: Address): CreditAction
  /** Forgets a closed connection's signature budget. */
  peerClosed(peer: string): void
  /** Every payer's stored credit: what it owes now and what was written off (the operator's earnings view). */
  credits(): StoredCredit[]
}

/**
 * The market layer's use, per buyer connection:
 * @example
 * const seller = createSellerSettlement({ ledgerPath, payee, domain, tokens: [usdc] }, () => ({ pieceValue }))({ publicClient, walletClient })
 * await seller.start()
 * await seller.follow(buyer, usdc)                       // at the handshake (gated chain lookup)
 * if (seller.mayDeliver(buyer, usdc, pieceValue)) {      // before each piece
 *   sendPiece(); seller.credit(buyer, usdc).delivered(pieceValue)
 * } else requestPayment()                                // or choke; seller.action() says which
 * const r = await seller.receive(chequesFromTheWire, { peer: connectionId })
 * if (r.closePeer) connection.destroy()                  // spent its signature-check budget
 * for (const u of r.unbacked) log.warn(u.error.message)  // paid more than its escrow backs
 * // on close: seller.peerClosed(connectionId)
 */
export function createSellerSettlement(
  init: SellerSettlementInit,
  creditInit: (payer: Address, token: Address) => BuyerCreditInit = () => ({ pieceValue: tokenUnits(1n) }),
): (components: SellerSettlementComponents) => SellerSettlement {
  return (components) => {
    const log = (components.logger ?? silentLogger).child({ component: 'seller-settlement' })
    const forgiveAfterMs = init.forgiveUnpaidAfterMs ?? DEFAULT_FORGIVE_UNPAID_AFTER_MS
    if (!Number.isFinite(forgiveAfterMs) || forgiveAfterMs < 0) throw new PayError('BITCDN_ERR_AMOUNT_RANGE', `forgiveUnpaidAfterMs ${forgiveAfterMs} is not a finite number ≥ 0`)
    const escrow = getAddress(init.domain.verifyingContract)
    const now = components.clock ? () => components.clock!.now() : Date.now
    const verifier = createChequeVerifier(init.domain)
    const gate = createPayerGate(init.lookups, now)
    const payee = getAddress(init.payee)
    const tokens = init.tokens ? new Set(init.tokens.map((t) => getAddress(t))) : undefined
    // the log cursor lives in the ledger's file: a restart reads on from where the seller stopped
    const cursor = openWatchCursor(init.ledgerPath, `${init.domain.chainId}:${escrow}:${getAddress(init.payee)}`)
    const watcher = createEscrowWatcher({ ...init.watch, escrow, payee: init.payee, pollingIntervalMs: init.pollingIntervalMs, signerMarginS: init.signerMarginS })({ ...components, cursor })
    const budget = createPeerBudget(init.verifyBudget, now)
    const ledger = createPayeeLedger({
      dbPath: init.ledgerPath,
      payee: init.payee,
      domain: init.domain,
      tokens: init.tokens,
      signersOf: (payer) => watcher.signersOf(payer),
      verifier,
      now,
    })
    // the watcher is the one subscriber to WithdrawRequested; it hands the payer to the cash-out
    const cashout = createCashout({ ...init.cashout, escrow, watchWithdrawals: false })({ ...components, ledger })
    const credits = new Map<string, BuyerCredit>()
    // by the caller's spelling, payer then token: a per-block lookup builds no key string
    const creditsByRaw = new Map<string, Map<string, BuyerCredit>>()
    const collateralCache = new Map<string, Map<string, { watcher: number; ledger: number; awaiting: number; value: TokenUnits }>>()
    const rawCached = <T>(cache: Map<string, Map<string, T>>, payer: string, token: string, v: T): void => {
      let m = cache.get(payer)
      if (m === undefined) {
        if (cache.size >= 4096) cache.clear()
        cache.set(payer, (m = new Map()))
      }
      m.set(token, v)
    }
    /** Increments of cheques committed but not yet on disk, by payer:token. */
    const awaiting = new Map<string, bigint>()
    let awaitingVersion = 0
    // collateralVersion(): one number over the three versions collateral() is cached against
    let collateralEpoch = 0
    let seenVersions = { watcher: -1, ledger: -1, awaiting: -1, writeOffs: -1 }
    const creditStore = openCreditStore(init.ledgerPath, { now })
    /** Write-offs so far (part of `collateralVersion()`). */
    let writeOffs = 0
    /** Writes `c`'s debt off if it is due (asked on every look-up: one comparison when nothing is owed). */
    const forgiveDue = (c: BuyerCredit, payer: string, token: string): void => {
      const last = c.lastActivityMs
      const amount = c.forgiveIfIdle()
      if (amount === 0n) return
      writeOffs++
      const w: WriteOff = { payer: getAddress(payer), token: getAddress(token), amount, total: c.writtenOff, idleMs: now() - last }
      log.info({ payer: w.payer, token: w.token, amount: amount.toString(), total: w.total.toString(), idleMs: w.idleMs }, 'idle payer’s unpaid debt written off; its window starts again at one piece, its cap lowered by the amount')
      init.onWriteOff?.(w)
    }
    const tracked = new Set<string>()
    const soft = (payer: Address, token: Address): bigint => {
      const a = init.softAllowance
      if (typeof a === 'bigint') return a
      const ci = creditInit(payer, token)
      return a ? a(payer, token, ci) : ci.pieceValue
    }
    /** The earliest notice on a payer's funds for us (withdrawal, decrease of our allocation), if any. */
    const leavingDeadline = (payer: Address, token: Address): Pick<UrgentClaim, 'reason' | 'deadlineS'> | undefined => {
      const f = watcher.funds(payer, token)
      if (!f) return undefined
      // a notice whose ready time is unknown (0) is still claimed at once, without a deadline
      const w = f.pendingWithdrawal > 0n ? f.withdrawReadyAt : undefined
      const d = f.pendingDeallocation > 0n ? f.deallocationReadyAt : undefined
      const sooner = (x: bigint, y: bigint) => x > 0n && (y === 0n || x <= y)
      if (w !== undefined && (d === undefined || sooner(w, d) || d === 0n)) return { reason: 'withdraw-requested', deadlineS: w }
      if (d !== undefined) return { reason: 'deallocation-requested', deadlineS: d }
      return undefined
    }
    const claimNow = (u: UrgentClaim): void => {
      log.info({ ...u }, 'buyer’s money or cheques are on a deadline; claiming now')
      cashout.urgent(u.payer, u.deadlineS)
      cashout.tick().catch((err: unknown) => log.warn({ err, payer: u.payer }, 'urgent claim failed'))
    }

    const track = async (payer: Address, token: Address): Promise<void> => {
      const k = `${payer}:${token}`
      if (tracked.has(k)) return
      tracked.add(k)
      try {
        await watcher.track(payer, token)
      } catch (err) {
        tracked.delete(k)
        log.warn({ err, payer, token }, 'cannot read the buyer’s escrow funds')
      }
    }

    /** Checks that cost no chain read; the error, or undefined when the cheque may go on. */
    const screen = (signed: SignedCheque): PayError | undefined => {
      const c = signed?.cheque
      if (!c || typeof c.cumulativeAmount !== 'bigint' || typeof signed.signature !== 'string') {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque is missing fields')
      }
      let p: Address, t: Address, e: Address
      try {
        p = getAddress(c.payer)
        t = getAddress(c.token)
        e = getAddress(c.payee)
      } catch (cause) {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque has an invalid address', { cause })
      }
      if (e !== payee) return new PayError('BITCDN_ERR_CHEQUE_WRONG_PAYEE', `cheque pays ${e}, not ${payee}`)
      if (tokens && !tokens.has(t)) return new PayError('BITCDN_ERR_CHEQUE_WRONG_TOKEN', `token ${t} is not accepted`)
      if (p === '0x0000000000000000000000000000000000000000') return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque payer is the zero address')
      if (c.cumulativeAmount <= 0n || c.cumulativeAmount > MAX_CUMULATIVE) {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque amount is not within 1..uint128')
      }
      try {
        parseSignatureBytes(hexToBytes(signed.signature))
      } catch (err) {
        return err instanceof PayError ? err : new PayError('BITCDN_ERR_CHEQUE_INVALID', 'signature is not hex', { cause: err })
      }
      return undefined
    }

    const inflight = new Map<string, Promise<void>>()
    /** One gated lookup of a new payer (shared by concurrent bursts); throws a coded PayError when refused. */
    const lookup = async (payer: Address, token: Address): Promise<void> => {
      const k = `${payer}:${token}`
      const running = inflight.get(k)
      if (running) return running
      if (!gate.tryLookup()) {
        throw new PayError('BITCDN_ERR_LOOKUP_RATE_LIMITED', `too many lookups of new payers; ${payer} not looked up (resend later)`, {
          details: { payer },
        })
      }
      const p = (async () => {
        const wasTracked = watcher.isTracked(payer)
        try {
          await watcher.track(payer, token)
        } catch (err) {
          if (!wasTracked) watcher.untrack(payer)
          log.warn({ err, payer, token }, 'cannot read the buyer’s escrow funds')
          throw err
        }
      })()
      inflight.set(k, p)
      try {
        await p
      } finally {
        inflight.delete(k)
      }
    }

    const seller: SellerSettlement = {
      ledger,
      watcher,
      cashout,
      gate,
      async receive(cheques, opts = {}) {
        const peer = opts.peer ?? 'anonymous'
        let closePeer = false
        const mayVerify = (): boolean => {
          if (closePeer) return false
          if (budget.take(peer)) return true
          closePeer = true
          return false
        }
        const rejected: ReceiveResult['rejected'] = []
        const pass: SignedCheque[] = []
        const groups = new Map<string, { payer: Address; token: Address; cheques: SignedCheque[] }>()
        for (const signed of cheques) {
          const error = screen(signed)
          if (error) {
            rejected.push({ signed, error })
            continue
          }
          const payer = getAddress(signed.cheque.payer)
          const token = getAddress(signed.cheque.token)
          const k = `${payer}:${token}`
          const g = groups.get(k) ?? { payer, token, cheques: [] }
          g.cheques.push(signed)
          groups.set(k, g)
        }
        for (const [k, g] of groups) {
          // a known buyer: the ledger verifies against the signers the watcher already holds
          if (tracked.has(k)) {
            pass.push(...g.cheques)
            continue
          }
          const { payer, token } = g
          const rejectAll = (error: unknown, list = g.cheques): void => {
            for (const signed of list) rejected.push({ signed, error })
          }
          if (gate.isRejected(`${payer}:${token}`)) {
            rejectAll(new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `payer ${payer} has no escrow funds in ${token} (looked up recently)`, { details: { payer, token } }))
            continue
          }
          // recover each signer once, locally; no candidates, so an unproven payer's key is not
          // cached (a table per random key would cost CPU and evict real buyers' keys)
          const known = (): Address[] => [payer, ...watcher.signersOf(payer).map((s) => getAddress(s))]
          const recovered: { signed: SignedCheque; signer: Address | undefined }[] = []
          for (const signed of g.cheques) {
            if (!mayVerify()) {
              rejected.push({ signed, error: peerVerifyLimitError() })
              continue
            }
            recovered.push({ signed, signer: verifier.recoverSigner(signed) })
          }
          const bad = recovered.filter((r) => !r.signer)
          rejectAll(new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', 'cheque signature does not recover to a key', { details: { payer } }), bad.map((r) => r.signed))
          // signers already negatively cached for this payer: rejected with no read
          const live = recovered.filter((r) => r.signer && !gate.isRejected(`${payer}/${r.signer}`))
          for (const r of recovered) {
            if (r.signer && !live.includes(r)) {
              rejected.push({ signed: r.signed, error: new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `signer ${r.signer} is not authorized by ${payer} (looked up recently)`, { details: { payer, recovered: r.signer } }) })
            }
          }
          if (live.length === 0) continue
          try {
            await lookup(payer, token)
          } catch (error) {
            rejectAll(error, live.map((r) => r.signed))
            continue
          }
          const f = watcher.funds(payer, token)
          if (!f || f.free + f.pendingWithdrawal + f.allocatedToUs === 0n) {
            gate.reject(`${payer}:${token}`)
            // forget a payer the seller follows in no token (keeps an attacker's payers out of memory)
            if (!ledger.entry(payer, token) && ![...tracked].some((t) => t.startsWith(`${payer}:`))) watcher.untrack(payer)
            rejectAll(new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `payer ${payer} has no escrow funds in ${token}`, { details: { payer, token } }), live.map((r) => r.signed))
            continue
          }
          tracked.add(k)
          const authorized = known()
          for (const r of live) {
            if (authorized.includes(r.signer!)) pass.push(r.signed)
            else {
              gate.reject(`${payer}/${r.signer}`)
              rejected.push({ signed: r.signed, error: new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', `cheque is not signed by ${payer} or an authorized signer`, { details: { payer, recovered: r.signer } }) })
            }
          }
        }
        // collateral before the burst: an increment counts only up to it
        const backing = new Map<string, TokenUnits>()
        for (const c of pass) {
          const k = `${getAddress(c.cheque.payer)}:${getAddress(c.cheque.token)}`
          if (!backing.has(k)) backing.set(k, seller.collateral(c.cheque.payer, c.cheque.token))
        }
        const r = ledger.acceptNewest(pass, { mayVerify })
        if (r.accepted.length > 0) {
          // committed, not yet on disk: counted as neither exposure nor payment until the group
          // commit lands (so the buyer's credit neither shrinks nor grows meanwhile), then credited
          for (const a of r.accepted) awaiting.set(`${a.payer}:${a.token}`, (awaiting.get(`${a.payer}:${a.token}`) ?? 0n) + a.increment)
          awaitingVersion++
          try {
            await ledger.durable()
          } finally {
            for (const a of r.accepted) {
              const k = `${a.payer}:${a.token}`
              const left = (awaiting.get(k) ?? 0n) - a.increment
              if (left > 0n) awaiting.set(k, left)
              else awaiting.delete(k)
            }
            awaitingVersion++
          }
        }
        const accepted: CreditedCheque[] = []
        const unbacked: ReceiveResult['unbacked'] = []
        // only what the ledger verified and stored, and only up to the collateral, counts as paid
        for (const a of r.accepted) {
          const { credited, excess } = creditableIncrement(a.increment, backing.get(`${a.payer}:${a.token}`) ?? tokenUnits(0n))
          seller.credit(a.payer, a.token).paid(credited)
          accepted.push({ ...a, credited })
          if (excess > 0n) {
            unbacked.push({
              payer: a.payer,
              token: a.token,
              excess,
              error: new PayError('BITCDN_ERR_CHEQUE_UNBACKED', `cheque of ${a.payer} pays ${excess} more than its escrow backs for this seller; not counted`, {
                details: { payer: a.payer, token: a.token, increment: a.increment.toString(), credited: credited.toString() },
              }),
            })
          }
          // a rotated-out signer's cheque is claimable only until its grace ends
          const prev = watcher.previousSigner(a.payer)
          if (prev && a.signer === getAddress(prev.signer)) claimNow({ payer: a.payer, token: a.token, reason: 'signer-rotated', deadlineS: prev.validUntilS })
          // a cheque accepted while the payer's funds are leaving is on the notice's deadline too:
          // the urgent claim of the cheques held when the notice came has already gone (and the
          // cash-out forgot that deadline once it confirmed), so this one starts its own
          const leaving = leavingDeadline(a.payer, a.token)
          if (leaving) claimNow({ payer: a.payer, token: a.token, ...leaving })
        }
        for (const x of r.rejected) {
          const details = (x.error as { code?: string; details?: { recovered?: Address; payer?: Address } })
          if (details.code === 'BITCDN_ERR_CHEQUE_SIGNATURE' && details.details?.recovered && details.details.payer && watcher.isRevoked(details.details.payer, details.details.recovered)) {
            rejected.push({ signed: x.signed, error: new PayError('BITCDN_ERR_SIGNER_REVOKED', `signer ${details.details.recovered} was revoked by ${details.details.payer}`, { details: details.details, cause: x.error }) })
          } else rejected.push(x)
        }
        if (r.budgetSpent) closePeer = true
        return { accepted, rejected, unbacked, closePeer }
      },
      credit(payerIn, tokenIn) {
        // asked on every block served: the caller's spelling first, no checksum per call
        const hit = creditsByRaw.get(payerIn)?.get(tokenIn)
        if (hit !== undefined) {
          forgiveDue(hit, payerIn, tokenIn)
          return hit
        }
        const payer = getAddress(payerIn)
        const token = getAddress(tokenIn)
        const k = `${payer}:${token}`
        let c = credits.get(k)
        if (!c) {
          const ci = creditInit(payer, token)
          // every change is written at once (synchronous = NORMAL): the caller batches deliveries —
          // the market seller records at most 1 MiB (never above one window piece) or 100 ms late
          c = new BuyerCredit({ ...ci, now, forgiveUnpaidAfterMs: forgiveAfterMs, state: creditStore.get(payer, token), onChange: (st) => creditStore.put(payer, token, st) })
          credits.set(k, c)
        }
        rawCached(creditsByRaw, payerIn, tokenIn, c)
        forgiveDue(c, payer, token)
        return c
      },
      collateralVersion() {
        if (watcher.version !== seenVersions.watcher || ledger.version !== seenVersions.ledger || awaitingVersion !== seenVersions.awaiting || writeOffs !== seenVersions.writeOffs) {
          seenVersions = { watcher: watcher.version, ledger: ledger.version, awaiting: awaitingVersion, writeOffs }
          collateralEpoch++
        }
        return collateralEpoch
      },
      collateral(payer, token) {
        // asked on every block served: cached against the watcher's funds, the ledger's records
        // and the cheques awaiting their fsync — never staler than the uncached value would be
        const c = collateralCache.get(payer)?.get(token)
        if (c !== undefined && c.watcher === watcher.version && c.ledger === ledger.version && c.awaiting === awaitingVersion) return c.value
        const entry = { watcher: watcher.version, ledger: ledger.version, awaiting: awaitingVersion, value: tokenUnits(0n) }
        const f = watcher.funds(payer, token)
        if (f) {
          const p = getAddress(payer)
          const t = getAddress(token)
          const exposure = ledger.exposure(t, p) - (awaiting.get(`${p}:${t}`) ?? 0n)
          entry.value = collateralAvailable({ ...f, softAllowance: soft(p, t), ourExposure: exposure > 0n ? exposure : 0n })
        } // unknown funds: no credit
        rawCached(collateralCache, payer, token, entry)
        return entry.value
      },
      async follow(payerIn, tokenIn) {
        const payer = getAddress(payerIn)
        const token = getAddress(tokenIn)
        if (tracked.has(`${payer}:${token}`)) return
        await lookup(payer, token)
        tracked.add(`${payer}:${token}`)
      },
      mayDeliver(payer, token, value) {
        return seller.credit(payer, token).allows(value, seller.collateral(payer, token))
      },
      peerClosed(peer) {
        budget.forget(peer)
      },
      action(payer, token) {
        return seller.credit(payer, token).action(seller.collateral(payer, token))
      },
      async start() {
        watcher.onUrgent(claimNow)
        // payers owed money first, so the watcher's catch-up from its cursor sees their events
        for (const e of ledger.unsettled()) await track(e.payer, e.token)
        await watcher.start()
        await cashout.start()
      },
      credits() {
        return creditStore.list()
      },
      async stop() {
        await cashout.stop()
        await watcher.stop()
        cursor.close()
        creditStore.close() // writes what its write-behind still holds
        ledger.close()
      },
    }
    return seller
  }
}
