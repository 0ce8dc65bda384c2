/**
 * The upload side of a torrent: who may download from us (the choker, run every round and at
 * once while slots are free) and serving their requests from the read cache under the upload
 * rate limit (per peer through `upload-queue.ts`, bounded by the client's `UploadBudget`). The
 * decision itself is the pluggable `ChokePolicy`; this only gathers the snapshot and applies it.
 */
import { hasCode } from '@bitcdn/core'
import type { BlockRef } from '../peer-connection.js'
import { rateChokePolicy, type ChokePeer, type ChokePolicy } from '../choker/choker.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import type { UploadBudget } from '../choker/upload-budget.js'
import { PeerUploadQueue } from './upload-queue.js'
import { BlockPool } from './block-pool.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'

/** An unchoked peer that asked nothing, or left blocks unflushed, this long loses its slot. */
const STALL_CHOKE_MS = 10_000
/** An unchoked peer that has not asked for anything this long after the unchoke gives its slot back. */
const FIRST_REQUEST_MS = 2000

export interface UploadSlotsInit {
  /** The torrent's info-hash (told to the policy). */
  infoHash?: string
  /** Regular upload slots. @default 8 */
  slots?: number
  policy?: ChokePolicy
  limiter: RateLimiter
  /** The client-wide bound on bytes read ahead for uploads. */
  budget: UploadBudget
  /** A peer stopped reading with `bytes` read for it (it is closed). */
  onStalled(conn: BitTorrentConnection, bytes: number): void
  /** True when we may serve piece `index` (verified and stored). */
  has(index: number): boolean
  /** Read a block to upload; `release` once the socket took it (its buffer is reused). */
  read(index: number, begin: number, length: number): Promise<{ data: Buffer; release: () => void; mayHold?: boolean }>
  /** Bytes were sent (for the torrent's totals). */
  onUploaded(bytes: number): void
  /** Reading from the store failed. */
  onReadError(err: unknown): void
  /**
   * Extra say over each request (a paid-delivery policy: serve only what was paid for). A false
   * answer rejects the request. @default serve everything the choker allows
   */
  gate?: (conn: BitTorrentConnection, ref: BlockRef) => boolean
  /** Told once per request the gate let through: sent to the socket (true) or dropped (false). */
  settled?: (conn: BitTorrentConnection, ref: BlockRef, sent: boolean) => void
}

/**
 * @example
 * const up = new UploadSlots({ limiter, has: (i) => picker.has(i), read, onUploaded, onReadError })
 * conn.on('request', (ref) => up.serve(conn, ref))
 */
export class UploadSlots {
  readonly #init: UploadSlotsInit
  #optimistic = new Map<string, number>()
  readonly #optimisticAt = new Map<string, number>()
  readonly #queues = new Map<BitTorrentConnection, PeerUploadQueue>()
  /** Peers that were unchoked and did not use the slot: last in line for the next one. */
  readonly #wasted = new Set<string>()
  readonly #blocks = new BlockPool()

  constructor(init: UploadSlotsInit) {
    this.#init = init
  }

  /** Answer one request: queue it for the peer, reject it when we may not serve it. */
  serve(conn: BitTorrentConnection, ref: BlockRef): void {
    const init = this.#init
    if (!init.has(ref.index) || (init.gate !== undefined && !init.gate(conn, ref))) return conn.rejectRequest(ref)
    this.#queueOf(conn).push(ref)
  }

  #queueOf(conn: BitTorrentConnection): PeerUploadQueue {
    let q = this.#queues.get(conn)
    if (q !== undefined) return q
    const init = this.#init
    q = new PeerUploadQueue(conn, {
      budget: init.budget,
      limiter: init.limiter,
      blocks: this.#blocks,
      read: init.read,
      onSent: init.onUploaded,
      onReadError: (err: unknown) => {
        // a range the peer made up is that peer's fault, never the torrent's (the connection
        // checks ranges first; this keeps a missed case from stopping the torrent)
        if (hasCode(err, 'BITCDN_ERR_PIECE_RANGE')) return conn.destroy(err as Error)
        init.onReadError(err)
      },
      onStalled: (c, bytes) => init.onStalled(c, bytes),
      onSettled: init.settled === undefined ? undefined : (ref, sent) => init.settled!(conn, ref, sent),
    })
    this.#queues.set(conn, q)
    conn.once('close', () => this.#queues.delete(conn))
    return q
  }

  /** Answer `conn`'s upload-side events; `all` lists the torrent's peers (for free slots). */
  attach(conn: BitTorrentConnection, all: () => Iterable<BitTorrentConnection>): void {
    conn.on('interested', () => this.quickUnchoke(conn, all()))
    conn.on('uninterested', () => {
      if (conn.amChoking) return
      conn.setChoking(true)
      for (const c of all()) this.quickUnchoke(c, all())
    })
    conn.on('request', (ref) => this.serve(conn, ref))
  }

  /**
   * Unchoke an interested peer at once while a slot is free (libtorrent does the same) — or, when
   * the policy has a say (`mayUnchoke`: a paid policy unchokes a paying buyer whatever the slots),
   * when it says so. A quick unchoke never chokes anyone; the next round settles the rest.
   */
  quickUnchoke(conn: BitTorrentConnection, all: Iterable<BitTorrentConnection>): void {
    if (!conn.amChoking || !conn.peerInterested || !conn.ready) return
    let unchoked = 0
    for (const c of all) if (!c.amChoking) unchoked++
    const slots = this.#init.slots ?? 8
    const policy = this.#init.policy ?? rateChokePolicy
    const may = policy.mayUnchoke === undefined ? unchoked < slots + 1 : policy.mayUnchoke(this.#peer(conn), { unchoked, slots, infoHash: this.#init.infoHash })
    if (may) conn.setChoking(false)
  }

  /** One choking round over the ready peers. */
  round(conns: Iterable<BitTorrentConnection>, now: number, seeding: boolean): void {
    const { decision, byId } = this.#decide(conns, now, seeding)
    this.#optimistic = decision.optimistic
    for (const [id, at] of decision.optimistic) this.#optimisticAt.set(id, at)
    for (const [id, c] of byId) c.setChoking(!decision.unchoke.has(id))
  }

  #decide(conns: Iterable<BitTorrentConnection>, now: number, seeding: boolean) {
    const peers: ChokePeer[] = []
    const byId = new Map<string, BitTorrentConnection>()
    for (const c of conns) {
      if (!c.ready || c.closed) continue
      byId.set(c.id, c)
      peers.push(this.#peer(c))
    }
    const decision = (this.#init.policy ?? rateChokePolicy).unchokeSort(peers, {
      slots: this.#init.slots ?? 8,
      seeding,
      now,
      infoHash: this.#init.infoHash,
      optimistic: this.#optimistic,
    })
    return { decision, byId }
  }

  /**
   * Choke unchoked peers that do not use their slot: they stopped reading (blocks waiting
   * `STALL_CHOKE_MS` with none flushed) or asked for nothing that long. A slot is for a peer that
   * takes data; the freed one goes to the next interested peer.
   */
  chokeStalled(conns: Iterable<BitTorrentConnection>, now: number): void {
    const list = [...conns]
    const choked = new Set<BitTorrentConnection>()
    for (const c of list) {
      if (c.amChoking || c.closed) continue
      const q = this.#queues.get(c)
      // a client that wants data asks within a round trip of an unchoke; later, a pause that long
      const unused =
        (q === undefined || q.buffered === 0) &&
        (c.lastPeerRequestAt < c.unchokedAt ? now - c.unchokedAt >= FIRST_REQUEST_MS : now - c.lastPeerRequestAt >= STALL_CHOKE_MS)
      const keep = unused && this.#init.policy?.keepsIdle?.(this.#peer(c), this.#init.infoHash) === true
      if ((unused && !keep) || (q !== undefined && q.stalledMs(now) >= STALL_CHOKE_MS)) {
        c.setChoking(true)
        this.#wasted.add(c.id)
        choked.add(c)
      }
    }
    if (choked.size === 0) return
    // the slots go first to peers that never wasted one, longest waiting first
    const rank = (c: BitTorrentConnection) => (this.#wasted.has(c.id) ? 1 : 0)
    const next = list.filter((c) => !choked.has(c)).sort((a, b) => rank(a) - rank(b) || a.unchokedAt - b.unchokedAt)
    for (const c of next) this.quickUnchoke(c, list)
  }

  #peer(c: BitTorrentConnection): ChokePeer {
    return {
      id: c.id,
      peerId: c.remotePeerId,
      address: c.listenAddress,
      interested: c.peerInterested,
      downloadRate: c.downloadRate,
      uploadRate: c.uploadRate,
      unchoked: !c.amChoking,
      optimisticAt: this.#optimisticAt.get(c.id),
    }
  }

  /** Forget a closed peer. */
  remove(id: string): void {
    this.#wasted.delete(id)
    this.#optimistic.delete(id)
    this.#optimisticAt.delete(id)
  }
}
