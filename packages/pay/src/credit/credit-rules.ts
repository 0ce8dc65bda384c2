/**
 * A seller's credit rules (pure). A buyer may owe up to its credit limit in delivered-but-unpaid
 * value. The limit is the smaller of
 * - the *window*: one piece's worth at first, doubling with each window's worth paid, capped; and
 * - the *collateral*: what this seller could claim on chain right now — the buyer's allocation to
 *   this seller minus its pending decrease (hard: only this seller can draw it, and a decrease
 *   needs notice), plus a small *soft allowance* from the free balance (soft: a sock-puppet payee
 *   of the buyer can drain it at once), minus this seller's own unsettled cheques.
 *
 * A cheque is credited only up to that collateral (`creditableIncrement`); the excess is refused,
 * never counted. The resulting bound on what a seller can lose is derived in SELLER-BOUND.md.
 *
 * A debt nobody is paying is written off once the payer has been idle — no delivery and no
 * accepted cheque — for a forgiveness period (`forgivable`, `BuyerCredit.forgiveIfIdle`): the
 * unpaid value is forgiven and the window starts again at one piece, so a payer that never pays
 * gets at most one first window per period, and a payer charged for blocks it never received (a
 * relay that keeps them: docs/security.md) is not locked out for ever. What was written off comes
 * off the payer's window cap (`windowCap`, never below one piece), so regrowing the window by
 * paying and defaulting again cannot take more than `maxWindow + n · pieceValue` over `n`
 * write-offs, however many periods it keeps at it.
 *
 * Every amount is range-checked to uint128 where it enters (`checkUint128`), and the window walk
 * is closed form, so no input can make a loop, shift or allocation large.
 */
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { PayError } from '../cheques/errors.js'
import { checkUint128, MAX_UINT128 } from './amount-range.js'

/** What the seller should do about a buyer's debt. */
export type CreditAction = 'serve' | 'request-payment' | 'choke' | 'disconnect'

/** Thresholds in percent of the credit limit. */
export interface CreditThresholds {
  /** @default 50 */
  requestPercent: number
  /** @default 100 */
  chokePercent: number
  /** @default 125 */
  disconnectPercent: number
}

export const defaultCreditThresholds: CreditThresholds = { requestPercent: 50, chokePercent: 100, disconnectPercent: 125 }

/**
 * The action for `unpaid` owed against `limit`. A zero limit chokes: with no collateral there is
 * nothing to deliver on credit, whether or not anything is owed yet.
 * @example creditAction(tokenUnits(600n), tokenUnits(1000n)) // 'request-payment'
 */
export function creditAction(unpaid: TokenUnits, limit: TokenUnits, t: CreditThresholds = defaultCreditThresholds): CreditAction {
  // integer percent arithmetic on bigints: no float rounding at the thresholds
  const u = unpaid * 100n
  if (limit <= 0n) return 'choke'
  if (u >= limit * BigInt(t.disconnectPercent)) return 'disconnect'
  if (u >= limit * BigInt(t.chokePercent)) return 'choke'
  if (u >= limit * BigInt(t.requestPercent)) return 'request-payment'
  return 'serve'
}

export interface CreditWindowParams {
  /** Value of one piece at the agreed price. */
  pieceValue: TokenUnits
  /** How many windows this buyer has fully settled (paid by cheque and the cheque accepted). */
  settledWindows: number
  /** Upper bound on the window. */
  maxWindow: TokenUnits
}

/**
 * The credit window: `pieceValue · 2^settledWindows`, capped at `maxWindow`.
 * @example creditWindow({ pieceValue: tokenUnits(5n), settledWindows: 3, maxWindow: tokenUnits(1000n) }) // 40n
 */
export function creditWindow(p: CreditWindowParams): TokenUnits {
  const shift = BigInt(Math.max(0, Math.min(p.settledWindows, 128)))
  const w = p.pieceValue << shift
  return tokenUnits(w > p.maxWindow ? p.maxWindow : w)
}

/** What the escrow says about a payer's funds, from the seller's seat. */
export interface PayerCollateral {
  /** `balanceOf(payer, token)`: free balance (shared with every payee, and the payer's own). */
  free: bigint
  /** `pendingWithdrawal(payer, token).amount`: about to leave the free balance. */
  pendingWithdrawal: bigint
  /** `allocation(payer, thisPayee, token).amount`: reserved for this seller only. */
  allocatedToUs: bigint
  /** `allocation(payer, thisPayee, token).pendingDecrease`: about to leave the allocation. @default 0n */
  pendingDeallocation?: bigint
  /** The most of the free balance this seller counts on (see `SellerSettlementInit.softAllowance`). */
  softAllowance: bigint
  /**
   * What the payer's signer may still draw in the current cap period (`signerCap`), when the
   * payer set a cap; the free-balance part can never exceed it. @default no cap
   */
  capRemaining?: bigint
  /** Cheques this seller holds that are not yet settled: they draw on the same funds first. */
  ourExposure: bigint
}

const pos = (v: bigint): bigint => (v > 0n ? v : 0n)
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b)

/**
 * What this seller can still be paid, counting only what it could claim: (allocation − pending
 * decrease) + min(soft allowance, free − pending withdrawal[, cap left]) − our unsettled cheques;
 * never negative.
 * @example collateralAvailable({ free: 100n, pendingWithdrawal: 30n, allocatedToUs: 50n, softAllowance: 10n, ourExposure: 20n }) // 40n
 */
export function collateralAvailable(c: PayerCollateral): TokenUnits {
  const hard = pos(c.allocatedToUs - (c.pendingDeallocation ?? 0n))
  let soft = min(c.softAllowance, pos(c.free - c.pendingWithdrawal))
  if (c.capRemaining !== undefined) soft = min(soft, c.capRemaining)
  return tokenUnits(pos(hard + soft - c.ourExposure))
}

/**
 * The credit limit: the window, capped by collateral.
 * @example creditLimit(tokenUnits(40n), tokenUnits(25n)) // 25n
 */
export function creditLimit(window: TokenUnits, collateral: TokenUnits): TokenUnits {
  return window < collateral ? window : collateral
}

/**
 * How much of a cheque's increment counts as payment: all of it up to `collateral` (computed
 * before the cheque was recorded), the rest is unbacked.
 * @example creditableIncrement(tokenUnits(1_000n), tokenUnits(30n)) // { credited: 30n, excess: 970n }
 */
export function creditableIncrement(increment: TokenUnits, collateral: TokenUnits): { credited: TokenUnits; excess: TokenUnits } {
  const credited = min(increment, collateral)
  return { credited: tokenUnits(credited), excess: tokenUnits(increment - credited) }
}

/** A buyer's running credit, as stored (see `credit-store.ts`). */
export interface BuyerCreditState {
  /** Value delivered and not written off, total (all delivered: `delivered + writtenOff`). */
  delivered: bigint
  /** Value credited as paid (backed part of accepted cheques), total. */
  paid: bigint
  settledWindows: number
  /** `paid` at the start of the current window. */
  windowStartPaid: bigint
  /**
   * When the payer was last delivered to or had a cheque credited, wall-clock ms (the seller's
   * clock); 0 when never. Stored, so a restart continues the forgiveness period where it was.
   */
  lastActivityMs: number
  /** Unpaid value written off by forgiveness, total (the seller's loss to this payer so far). */
  writtenOff: bigint
}

/** One day, ms: the default forgiveness period (`BuyerCreditInit.forgiveUnpaidAfterMs`). */
export const DEFAULT_FORGIVE_UNPAID_AFTER_MS = 86_400_000

/**
 * Whether a payer's unpaid debt is written off now: it owes something, forgiveness is on
 * (`afterMs > 0`), and it has had no delivery and no credited cheque for `afterMs` — counted from
 * `lastActivityMs`, so a clock that went back (now before the last activity) forgives nothing
 * until it has caught up and the whole period has passed.
 * @example forgivable(5n, 0, 86_400_000, 86_400_000) // true
 */
export function forgivable(unpaid: bigint, lastActivityMs: number, nowMs: number, afterMs: number): boolean {
  return afterMs > 0 && unpaid > 0n && nowMs - lastActivityMs >= afterMs
}

export interface BuyerCreditInit {
  /** Value of one piece at the agreed price (≥ 1). */
  pieceValue: TokenUnits
  /** @default pieceValue · 1024 */
  maxWindow?: TokenUnits
  thresholds?: CreditThresholds
  /** State to resume from (a restart). */
  state?: BuyerCreditState
  /** Called after each change with the new state (the seller writes it to SQLite). */
  onChange?: (state: BuyerCreditState) => void
  /** Wall-clock ms, for the last activity and forgiveness. @default Date.now */
  now?: () => number
  /**
   * `forgiveIfIdle` writes the unpaid debt off once the payer has had no delivery and no credited
   * cheque for this long, ms; 0 never forgives. @default 86_400_000 (one day)
   */
  forgiveUnpaidAfterMs?: number
}

/** Index of the highest set bit (floor log2) of a positive bigint ≤ 2^256: constant work. */
function log2(v: bigint): number {
  return v.toString(2).length - 1
}

/**
 * Running credit of one buyer: value delivered vs paid, windows settled.
 * @example
 * const credit = new BuyerCredit({ pieceValue: tokenUnits(5_000n) })
 * if (credit.allows(tokenUnits(5_000n), seller.collateral(buyer, usdc))) credit.delivered(tokenUnits(5_000n))
 */
export class BuyerCredit {
  readonly #pieceValue: TokenUnits
  readonly #maxWindow: TokenUnits
  readonly #thresholds: CreditThresholds
  readonly #onChange?: (state: BuyerCreditState) => void
  readonly #now: () => number
  readonly #forgiveAfterMs: number
  #delivered = 0n
  #paid = 0n
  #settledWindows = 0
  #windowStartPaid = 0n
  #lastActivityMs = 0
  #writtenOff = 0n

  /**
   * @throws {PayError} BITCDN_ERR_AMOUNT_RANGE for a piece value or window outside 1..uint128, or a
   *   forgiveness period that is not a finite number ≥ 0
   */
  constructor(init: BuyerCreditInit) {
    this.#pieceValue = tokenUnits(checkUint128(init.pieceValue, 'piece value'))
    if (this.#pieceValue === 0n) throw new PayError('BITCDN_ERR_AMOUNT_RANGE', 'piece value must be at least 1 base unit')
    const maxWindow = init.maxWindow ?? (init.pieceValue * 1024n > MAX_UINT128 ? MAX_UINT128 : init.pieceValue * 1024n)
    this.#maxWindow = tokenUnits(checkUint128(maxWindow, 'max window'))
    if (this.#maxWindow < this.#pieceValue) throw new PayError('BITCDN_ERR_AMOUNT_RANGE', 'max window is below one piece')
    this.#thresholds = init.thresholds ?? defaultCreditThresholds
    const after = init.forgiveUnpaidAfterMs ?? DEFAULT_FORGIVE_UNPAID_AFTER_MS
    if (!Number.isFinite(after) || after < 0) throw new PayError('BITCDN_ERR_AMOUNT_RANGE', `forgiveness period ${after} ms is not a finite number ≥ 0`)
    this.#forgiveAfterMs = after
    this.#now = init.now ?? Date.now
    if (init.state) {
      this.#delivered = checkUint128(init.state.delivered, 'stored delivered')
      this.#paid = checkUint128(init.state.paid, 'stored paid')
      this.#windowStartPaid = checkUint128(init.state.windowStartPaid, 'stored window start')
      this.#settledWindows = Math.max(0, Math.min(init.state.settledWindows, 256))
      const last = init.state.lastActivityMs
      this.#lastActivityMs = Number.isFinite(last) ? last : this.#now()
      // range-checked like the other stored amounts: a damaged row is refused, not used as a cap
      this.#writtenOff = checkUint128(init.state.writtenOff, 'stored written off')
    }
    this.#onChange = init.onChange
  }

  /** Value delivered but not paid for. */
  get unpaid(): TokenUnits {
    return tokenUnits(pos(this.#delivered - this.#paid))
  }

  /** Value paid ahead of delivery (an overpaying buyer). */
  get prepaid(): TokenUnits {
    return tokenUnits(pos(this.#paid - this.#delivered))
  }

  get window(): TokenUnits {
    return creditWindow({ pieceValue: this.#pieceValue, settledWindows: this.#settledWindows, maxWindow: this.windowCap })
  }

  /**
   * The largest window this payer can grow to: `max(pieceValue, maxWindow − writtenOff)`. What was
   * written off for it comes off its cap, so a payer that regrows its window and defaults again
   * gets less each time — over its whole life here at most `maxWindow + n · pieceValue` written off
   * and owed for `n` write-offs (SELLER-BOUND.md), however long it keeps at it. Never below one
   * piece: a payer whose debt was written off through no fault of its own (a relay that kept the
   * blocks) is still served.
   */
  get windowCap(): TokenUnits {
    const left = this.#maxWindow - this.#writtenOff
    return tokenUnits(left > this.#pieceValue ? left : this.#pieceValue)
  }

  get settledWindows(): number {
    return this.#settledWindows
  }

  /** Unpaid value written off by forgiveness so far (`forgiveIfIdle`), total. */
  get writtenOff(): TokenUnits {
    return tokenUnits(this.#writtenOff)
  }

  /** Wall-clock ms of the last delivery or credited cheque (0: never). */
  get lastActivityMs(): number {
    return this.#lastActivityMs
  }

  get state(): BuyerCreditState {
    return {
      delivered: this.#delivered,
      paid: this.#paid,
      settledWindows: this.#settledWindows,
      windowStartPaid: this.#windowStartPaid,
      lastActivityMs: this.#lastActivityMs,
      writtenOff: this.#writtenOff,
    }
  }

  /**
   * Records value delivered.
   * @throws {PayError} BITCDN_ERR_AMOUNT_RANGE when the value or the running total leaves uint128
   */
  delivered(value: TokenUnits): void {
    const v = checkUint128(value, 'delivered value')
    this.#delivered = checkUint128(this.#delivered + v, 'total delivered')
    this.#lastActivityMs = this.#now()
    this.#onChange?.(this.state)
  }

  /**
   * Records the credited part of an accepted cheque; each window's worth paid grows the window,
   * whether or not more is delivered meanwhile — a buyer streaming at full speed always owes
   * something, and the window still bounds what it owes (trust grows with what it has paid).
   * Closed form: constant work for any increment.
   * @throws {PayError} BITCDN_ERR_AMOUNT_RANGE
   */
  paid(increment: TokenUnits): void {
    const v = checkUint128(increment, 'paid increment')
    this.#paid = checkUint128(this.#paid + v, 'total paid')
    this.#advanceWindows()
    this.#lastActivityMs = this.#now()
    this.#onChange?.(this.state)
  }

  /**
   * Writes the unpaid debt off when it is due (`forgivable`: something owed, and no delivery and
   * no credited cheque for the forgiveness period): nothing is owed afterwards (`delivered` :=
   * `paid`), the window starts again at one piece (a payer that grew its window and stopped
   * paying gets the first window again, not the grown one), and the amount is added to
   * `writtenOff` — which lowers the cap the window can regrow to (`windowCap`). One state change (`onChange`), so the store writes it in one row. Accepted
   * cheques are not touched: they are the ledger's, claimable as before. Constant work; the
   * seller asks it whenever it looks the payer up (lazily — no timer over all payers).
   * @returns the value written off now; 0 when nothing was due
   */
  forgiveIfIdle(): TokenUnits {
    if (this.#delivered <= this.#paid || this.#forgiveAfterMs === 0) return tokenUnits(0n)
    const now = this.#now()
    if (!forgivable(this.#delivered - this.#paid, this.#lastActivityMs, now, this.#forgiveAfterMs)) return tokenUnits(0n)
    const owed = this.#delivered - this.#paid
    this.#writtenOff += owed
    this.#delivered = this.#paid
    this.#settledWindows = 0
    this.#windowStartPaid = this.#paid
    this.#onChange?.(this.state)
    return tokenUnits(owed)
  }

  #advanceWindows(): void {
    const p = this.#pieceValue
    // the payer's cap (as `window` uses it). It changes only at a write-off, which also sets k to
    // 0, so a count grown past it under an earlier cap is never walked against a smaller one
    // (and were it, k ≥ c below just counts whole capped windows: the window is the cap either way)
    const max = this.windowCap
    let x = this.#paid - this.#windowStartPaid
    let k = BigInt(this.#settledWindows)
    // c: the first window index at which p·2^i reaches the cap (≤ 128 as max < 2^128, p ≥ 1)
    let c = BigInt(Math.max(0, log2(max) - log2(p)))
    while (c > 0n && p << (c - 1n) >= max) c-- // at most one step: the estimate is within one bit
    while (p << c < max) c++
    if (k < c) {
      // windows k..j−1 sum to p·(2^j − 2^k): the largest j with that ≤ x, at most c
      let j = BigInt(log2(x / p + (1n << k)))
      if (j > c) j = c
      if (j > k) {
        const consumed = p * ((1n << j) - (1n << k))
        x -= consumed
        this.#windowStartPaid += consumed
        k = j
      }
    }
    if (k >= c) {
      const m = x / max
      this.#windowStartPaid += m * max
      k += m
    }
    // past the cap the count no longer changes the window; keep it a small number
    this.#settledWindows = Number(k > 256n ? 256n : k)
  }

  /** The credit limit given the payer's collateral available to us. */
  limit(collateral: TokenUnits): TokenUnits {
    return creditLimit(this.window, collateral)
  }

  /**
   * True when delivering `value` more keeps the buyer's debt within its limit (prepaid value
   * first). The call the market layer makes before each piece; the loss bound assumes it.
   */
  allows(value: TokenUnits, collateral: TokenUnits): boolean {
    const v = checkUint128(value, 'value to deliver')
    return this.#delivered + v <= this.#paid + this.limit(collateral)
  }

  action(collateral: TokenUnits): CreditAction {
    const limit = this.limit(collateral) + this.prepaid
    return creditAction(this.unpaid, tokenUnits(limit), this.#thresholds)
  }
}

/** What bounds one buyer address's take from one seller in one token (SELLER-BOUND.md). */
export interface LossBoundParams {
  /** The largest window the seller grants (`maxWindow`). */
  maxWindow: bigint
  /** The soft allowance of the free balance. */
  softAllowance: bigint
  /** The largest hard collateral (allocation to this seller minus pending decrease) the buyer held. @default 0n */
  hardCollateral?: bigint
  /** How many times the buyer's debt was written off (forgiveness periods that ended in a write-off). @default 0 */
  writeOffs?: number
  /**
   * The first window (one piece's worth): the payer's window cap never shrinks below it, so it is
   * what each write-off can still forgive once `maxWindow` has been written off. @default maxWindow
   * (unknown: every write-off may forgive a whole capped window)
   */
  firstWindow?: bigint
  /**
   * Value credited as paid before the last write-off (what can have grown windows again), when
   * known: a further bound for a payer that paid little, `n · firstWindow + paidBeforeWriteOffs`
   * written off. @default unknown (not used)
   */
  paidBeforeWriteOffs?: bigint
}

/**
 * The most `k` write-offs can forgive in total. Write-off `i` forgives at most the credit limit at
 * the payer's last delivery before it, `F_i ≤ min(C, max(W₀, maxWindow − Σ_{j<i} F_j))` with
 * `C = hard + soft` (the window cap shrinks by what was written off, `BuyerCredit.windowCap`).
 * `g ↦ g + min(C, max(W₀, maxWindow − g))` is non-decreasing, so the total is at most the greedy
 * sum, in closed form: `min(k·C, maxWindow)` while the write-offs before left the cap above `W₀`
 * (the first `i₁ = ⌊(maxWindow − W₀) / C⌋ + 1`), then `min(C, W₀)` more per write-off. Hence
 * `≤ min(k · min(maxWindow, C), maxWindow + (k − 1) · W₀)` for `k ≥ 1`.
 */
function forgivenAtMost(maxWindow: bigint, firstWindow: bigint, c: bigint, k: bigint): bigint {
  if (k <= 0n || c <= 0n || maxWindow <= 0n) return 0n
  const p0 = firstWindow < 0n ? 0n : firstWindow > maxWindow ? maxWindow : firstWindow
  const i1 = (maxWindow - p0) / c + 1n
  if (k <= i1) return min(k * c, maxWindow)
  return min(i1 * c, maxWindow) + (k - i1) * min(c, p0)
}

/**
 * The most the `writeOffs` write-offs can have forgiven one buyer address at one seller in one
 * token, in total over its life there (see `forgivenAtMost` above, SELLER-BOUND.md): with ample
 * collateral `maxWindow + (n − 1) · firstWindow`, for a payer that never pays `n · min(firstWindow,
 * hard + soft)`.
 * @example writeOffBound({ maxWindow: 160n, softAllowance: 10n, hardCollateral: 1_000n, writeOffs: 5, firstWindow: 10n }) // 160n + 4n · 10n
 */
export function writeOffBound(p: LossBoundParams): bigint {
  const n = BigInt(Math.max(0, Math.trunc(p.writeOffs ?? 0)))
  const c = (p.hardCollateral ?? 0n) + p.softAllowance
  const first = p.firstWindow ?? p.maxWindow
  let g = forgivenAtMost(p.maxWindow, first, c, n)
  if (p.paidBeforeWriteOffs !== undefined) g = min(g, n * first + p.paidBeforeWriteOffs)
  return g
}

/**
 * The most one buyer address can take from one seller in one token over its whole life there,
 * when the seller delivers only what `BuyerCredit.allows` allows and its urgent claims land
 * before their deadlines, after `writeOffs` (n) write-offs: what they forgave plus what is at risk
 * now, `max(g(n+1), g(n) + soft)` with `g(k)` the most k write-offs forgive (`writeOffBound`) —
 * the unpaid delivery now is at most one more write-off's worth, or the value at risk is at most
 * `soft` when this seller's cheques exceed the hard collateral. With n = 0:
 * `max(soft, min(maxWindow, hard + soft))`; with ample collateral and `soft ≤ firstWindow`:
 * `maxWindow + n · firstWindow`, however the payer regrows its window and defaults; a payer without
 * an allocation: `(n + 1) · min(firstWindow, soft)`. See SELLER-BOUND.md for the derivation and for
 * buyers with more addresses.
 * @example sellerLossBound({ maxWindow: 1_024n, softAllowance: 1n }) // 1n
 * @example sellerLossBound({ maxWindow: 1_024n, softAllowance: 8n, writeOffs: 2, firstWindow: 4n, paidBeforeWriteOffs: 0n }) // 8n + 2n · 4n
 * @example sellerLossBound({ maxWindow: 160n, softAllowance: 10n, hardCollateral: 1_000n, writeOffs: 5, firstWindow: 10n }) // 160n + 5n · 10n
 */
export function sellerLossBound(p: LossBoundParams): bigint {
  const hard = p.hardCollateral ?? 0n
  const c = hard + p.softAllowance
  const withHard = min(p.maxWindow, c)
  const once = withHard > p.softAllowance ? withHard : p.softAllowance
  const n = BigInt(Math.max(0, Math.trunc(p.writeOffs ?? 0)))
  if (n === 0n) return once
  const first = p.firstWindow ?? p.maxWindow
  const gn = forgivenAtMost(p.maxWindow, first, c, n)
  const next = forgivenAtMost(p.maxWindow, first, c, n + 1n)
  let bound = next > gn + p.softAllowance ? next : gn + p.softAllowance
  // a payer that paid little: each write-off forgave at most a window regrown by what was paid
  if (p.paidBeforeWriteOffs !== undefined) bound = min(bound, once + min(n * withHard, n * first + p.paidBeforeWriteOffs))
  return bound
}
