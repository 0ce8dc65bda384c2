/**
 * A seller's credit rules (pure). A buyer may owe up to its credit limit in delivered-but-unpaid
 * value: at 50% the seller asks for a cheque, at 100% it chokes (stops serving), at 125% it
 * disconnects (the excess is what was in flight when it choked; more than that is abuse). The
 * window starts at one piece's worth — the least that lets delivery start — and doubles with each
 * fully settled window, capped; the limit is further capped by what the payer's escrow can
 * actually pay this seller.
 */
import { tokenUnits, type TokenUnits } from '@bitcdn/core'

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
 * The action for `unpaid` owed against `limit`. A zero limit chokes any debt at all.
 * @example creditAction(tokenUnits(600n), tokenUnits(1000n)) // 'request-payment'
 */
export function creditAction(unpaid: TokenUnits, limit: TokenUnits, t: CreditThresholds = defaultCreditThresholds): CreditAction {
  // integer percent arithmetic on bigints: no float rounding at the thresholds
  const u = unpaid * 100n
  if (limit <= 0n) return unpaid > 0n ? 'choke' : 'serve'
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
  /** `balanceOf(payer, token)`: free balance. */
  free: bigint
  /** `pendingWithdrawal(payer, token).amount`: about to leave. */
  pendingWithdrawal: bigint
  /** `allocation(payer, thisPayee, token).amount`: reserved for this seller only. */
  allocatedToUs: bigint
  /** Cheques this seller holds that are not yet settled: they draw on the same funds first. */
  ourExposure: bigint
}

/**
 * What this seller can still be paid: free minus pending withdrawals, plus our allocation, minus
 * what we already hold in unsettled cheques; never negative.
 * @example collateralAvailable({ free: 100n, pendingWithdrawal: 30n, allocatedToUs: 0n, ourExposure: 20n }) // 50n
 */
export function collateralAvailable(c: PayerCollateral): TokenUnits {
  const free = c.free > c.pendingWithdrawal ? c.free - c.pendingWithdrawal : 0n
  const v = free + c.allocatedToUs - c.ourExposure
  return tokenUnits(v > 0n ? v : 0n)
}

/**
 * The credit limit: the window, capped by collateral.
 * @example creditLimit(tokenUnits(40n), tokenUnits(25n)) // 25n
 */
export function creditLimit(window: TokenUnits, collateral: TokenUnits): TokenUnits {
  return window < collateral ? window : collateral
}

export interface BuyerCreditInit {
  pieceValue: TokenUnits
  /** @default pieceValue · 1024 */
  maxWindow?: TokenUnits
  thresholds?: CreditThresholds
}

/**
 * Running credit of one buyer: value delivered vs paid, windows settled.
 * @example
 * const credit = new BuyerCredit({ pieceValue: tokenUnits(5_000n) })
 * credit.delivered(tokenUnits(5_000n)); credit.action(collateral) // 'choke' until paid
 */
export class BuyerCredit {
  readonly #pieceValue: TokenUnits
  readonly #maxWindow: TokenUnits
  readonly #thresholds: CreditThresholds
  #delivered = 0n
  #paid = 0n
  #settledWindows = 0
  #windowStartPaid = 0n

  constructor(init: BuyerCreditInit) {
    this.#pieceValue = init.pieceValue
    this.#maxWindow = init.maxWindow ?? tokenUnits(init.pieceValue * 1024n)
    this.#thresholds = init.thresholds ?? defaultCreditThresholds
  }

  /** Value delivered but not paid for. */
  get unpaid(): TokenUnits {
    return tokenUnits(this.#delivered > this.#paid ? this.#delivered - this.#paid : 0n)
  }

  get window(): TokenUnits {
    return creditWindow({ pieceValue: this.#pieceValue, settledWindows: this.#settledWindows, maxWindow: this.#maxWindow })
  }

  get settledWindows(): number {
    return this.#settledWindows
  }

  delivered(value: TokenUnits): void {
    this.#delivered += value
  }

  /** Records an accepted cheque's increment; a window's worth paid in full grows the window. */
  paid(increment: TokenUnits): void {
    this.#paid += increment
    while (this.#paid - this.#windowStartPaid >= this.window && this.#paid >= this.#delivered) {
      this.#windowStartPaid += this.window
      this.#settledWindows++
    }
  }

  /** The credit limit given the payer's collateral available to us. */
  limit(collateral: TokenUnits): TokenUnits {
    return creditLimit(this.window, collateral)
  }

  action(collateral: TokenUnits): CreditAction {
    return creditAction(this.unpaid, this.limit(collateral), this.#thresholds)
  }
}
