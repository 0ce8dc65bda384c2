/**
 * The operator's view of money, from the payee ledger alone (works with the node stopped):
 * accrued (best cheque per payer), held in unclaimed cheques (accrued − claimed), claimed on chain
 * with the claim transactions, and the exposure per payer — and, from the seller's credit records in
 * the same file, what each payer owes now (delivered, not yet paid by cheque) and how much of its
 * debt was written off by forgiveness (`price.forgive_unpaid_after_hours`): the seller's loss.
 */
import type { Address, Hex } from 'viem'
import type { PayeeLedger, StoredCredit } from '@bitcdn/pay'

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
  /** Delivered and not yet paid by cheque (credit extended now). */
  owedUnits: bigint
  /** Unpaid debt written off after the payer went idle for the forgiveness period, total. */
  writtenOffUnits: bigint
  /** Last delivery or credited cheque, wall-clock ms (absent: no credit record). */
  lastActivityMs?: number
}

export interface ClaimRecord {
  txHash: Hex
  payer: Address
  token: Address
  /** What this transaction paid for this payer. */
  paidUnits: bigint
  atMs: number
}

export interface TokenTotals {
  token: Address
  accruedUnits: bigint
  heldUnits: bigint
  claimedUnits: bigint
  owedUnits: bigint
  writtenOffUnits: bigint
}

export interface Earnings {
  payee: Address
  totals: TokenTotals[]
  payers: PayerEarnings[]
  claims: ClaimRecord[]
}

/**
 * Builds the earnings view. `credits`: the seller's stored credit per payer (`SellerSettlement.credits()`,
 * or `openCreditStore(ledgerPath).list()` with the node stopped); a payer that never sent a
 * cheque appears through it alone (accrued 0), so a payer that only takes is visible too.
 * @example const e = earningsFromLedger(ledger, settlement.credits()); e.totals[0].writtenOffUnits
 */
export function earningsFromLedger(ledger: PayeeLedger, credits: readonly StoredCredit[] = []): Earnings {
  const payers: PayerEarnings[] = []
  const byKey = new Map<string, PayerEarnings>()
  for (const token of ledger.tokens()) {
    for (const e of ledger.entries(token)) {
      const p: PayerEarnings = {
        payer: e.payer,
        token: e.token,
        accruedUnits: e.best.cheque.cumulativeAmount,
        claimedUnits: e.settled,
        heldUnits: e.exposure,
        ...(e.pending ? { pendingTx: e.pending.txHash } : {}),
        owedUnits: 0n,
        writtenOffUnits: 0n,
      }
      payers.push(p)
      byKey.set(`${p.payer}:${p.token}`, p)
    }
  }
  for (const c of credits) {
    let p = byKey.get(`${c.payer}:${c.token}`)
    if (p === undefined) {
      p = { payer: c.payer, token: c.token, accruedUnits: 0n, claimedUnits: 0n, heldUnits: 0n, owedUnits: 0n, writtenOffUnits: 0n }
      payers.push(p)
      byKey.set(`${p.payer}:${p.token}`, p)
    }
    p.owedUnits = c.state.delivered > c.state.paid ? c.state.delivered - c.state.paid : 0n
    p.writtenOffUnits = c.state.writtenOff
    if (c.state.lastActivityMs > 0) p.lastActivityMs = c.state.lastActivityMs
  }
  const totals = new Map<Address, TokenTotals>()
  for (const p of payers) {
    const t = totals.get(p.token) ?? { token: p.token, accruedUnits: 0n, heldUnits: 0n, claimedUnits: 0n, owedUnits: 0n, writtenOffUnits: 0n }
    t.accruedUnits += p.accruedUnits
    t.heldUnits += p.heldUnits
    t.claimedUnits += p.claimedUnits
    t.owedUnits += p.owedUnits
    t.writtenOffUnits += p.writtenOffUnits
    totals.set(p.token, t)
  }
  const claims = ledger.claims().map((c) => ({ txHash: c.txHash, payer: c.payer, token: c.token, paidUnits: c.paid, atMs: c.atMs }))
  return { payee: ledger.payee, totals: [...totals.values()], payers, claims }
}
