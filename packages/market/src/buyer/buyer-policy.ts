/**
 * The buyer's choice of sellers (pure): for each priced seller, how many block requests it may
 * hold and what share of the bytes it should deliver, from its price, its measured throughput and
 * its reliability.
 *
 *   score = (cheapest price / price)^priceExponent × reliability × throughput factor
 *   reliability = (good + 1) / (good + bad + 1)   — refused cheques, failed pieces count as bad
 *   throughput factor = its measured rate / the median rate, clamped to [0.5, 2] (1 until measured)
 *
 * The best `maxSellers` by score are chosen; the rest get depth 0 and share 0 (kept connected as
 * standby). A seller above the maximum price never gets here: the buyer leaves it at the terms.
 *
 * Two levers, because one is not enough:
 * - **depth** = maxDepth × score / best score (at least minDepth), below the connection's own
 *   adaptive pipeline: the best seller is never held below what a free download would ask of it.
 *   Depth steers bytes only while sellers are the bottleneck (a seller's rate ≈ depth / its
 *   round trip).
 * - **share** = score / Σ scores: the deliberate price preference. When the buyer itself is the
 *   bottleneck (a loaded machine, fast sellers), every connection with a few requests queued is
 *   read in turn and delivers about the same, whatever its depth — so the buyer also holds each
 *   seller to its share of the bytes received (`overShare`): a seller ahead of its share by more
 *   than the slack gets no new requests while a seller behind its share is delivering. Cheaper
 *   sellers of comparable reliability therefore serve clearly more (prices 1, 2, 4 with the
 *   default exponent: shares ≈ 76%, 19%, 5%), and a cheap seller that stalls holds nobody back.
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
  /** Requests the best seller may hold (the connection's own pipeline caps it further). @default 500 */
  maxDepth?: number
  /** Requests any chosen seller may hold. @default 2 */
  minDepth?: number
  /** How strongly price steers. @default 2 */
  priceExponent?: number
  /** Bytes a seller may run ahead of its share before it waits for the others. @default max(two pieces, min(4 MiB, an eighth of the torrent)) */
  shareSlackBytes?: number
}

/** What one seller is given. */
export interface SellerWeight {
  /** Block requests it may hold (0: standby). */
  depth: number
  /** Fraction of the bytes it should deliver (0..1; the chosen sellers' shares sum to 1). */
  share: number
}

/**
 * @example
 * sellerWeights([{ id: 'a', pricePerGiB: 1n, throughput: 0, good: 0, bad: 0 }, { id: 'b', pricePerGiB: 2n, ... }])
 * // Map { 'a' => { depth: 500, share: 0.8 }, 'b' => { depth: 125, share: 0.2 } }
 */
export function sellerWeights(sellers: readonly SellerScoreInput[], opts: BuyerPolicyOptions = {}): Map<string, SellerWeight> {
  const maxSellers = opts.maxSellers ?? 4
  const maxDepth = opts.maxDepth ?? 500
  const minDepth = opts.minDepth ?? 2
  const exp = opts.priceExponent ?? 2
  const out = new Map<string, SellerWeight>()
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
  let sum = 0
  scored.forEach((s, i) => {
    if (i < maxSellers) sum += s.score
  })
  scored.forEach((s, i) => {
    const chosen = i < maxSellers && best > 0
    out.set(s.id, chosen ? { depth: Math.max(minDepth, Math.round((maxDepth * s.score) / best)), share: sum > 0 ? s.score / sum : 0 } : { depth: 0, share: 0 })
  })
  return out
}

/** One chosen seller's standing in the byte shares. */
export interface ShareStanding {
  id: string
  share: number
  /** Bytes received from it. */
  receivedBytes: number
  /** It delivered a block recently (a stalled seller holds nobody back). */
  delivering: boolean
}

/**
 * Whether seller `id` is ahead of its share of the bytes received by more than `slackBytes` while
 * another chosen seller, behind its own share, is delivering: then it should wait (no new
 * requests) so that seller catches up.
 * @example overShare('dear', [{ id: 'cheap', share: 0.8, receivedBytes: 10e6, delivering: true }, { id: 'dear', share: 0.2, receivedBytes: 20e6, delivering: true }], 4 << 20) // true
 */
export function overShare(id: string, standings: readonly ShareStanding[], slackBytes: number): boolean {
  let total = 0
  for (const s of standings) total += s.receivedBytes
  const me = standings.find((s) => s.id === id)
  if (me === undefined || me.receivedBytes <= me.share * total + slackBytes) return false
  return standings.some((s) => s.id !== id && s.delivering && s.receivedBytes < s.share * total)
}
