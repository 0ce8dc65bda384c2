/**
 * Network statistics: one snapshot computed from the registry (shared by every hub instance on the
 * same database, so instances agree), the hub's tracker, and the escrow's events. Bytes served are
 * shown two ways side by side: as nodes report them (signed, but self-declared) and as proven by
 * claimed cheques (token paid to a node ÷ its price), which no node can inflate without paying.
 */
import type { HubStore } from '../store/hub-store.js'
import { STALE_MS } from '../registry/registration.js'
import type { ChainTotalsSnapshot } from './chain-totals.js'
import { overallOffload, type GatewayOffload } from './gateway-offload.js'

const GiB = 1n << 30n
/** Nodes listed in one snapshot at most (the registry can be larger; the snapshot is a summary). */
export const MAX_NODES_IN_STATS = 10_000

export interface NetworkStats {
  at: number
  nodesOnline: number
  /** Torrents in the catalogue (at most the first 10,000 counted). */
  catalogueEntries: number
  /** Torrents and peers the hub's tracker knows right now (this instance). */
  trackerTorrents: number
  trackerPeers: number
  /** Sum of the bytes online nodes report having served. */
  bytesServedReported: string
  /** Bytes proven by claimed cheques: Σ over nodes of paid ÷ pricePerGiB × 1 GiB. */
  bytesServedProven: string
  /** Token base units deposited into / claimed from the escrow (undefined without a chain). */
  deposited?: string
  claimed?: string
  chainBlock?: string
  /** Prices per GiB of online nodes, token base units, ascending. */
  prices: string[]
  priceMin?: string
  priceMedian?: string
  priceMax?: string
  /** Share of gateway bytes not fetched from the origin, over the gateways this hub watches (0..1). */
  offloadRatio?: number
  /** Each watched gateway's counters and ratio. */
  gateways: GatewayOffload[]
}

export interface StatsSources {
  store: HubStore
  now: () => number
  tracker?: () => { torrents: number; peers: number }
  chain?: () => ChainTotalsSnapshot | undefined
  gateways?: () => GatewayOffload[]
}

/**
 * @example const stats = await computeStats({ store, now: Date.now })
 */
export async function computeStats(src: StatsSources): Promise<NetworkStats> {
  const at = src.now()
  const nodes = await src.store.listNodes(at - STALE_MS, MAX_NODES_IN_STATS)
  const catalogue = await src.store.listCatalogue(10_000, 0)
  const chain = src.chain?.()
  let reported = 0n
  let proven = 0n
  const prices: bigint[] = []
  for (const n of nodes) {
    reported += BigInt(n.fields.servedBytes)
    const price = BigInt(n.fields.pricePerGiB)
    prices.push(price)
    const paid = chain?.claimedByPayee.get(n.fields.payee) ?? 0n
    if (price > 0n) proven += (paid * GiB) / price
  }
  prices.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const t = src.tracker?.() ?? { torrents: 0, peers: 0 }
  const stats: NetworkStats = {
    at,
    nodesOnline: nodes.length,
    catalogueEntries: catalogue.length,
    trackerTorrents: t.torrents,
    trackerPeers: t.peers,
    bytesServedReported: reported.toString(),
    bytesServedProven: proven.toString(),
    prices: prices.map(String),
    gateways: src.gateways?.() ?? [],
  }
  const offload = overallOffload(stats.gateways)
  if (offload !== undefined) stats.offloadRatio = offload
  if (chain) {
    stats.deposited = chain.deposited.toString()
    stats.claimed = chain.claimed.toString()
    stats.chainBlock = chain.block.toString()
  }
  if (prices.length) {
    stats.priceMin = prices[0]!.toString()
    stats.priceMedian = prices[Math.floor(prices.length / 2)]!.toString()
    stats.priceMax = prices[prices.length - 1]!.toString()
  }
  return stats
}

/** The series the hub samples (one value per bucket). */
export const SERIES = ['nodesOnline', 'bytesServedReported', 'bytesServedProven', 'deposited', 'claimed', 'priceMedian', 'trackerPeers', 'offloadRatio'] as const
export type SeriesName = (typeof SERIES)[number]

/** The sampled value of `metric` in `stats` (0 when absent). */
export function seriesValue(stats: NetworkStats, metric: SeriesName): string {
  const v = stats[metric]
  return v === undefined ? '0' : String(v)
}
