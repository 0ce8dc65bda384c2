/**
 * What the paid seller needs from settlement, as an interface (so the seller-protection work in
 * `packages/pay` swaps in without touching the wire side), and its implementation over pay's
 * `SellerSettlement` (ledger + escrow watcher + cash-out).
 *
 * Credit for a payer = what the escrow lets this seller claim beyond the cheques it already holds:
 *   (allocation − pending decrease) + min(softAllowance, free − pending withdrawal) − our unsettled
 * cheques, never negative (pay's `SellerSettlement.collateral`). The soft allowance bounds how much
 * of a payer's free balance — which other sellers and a withdrawal may take first — this seller
 * lends against; it is set on the settlement (`createSellerSettlement({ softAllowance })`).
 */
import { getAddress, type Address } from 'viem'
import { tokenUnits, type BitcdnError, type TokenUnits } from '@bitcdn/core'
import { PayError, type BuyerCreditInit, type SellerSettlement, type SignedCheque } from '@bitcdn/pay'
import { marketError } from '../errors.js'
import { lookupSourceOf, sourceBudgets } from '../peer-source.js'

/** What became of one cheque. */
export interface ChequeOutcome {
  /** Stored: its cumulative and how much of its increment counted as payment (the collateral-backed part). */
  accepted?: { cumulative: TokenUnits; credited: TokenUnits }
  /** Refused (or stored but not backed by collateral): why, with its code. */
  error?: BitcdnError
  /** The connection spent its budget of signature checks: close it. */
  closePeer: boolean
}

export interface SellerPayments {
  /**
   * Get ready to credit `payer` in `token` for connection `peer` ("ip:port"): read its escrow
   * funds and signers (bounded lookups: per source address, then the seller's own limit).
   * @throws BitcdnError `BITCDN_ERR_PAY_PAYER_REFUSED` (no funds, signer not authorized), pay's
   *   `BITCDN_ERR_LOOKUP_RATE_LIMITED`
   */
  admit(payer: Address, signer: Address, token: Address, peer?: string): Promise<void>
  /** Connection `peer` of an admitted `payer` closed: a payer nothing is owed by or to is no longer followed. */
  released?(payer: Address, token: Address, peer: string): void
  /** What `payer` may owe us now beyond the cheques we hold (0 when unknown). */
  credit(payer: Address, token: Address): TokenUnits
  /**
   * Changes whenever `credit()` of any payer may have changed. With it the seller keeps a
   * per-payer byte limit derived from `credit()` and compares Numbers per block; without it
   * `credit()` is asked on every block.
   */
  creditVersion?(): number
  /** The highest cumulative we hold from `payer` (0 when none). */
  accepted(payer: Address, token: Address): TokenUnits
  /** Verify and durably store one cheque that came on connection `peer`; resolves once stored. */
  receive(signed: SignedCheque, peer: string): Promise<ChequeOutcome>
  /** A connection closed (forget its budget). */
  peerClosed?(peer: string): void
  /**
   * Whether `value` more may be delivered to `payer` on credit: its durable unpaid debt stays
   * within the credit window (one piece's worth, doubling as windows are paid) capped by collateral.
   */
  mayDeliver?(payer: Address, token: Address, value: TokenUnits): boolean
  /** Record `value` delivered to `payer` (durable: the debt survives a restart). */
  delivered?(payer: Address, token: Address, value: TokenUnits): void
  /** Value `mayDeliver` still allows `payer` now: its credit limit (window capped by collateral) minus its unpaid debt. */
  remaining?(payer: Address, token: Address): TokenUnits
  /**
   * How much of `payer`'s unpaid debt settlement has written off so far (forgiveness of an idle
   * payer: pay's `forgiveUnpaidAfterMs`), total; asking it writes off a debt that is due. When it
   * grows, nothing recorded is owed any more: the seller clears its own account of the payer's
   * debt too (and `creditVersion()` has changed).
   */
  writtenOff?(payer: Address, token: Address): TokenUnits
  /**
   * `payer`'s credit is nearly used up: look for new collateral on chain now (an allocation it just
   * made) rather than at the next poll. Bounded (at most one chain poll per 250 ms in all, and one at a time), so a
   * buyer that never pays cannot turn it into an RPC flood. Credit still comes only from what the
   * chain shows.
   */
  lookAgain?(payer: Address, token: Address): void
}

const GIB = 1n << 30n
const MIB = 1024 * 1024

/**
 * pay's credit settings for a seller at `pricePerGiB`: the first window is worth the largest piece
 * the seller serves, at least one MiB (and one base unit), and doubles per window's worth paid, up
 * to 1024 such windows. A window smaller than a piece could never be bought: the seller commits a
 * piece whole, and the buyer pays only for pieces that verified. The collateral still caps it.
 * `largestPieceBytes` is asked when a buyer's credit is first made (a torrent with larger pieces
 * added later gives new buyers — and every buyer after a restart — the larger window).
 * @example createSellerSettlement(init, sellerCreditInit(tokenUnits(1_000_000n), () => 4 * 1024 * 1024))
 */
export function sellerCreditInit(pricePerGiB: TokenUnits, largestPieceBytes: number | (() => number) = MIB): (payer: Address, token: Address) => BuyerCreditInit {
  return () => {
    const piece = typeof largestPieceBytes === 'function' ? largestPieceBytes() : largestPieceBytes
    const bytes = BigInt(Math.max(MIB, Number.isSafeInteger(piece) ? piece : MIB))
    const v = (bytes * pricePerGiB + GIB - 1n) / GIB
    return { pieceValue: tokenUnits(v > 1n ? v : 1n) }
  }
}

/**
 * Over pay's `SellerSettlement`: its exact collateral (allocation − pending decrease + the soft
 * allowance it was created with − our unsettled cheques), its ledger and its bounded lookups.
 * @example
 * const settlement = createSellerSettlement({ ledgerPath, payee, domain, tokens: [usdc], softAllowance: 100_000n })(components)
 * const payments = settlementPayments(settlement)
 */
export interface SettlementPaymentsOptions {
  /** Kept for callers of the first version; the soft allowance is the settlement's (`createSellerSettlement({ softAllowance })`). */
  softAllowance?: TokenUnits
  /**
   * New-payer lookups one source (an IPv4 address, an IPv6 /64: `lookupSourceOf`) may start: a
   * burst, then one per `intervalMs`. Hellos naming random payers from one source then spend
   * that source's budget, not the seller-wide one honest new buyers need. @default { burst: 4, intervalMs: 10000 }
   */
  perSource?: { burst: number; intervalMs: number }
  /** Sources remembered (oldest forgotten first). @default 4096 */
  maxSources?: number
}

export function settlementPayments(settlement: SellerSettlement, opts: SettlementPaymentsOptions = {}): SellerPayments {
  const { watcher, ledger, gate } = settlement
  let lastLookMs = 0
  let looking = false
  const perSource = opts.perSource ?? { burst: 4, intervalMs: 10_000 }
  const sources = sourceBudgets({ burst: perSource.burst, ratePerSecond: 1000 / perSource.intervalMs, maxSources: opts.maxSources ?? 4096 })
  /** Connections admitted per payer (to stop following a payer once none is left and nothing is owed). */
  const live = new Map<Address, Set<string>>()
  /** Stop following `payer` unless a connection, a cheque or a debt still needs its funds. */
  const maybeUntrack = (payer: Address, token: Address): void => {
    if ((live.get(payer)?.size ?? 0) > 0 || ledger.entry(payer, token) !== undefined) return
    const c = settlement.credit(payer, token)
    if (c.unpaid > 0n || c.prepaid > 0n) return
    watcher.untrack(payer)
  }
  return {
    async admit(payerIn, signerIn, tokenIn, peer) {
      const payer = getAddress(payerIn)
      const signer = getAddress(signerIn)
      const token = getAddress(tokenIn)
      if (!watcher.isTracked(payer, token)) {
        if (gate.isRejected(`${payer}:${token}`)) throw marketError('payerRefused', `payer ${payer} has no escrow funds in ${token} (looked up recently)`, { payer })
        if (peer !== undefined && !sources.take(peer)) {
          throw new PayError('BITCDN_ERR_LOOKUP_RATE_LIMITED', `too many lookups of new payers from ${lookupSourceOf(peer)}; ${payer} not looked up (try again later)`, { details: { payer } })
        }
        if (!gate.tryLookup()) {
          throw new PayError('BITCDN_ERR_LOOKUP_RATE_LIMITED', `too many lookups of new payers; ${payer} not looked up (try again later)`, { details: { payer } })
        }
        await watcher.track(payer, token)
      }
      const f = watcher.funds(payer, token)
      if (f === undefined || f.free + f.allocatedToUs === 0n) {
        gate.reject(`${payer}:${token}`)
        maybeUntrack(payer, token)
        throw marketError('payerRefused', `payer ${payer} has no escrow funds in ${token}`, { payer, token })
      }
      if (signer !== payer && !watcher.signersOf(payer).some((s) => getAddress(s) === signer)) {
        maybeUntrack(payer, token)
        throw marketError('payerRefused', `signer ${signer} is not authorized by payer ${payer}`, { payer, signer })
      }
      if (peer !== undefined) {
        let set = live.get(payer)
        if (set === undefined) live.set(payer, (set = new Set()))
        set.add(peer)
      }
    },
    released(payerIn, tokenIn, peer) {
      const payer = getAddress(payerIn)
      const set = live.get(payer)
      set?.delete(peer)
      if (set?.size === 0) live.delete(payer)
      maybeUntrack(payer, getAddress(tokenIn))
    },
    credit: (payer, token) => settlement.collateral(payer, token),
    creditVersion: () => settlement.collateralVersion(),
    accepted(payer, token) {
      return tokenUnits(ledger.best(payer, token)?.cheque.cumulativeAmount ?? 0n)
    },
    async receive(signed, peer) {
      const r = await settlement.receive([signed], { peer })
      // a cheque from a payer whose funds are leaving is claimed at once, on the notice's
      // deadline, by the settlement itself (seller-settlement.ts, receive)
      const ok = r.accepted[0]
      const unbacked = r.unbacked[0]
      const err = (r.rejected[0]?.error ?? unbacked?.error) as BitcdnError | undefined
      return {
        accepted: ok === undefined ? undefined : { cumulative: ok.cumulative, credited: ok.credited },
        error: ok === undefined ? (err ?? marketError('messageInvalid', 'cheque refused')) : undefined,
        closePeer: r.closePeer,
      }
    },
    peerClosed: (peer) => settlement.peerClosed(peer),
    mayDeliver: (payer, token, value) => settlement.mayDeliver(payer, token, value),
    delivered: (payer, token, value) => settlement.credit(payer, token).delivered(value),
    writtenOff: (payer, token) => settlement.credit(payer, token).writtenOff,
    remaining(payer, token) {
      const c = settlement.credit(payer, token)
      const r = c.limit(settlement.collateral(payer, token)) + c.prepaid - c.unpaid
      return tokenUnits(r > 0n ? r : 0n)
    },
    lookAgain() {
      const now = Date.now()
      // one on-demand poll at a time: the watcher queues every poll() behind the running one, so
      // while the RPC answers slower than 250 ms each check would add one and the backlog would
      // run back to back once it recovers
      if (looking || now - lastLookMs < 250) return
      lastLookMs = now
      looking = true
      // one poll of the escrow's logs (an Allocated event re-reads that payer); a failure is the watcher's to log and retry
      watcher
        .poll()
        .catch(() => {})
        .finally(() => (looking = false))
    },
  }
}
