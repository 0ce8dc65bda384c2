/**
 * What `bitcdn get --wallet` prints at the end: what it spent and to whom — per seller the bytes
 * it delivered into verified pieces, its price and the amount paid (⌊bytes × price / 2^30⌋, the
 * buyer's rounding: never more than the bytes are worth, less by under one token base unit), and
 * the allocations topped up on chain. Pure, so it is tested without a chain.
 */
import type { Address, Hex } from 'viem'
import { formatBytes } from '@bitcdn/core'
import { formatTokenAmount } from '@bitcdn/pay'

/** One seller's account at the end of a download. */
export interface SellerSpend {
  payee: Address
  /** Bytes it delivered into pieces that verified. */
  verifiedBytes: number
  pricePerGiB: bigint
  /** Paid by this run's cheques. */
  paid: bigint
  /** Its last cheque from this run was acknowledged (stored by the seller). */
  acknowledged: boolean
}

/** An allocation top-up this run sent. */
export interface AllocationSpend {
  payee: Address
  allocated: bigint
  txHashes: Hex[]
}

/**
 * @example
 * spendSummary({ symbol: 'USDC', budget: 1_000_000n, sellers, allocations: [] })
 * // ['paid 0.05 USDC of a 1 USDC budget to 1 seller(s):', '  0xAb…  50.0 MiB (52428800 B) at 1 USDC/GiB: 0.048828 USDC']
 */
export function spendSummary(s: { symbol: string; budget: bigint; sellers: readonly SellerSpend[]; allocations: readonly AllocationSpend[] }): string[] {
  const usd = (u: bigint) => `${formatTokenAmount(u, 6)} ${s.symbol}`
  const paying = s.sellers.filter((x) => x.verifiedBytes > 0 || x.paid > 0n)
  const total = paying.reduce((sum, x) => sum + x.paid, 0n)
  const lines = [`paid ${usd(total)} of a ${usd(s.budget)} budget to ${paying.length} seller(s)${paying.length > 0 ? ':' : ''}`]
  // the seller that got most first
  for (const x of [...paying].sort((a, b) => b.verifiedBytes - a.verifiedBytes)) {
    lines.push(
      `  ${x.payee}  ${formatBytes(x.verifiedBytes)} (${x.verifiedBytes} B) at ${usd(x.pricePerGiB)}/GiB: ${usd(x.paid)}${x.acknowledged ? '' : '  (last cheque not acknowledged yet; the next one to this node covers it)'}`,
    )
  }
  for (const a of s.allocations) {
    lines.push(`allocated ${usd(a.allocated)} to ${a.payee} (tx ${a.txHashes.join(', ')}): collateral that stays with that node until you deallocate it; not spent`)
  }
  return lines
}
