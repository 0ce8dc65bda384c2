/** The hub API the site reads (same origin): types of what it answers and small fetch helpers. */

export interface Stats {
  at: number
  nodesOnline: number
  catalogueEntries: number
  trackerTorrents: number
  trackerPeers: number
  bytesServedReported: string
  bytesServedProven: string
  deposited?: string
  claimed?: string
  prices: string[]
  priceMin?: string
  priceMedian?: string
  priceMax?: string
  /** Share of the watched gateways' bytes not fetched from the origin, 0..1. */
  offloadRatio?: number
  gateways?: { url: string; offloadRatio?: number; error?: string }[]
}

export interface Claim {
  txHash: string
  block: string
  event: 'ChequeClaimed' | 'CompactClaimed'
  amount: string
  payer?: string
}

export interface Claims {
  payee: string
  /** false: the hub reads no chain. */
  chain: boolean
  claimed: string
  chainBlock: string
  /** Link template: `{hash}` becomes the transaction hash. */
  txUrl: string
  claims: Claim[]
}

export interface Probe {
  at: number
  reachable: boolean
  handshake: boolean
  paid: boolean
  latencyMs?: number
  detail?: string
}

export interface NodeView {
  payee: string
  endpoint: string
  pricePerGiB: string
  region?: string
  version?: string
  servedBytes: string
  pinned: string[]
  firstSeen: number
  lastSeen: number
  online: boolean
  probe: Probe | null
}

export interface Point {
  at: number
  value: string
}

export type Metric = 'nodesOnline' | 'bytesServedReported' | 'bytesServedProven' | 'deposited' | 'claimed' | 'priceMedian' | 'trackerPeers' | 'offloadRatio'

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return (await res.json()) as T
}

export const getStats = () => getJson<Stats>('/api/v1/stats')

export async function getSeries(metric: Metric, sinceMs = 24 * 3600_000): Promise<Point[]> {
  const from = Date.now() - sinceMs
  return (await getJson<{ points: Point[] }>(`/api/v1/stats/series?metric=${metric}&from=${from}`)).points
}

/** The node registered under `payee`, or `undefined` when this hub has none (404). */
export async function getNode(payee: string): Promise<NodeView | undefined> {
  const res = await fetch(`/api/v1/nodes/${encodeURIComponent(payee)}`, { headers: { accept: 'application/json' } })
  if (res.status === 404) return undefined
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${((await res.json().catch(() => ({}))) as { message?: string }).message ?? 'lookup failed'}`)
  return (await res.json()) as NodeView
}

/** A payout address's on-chain claims, or `undefined` when the hub reads no chain. */
export async function getClaims(payee: string): Promise<Claims | undefined> {
  const c = await getJson<Claims>(`/api/v1/nodes/${encodeURIComponent(payee)}/claims`)
  return c.chain ? c : undefined
}
