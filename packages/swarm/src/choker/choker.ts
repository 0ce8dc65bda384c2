/**
 * The choker (libtorrent's `unchoke_sort`): which interested peers we upload to. One pure function
 * decides from a snapshot of the peers; the session applies the decision. The policy is pluggable
 * (`ChokePolicy`) so a later policy — unchoke the peers that pay — drops in without touching the
 * session: it receives the same snapshot and returns the same decision.
 *
 * Default policy (BEP 3 tit-for-tat): while downloading, unchoke the `slots` interested peers that
 * give us the most; while seeding, those we upload to fastest (they drain us best). One more slot
 * is optimistic: a random interested peer, rotated every 30 s, so newcomers can prove themselves.
 */

/** What the choker knows about one peer at decision time. */
export interface ChokePeer {
  /** Connection key (`host:port` of the socket). */
  id: string
  /**
   * The remote peer id, hex: self-declared, so never an identity for payment (the paid protocol
   * keys on the connection `id` and the payer its cheques prove).
   */
  peerId?: string
  /** Its listen address `host:port`, when known. */
  address?: string
  /** The peer wants our pieces. */
  interested: boolean
  /** Bytes/s we receive from it (recent). */
  downloadRate: number
  /** Bytes/s we send to it (recent). */
  uploadRate: number
  /** True while we do not choke it. */
  unchoked: boolean
  /** When it was last given the optimistic slot (ms), if ever. */
  optimisticAt?: number
}

export interface UnchokeOptions {
  /** Regular upload slots. */
  slots: number
  /** Optimistic slots. @default 1 */
  optimisticSlots?: number
  /** True when we have every piece (rank by upload rate, not download rate). */
  seeding: boolean
  /** Current time, ms. */
  now: number
  /** The torrent the peers belong to (a paid policy keys its buyers by torrent and connection). */
  infoHash?: string
  /** Keep the current optimistic peer this long before rotating. @default 30000 */
  optimisticIntervalMs?: number
  /** Current optimistic peers and when they got the slot. */
  optimistic?: ReadonlyMap<string, number>
  /** Random source for optimistic picks. @default Math.random */
  random?: () => number
}

/** The decision: exactly these peers are unchoked; `optimistic` is the subset given that slot. */
export interface UnchokeDecision {
  unchoke: Set<string>
  optimistic: Map<string, number>
}

/**
 * A choking policy; the paid-delivery policy implements the same shape. Both the 10 s rounds and
 * the quick unchoke of a newly interested peer (and `Torrent.rechoke()`) ask it.
 */
export interface ChokePolicy {
  unchokeSort(peers: readonly ChokePeer[], opts: UnchokeOptions): UnchokeDecision
  /**
   * The quick unchoke: may this newly interested peer be unchoked now, between rounds? Without it a
   * peer is unchoked while a regular or optimistic slot is free (libtorrent's rule).
   */
  mayUnchoke?(peer: ChokePeer, ctx: QuickUnchokeContext): boolean
  /**
   * May this unchoked peer keep its slot although it asked for nothing lately? Without it an idle
   * peer is choked (2 s after the unchoke, or 10 s after its last request) so free slots go to peers
   * that use them; a paid policy keeps a paying buyer that waits on its own credit ack. A peer that
   * leaves blocks unread is choked either way (that is memory, not a slot).
   */
  keepsIdle?(peer: ChokePeer, infoHash?: string): boolean
}

/** What the quick unchoke knows besides the peer. */
export interface QuickUnchokeContext {
  /** Peers unchoked now. */
  unchoked: number
  /** Regular upload slots (one optimistic slot more). */
  slots: number
  infoHash?: string
}

/**
 * Rank interested peers and fill regular then optimistic slots.
 * @example
 * const { unchoke } = unchokeSort(peers, { slots: 4, seeding: false, now: Date.now() })
 * for (const p of peers) conn(p.id).setChoking(!unchoke.has(p.id))
 */
export function unchokeSort(peers: readonly ChokePeer[], opts: UnchokeOptions): UnchokeDecision {
  const random = opts.random ?? Math.random
  const interval = opts.optimisticIntervalMs ?? 30_000
  const optimisticSlots = opts.optimisticSlots ?? 1
  const interested = peers.filter((p) => p.interested)
  const rate = (p: ChokePeer) => (opts.seeding ? p.uploadRate : p.downloadRate)
  // keep a still-valid optimistic peer out of the ranking so it keeps its slot for the interval
  const optimistic = new Map<string, number>()
  for (const [id, at] of opts.optimistic ?? []) {
    if (opts.now - at < interval && interested.some((p) => p.id === id) && optimistic.size < optimisticSlots) {
      optimistic.set(id, at)
    }
  }
  // ties favour peers already unchoked, so equal peers are not flapped every round
  const ranked = interested
    .filter((p) => !optimistic.has(p.id))
    .sort((a, b) => rate(b) - rate(a) || Number(b.unchoked) - Number(a.unchoked))
  const unchoke = new Set<string>(ranked.slice(0, opts.slots).map((p) => p.id))
  const rest = ranked.slice(opts.slots)
  while (optimistic.size < optimisticSlots && rest.length > 0) {
    // the peer that waited longest since its last optimistic turn, random among never-tried ones
    const never = rest.filter((p) => p.optimisticAt === undefined)
    const pool = never.length > 0 ? never : rest
    const pick =
      never.length > 0
        ? pool[Math.floor(random() * pool.length)]!
        : pool.reduce((a, b) => ((a.optimisticAt ?? 0) <= (b.optimisticAt ?? 0) ? a : b))
    optimistic.set(pick.id, opts.now)
    rest.splice(rest.indexOf(pick), 1)
  }
  for (const id of optimistic.keys()) unchoke.add(id)
  return { unchoke, optimistic }
}

/** The default policy: `unchokeSort`. */
export const rateChokePolicy: ChokePolicy = { unchokeSort }
