/**
 * Replacement-by-fee for a claim stuck in the mempool: the same nonce re-sent with higher fees.
 * Nodes take a replacement only when both EIP-1559 fees rise by their minimum bump (geth, anvil
 * and reth: 10%; some pools ask 12.5%, our default), so each bump raises both by at least that,
 * and the fee cap rises to what the current base fee needs (2 × base + tip, as viem estimates) if
 * that is more. A claim with no deadline stops at the gas cap; one on a deadline has none — past
 * the deadline the money is gone, whatever gas costs.
 *
 * When to bump: after `repriceAfterMs` in the mempool, sooner as a deadline nears (a quarter of the
 * time left, at least 1 s apart), and at once for a claim on a deadline whose fee cap is below the
 * base fee (it cannot be mined at all).
 */

/** The fees of a sent transaction: EIP-1559 (`maxFeePerGas`) or legacy (`gasPrice`). */
export interface TxFees {
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  gasPrice?: bigint
}

export interface FeeBumpParams {
  /** The stuck transaction's fees. */
  fees: TxFees
  /** Base fee of the newest block (undefined on a chain without EIP-1559). */
  baseFeePerGas?: bigint
  /** The node's current gas price (legacy chains: the replacement pays at least this). */
  gasPrice: bigint
  /** Minimum bump per replacement, per mille. @default 125 */
  bumpPermille?: number
  /** Highest fee cap to pay, wei; undefined = no cap (a claim on a deadline). */
  capWei?: bigint
}

/** Raises `x` by at least `permille`/1000 (rounded up) and at least 1 wei. */
export function bumped(x: bigint, permille: number): bigint {
  const up = (x * BigInt(permille) + 999n) / 1000n
  return x + (up > 0n ? up : 1n)
}

/**
 * The fees of the replacement, or undefined when the cap leaves no room for a valid bump.
 * @example
 * const next = nextFees({ fees: { maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: gwei }, baseFeePerGas: 30n * gwei, gasPrice: 0n })
 * // { maxFeePerGas: 61.125 gwei, maxPriorityFeePerGas: 1.125 gwei }
 */
export function nextFees(p: FeeBumpParams): TxFees | undefined {
  const permille = Math.max(100, p.bumpPermille ?? 125)
  if (p.fees.maxFeePerGas !== undefined) {
    const tip = bumped(p.fees.maxPriorityFeePerGas ?? 0n, permille)
    let maxFee = bumped(p.fees.maxFeePerGas, permille)
    const needed = 2n * (p.baseFeePerGas ?? 0n) + tip
    if (needed > maxFee) maxFee = needed
    if (p.capWei !== undefined && maxFee > p.capWei) {
      // within the cap only if the cap still allows the minimum bump of both fees
      if (p.capWei < bumped(p.fees.maxFeePerGas, permille) || p.capWei < tip) return undefined
      maxFee = p.capWei
    }
    return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip }
  }
  let price = bumped(p.fees.gasPrice ?? 0n, permille)
  if (p.gasPrice > price) price = p.gasPrice
  if (p.capWei !== undefined && price > p.capWei) {
    if (p.capWei < bumped(p.fees.gasPrice ?? 0n, permille)) return undefined
    price = p.capWei
  }
  return { gasPrice: price }
}

/**
 * How long a claim may sit in the mempool before it is repriced, ms: `repriceAfterMs`, or for a
 * claim on a deadline a quarter of the time left (chain time), between 1 s and `repriceAfterMs`.
 * @example repriceIntervalMs(60_000, 1_000n, 1_040n) // 10_000
 */
export function repriceIntervalMs(repriceAfterMs: number, chainNowS: bigint, deadlineS?: bigint): number {
  if (deadlineS === undefined) return repriceAfterMs
  const leftMs = Number(deadlineS - chainNowS) * 1000
  return Math.min(repriceAfterMs, Math.max(1000, Math.floor(leftMs / 4)))
}
