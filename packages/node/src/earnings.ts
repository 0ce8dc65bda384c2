/**
 * The operator's view of money, from the payee ledger alone (works with the node stopped):
 * accrued (best cheque per payer), held in unclaimed cheques (accrued − claimed), claimed on chain
 * with the claim transactions, and the exposure per payer.
 */
import type { Address, Hex } from 'viem'
import type { PayeeLedger } from '@bitcdn/pay'

export interface PayerEarnings {
  payer: Address
  token: Address
  /** Best cheque's cumulative, base units. */
  accruedUnits: bigint
  /** Confirmed paid out by the escrow. */
  claimedUnits: bigint
  /** Accrued − claimed: what unclaimed cheques hold (our exposure to this payer). */
  heldUnits: bigint
  /** An in-flight claim, if any. */
  pendingTx?: Hex
}

export interface ClaimRecord {
  txHash: Hex
  payer: Address
  token: Address
  /** What this transaction paid for this payer. */
  paidUnits: bigint
  atMs: number
}

export interface Earnings {
  payee: Address
  totals: { token: Address; accruedUnits: bigint; heldUnits: bigint; claimedUnits: bigint }[]
  payers: PayerEarnings[]
  claims: ClaimRecord[]
}

/**
 * Builds the earnings view.
 * @example const e = earningsFromLedger(ledger); e.totals[0].heldUnits
 */
export function earningsFromLedger(ledger: PayeeLedger): Earnings {
  const payers: PayerEarnings[] = []
  for (const token of ledger.tokens()) {
    for (const e of ledger.entries(token)) {
      payers.push({
        payer: e.payer,
        token: e.token,
        accruedUnits: e.best.cheque.cumulativeAmount,
        claimedUnits: e.settled,
        heldUnits: e.exposure,
        ...(e.pending ? { pendingTx: e.pending.txHash } : {}),
      })
    }
  }
  const totals = new Map<Address, { token: Address; accruedUnits: bigint; heldUnits: bigint; claimedUnits: bigint }>()
  for (const p of payers) {
    const t = totals.get(p.token) ?? { token: p.token, accruedUnits: 0n, heldUnits: 0n, claimedUnits: 0n }
    t.accruedUnits += p.accruedUnits
    t.heldUnits += p.heldUnits
    t.claimedUnits += p.claimedUnits
    totals.set(p.token, t)
  }
  const claims = ledger.claims().map((c) => ({ txHash: c.txHash, payer: c.payer, token: c.token, paidUnits: c.paid, atMs: c.atMs }))
  return { payee: ledger.payee, totals: [...totals.values()], payers, claims }
}
