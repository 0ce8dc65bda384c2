/**
 * The buyer's choice of sellers (pure): how many block requests each priced seller may hold, from
 * its price, its measured throughput and its reliability. Pipeline depth is the lever: the swarm's
 * picker hands blocks to whoever asks, so a seller allowed four times the requests serves about
 * four times the bytes when sellers are equally fast.
 *
 *   score = (cheapest price / price)^priceExponent × reliability × throughput factor
 *   reliability = (good + 1) / (good + bad + 1)   — refused cheques, failed pieces count as bad
 *   throughput factor = its measured rate / the median rate, clamped to [0.5, 2] (1 until measured)
 *
 * The best `maxSellers` by score get depth maxDepth × score / best score (at least minDepth); the
 * rest get 0 (kept connected as standby). A seller above the maximum price never gets here: the
 * buyer leaves it at the terms.
 */

export interface SellerScoreInput {
  id: string
  /** Token base units per GiB. */
  pricePerGiB: bigint
  /** Verified bytes/s from it, recent (0 until measured). */
  throughput: number
  /** Pieces verified with its bytes and acknowledged cheques. */
  good: number
  /** Refused cheques, pieces that failed with its bytes. */
  bad: number
}

export interface BuyerPolicyOptions {
  /** Sellers bought from at once. @default 4 */
  maxSellers?: number
  /** Requests the best seller may hold. @default 64 */
  maxDepth?: number
  /** Requests any chosen seller may hold. @default 2 */
  minDepth?: number
  /** How strongly price steers. @default 2 */
  priceExponent?: number
}

/**
 * @example
 * sellerWeights([{ id: 'a', pricePerGiB: 1n, throughput: 0, good: 0, bad: 0 }, { id: 'b', pricePerGiB: 2n, ... }])
 * // Map { 'a' => 64, 'b' => 16 }
 */
export function sellerWeights(sellers: readonly SellerScoreInput[], opts: BuyerPolicyOptions = {}): Map<string, number> {
  const maxSellers = opts.maxSellers ?? 4
  const maxDepth = opts.maxDepth ?? 64
  const minDepth = opts.minDepth ?? 2
  const exp = opts.priceExponent ?? 2
  const out = new Map<string, number>()
  if (sellers.length === 0) return out
  const priceOf = (s: SellerScoreInput) => Number(s.pricePerGiB > 0n ? s.pricePerGiB : 1n)
  const cheapest = Math.min(...sellers.map(priceOf))
  const rates = sellers.map((s) => s.throughput).filter((r) => r > 0).sort((a, b) => a - b)
  const median = rates.length > 0 ? rates[Math.floor(rates.length / 2)]! : 0
  const scored = sellers.map((s) => {
    const priceScore = (cheapest / priceOf(s)) ** exp
    const reliability = (s.good + 1) / (s.good + s.bad + 1)
    const tput = median > 0 && s.throughput > 0 ? Math.min(2, Math.max(0.5, s.throughput / median)) : 1
    return { id: s.id, score: priceScore * reliability * tput }
  })
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
  const best = scored[0]!.score
  scored.forEach((s, i) => {
    out.set(s.id, i < maxSellers && best > 0 ? Math.max(minDepth, Math.round((maxDepth * s.score) / best)) : 0)
  })
  return out
}
