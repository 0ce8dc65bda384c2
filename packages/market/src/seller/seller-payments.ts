/**
 * What the paid seller needs from settlement, as an interface (so the seller-protection work in
 * `packages/pay` swaps in without touching the wire side), and its implementation over pay's
 * `SellerSettlement` (ledger + escrow watcher + cash-out).
 *
 * Credit for a payer = what the escrow lets this seller claim beyond the cheques it already holds:
 *   allocation to us + min(softAllowance, free − pending withdrawal) − our unsettled cheques,
 * never negative. The soft allowance bounds how much of a payer's free balance — which other
 * sellers and a withdrawal may take first — this seller lends against.
 */
import { getAddress, type Address } from 'viem'
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { PayError, type ReceiveResult, type SellerSettlement, type SignedCheque } from '@bitcdn/pay'
import { marketError } from '../errors.js'

export interface SellerPayments {
  /**
   * Get ready to credit `payer` in `token`: read its escrow funds and signers (bounded lookups).
   * @throws BitcdnError `BITCDN_ERR_PAY_PAYER_REFUSED` (no funds, signer not authorized), pay's
   *   `BITCDN_ERR_LOOKUP_RATE_LIMITED`
   */
  admit(payer: Address, signer: Address, token: Address): Promise<void>
  /** What `payer` may owe us now beyond the cheques we hold (0 when unknown). */
  credit(payer: Address, token: Address): TokenUnits
  /** The highest cumulative we hold from `payer` (0 when none). */
  accepted(payer: Address, token: Address): TokenUnits
  /** Verify and durably store cheques; resolves once stored. */
  receive(cheques: readonly SignedCheque[]): Promise<ReceiveResult>
}

export interface SettlementPaymentsInit {
  /** Credit granted against a payer's free balance (on top of its allocation to us). */
  softAllowance: TokenUnits
}

/**
 * @example
 * const payments = settlementPayments(settlement, { softAllowance: tokenUnits(1_000_000n) })
 */
export function settlementPayments(settlement: SellerSettlement, init: SettlementPaymentsInit): SellerPayments {
  const { watcher, ledger, gate } = settlement
  return {
    async admit(payerIn, signerIn, tokenIn) {
      const payer = getAddress(payerIn)
      const signer = getAddress(signerIn)
      const token = getAddress(tokenIn)
      if (!watcher.isTracked(payer, token)) {
        if (gate.isRejected(`${payer}:${token}`)) throw marketError('payerRefused', `payer ${payer} has no escrow funds in ${token} (looked up recently)`, { payer })
        if (!gate.tryLookup()) {
          throw new PayError('BITCDN_ERR_LOOKUP_RATE_LIMITED', `too many lookups of new payers; ${payer} not looked up (try again later)`, { details: { payer } })
        }
        await watcher.track(payer, token)
      }
      const f = watcher.funds(payer, token)
      if (f === undefined || f.free + f.allocatedToUs === 0n) {
        gate.reject(`${payer}:${token}`)
        throw marketError('payerRefused', `payer ${payer} has no escrow funds in ${token}`, { payer, token })
      }
      if (signer !== payer && !watcher.signersOf(payer).some((s) => getAddress(s) === signer)) {
        throw marketError('payerRefused', `signer ${signer} is not authorized by payer ${payer}`, { payer, signer })
      }
    },
    credit(payer, token) {
      const f = watcher.funds(payer, token)
      if (f === undefined) return tokenUnits(0n)
      const free = f.free > f.pendingWithdrawal ? f.free - f.pendingWithdrawal : 0n
      const soft = free < init.softAllowance ? free : init.softAllowance
      const v = f.allocatedToUs + soft - ledger.exposure(token, payer)
      return tokenUnits(v > 0n ? v : 0n)
    },
    accepted(payer, token) {
      return tokenUnits(ledger.best(payer, token)?.cheque.cumulativeAmount ?? 0n)
    },
    receive: (cheques) => settlement.receive(cheques),
  }
}
