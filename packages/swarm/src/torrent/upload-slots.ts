/**
 * The upload side of a torrent: who may download from us (the choker, run every round and at
 * once while slots are free) and serving their requests from the read cache under the upload
 * rate limit. The decision itself is the pluggable `ChokePolicy`; this only gathers the snapshot
 * and applies the result.
 */
import type { BlockRef } from '../peer-connection.js'
import { rateChokePolicy, type ChokePeer, type ChokePolicy } from '../choker/choker.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'

export interface UploadSlotsInit {
  /** Regular upload slots. @default 8 */
  slots?: number
  policy?: ChokePolicy
  limiter: RateLimiter
  /** True when we may serve piece `index` (verified and stored). */
  has(index: number): boolean
  /** Read a block to upload; `release` once the socket took it (its buffer is reused). */
  read(index: number, begin: number, length: number): Promise<{ data: Buffer; release: () => void }>
  /** Bytes were sent (for the torrent's totals). */
  onUploaded(bytes: number): void
  /** Reading from the store failed. */
  onReadError(err: unknown): void
  /**
   * Extra say over each request (a paid-delivery policy: serve only what was paid for). A false
   * answer rejects the request. @default serve everything the choker allows
   */
  gate?: (conn: BitTorrentConnection, ref: BlockRef) => boolean
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

  constructor(init: UploadSlotsInit) {
    this.#init = init
  }

  /** Answer one request, waiting for upload tokens if limited. */
  serve(conn: BitTorrentConnection, ref: BlockRef): void {
    const init = this.#init
    if (!init.has(ref.index) || (init.gate !== undefined && !init.gate(conn, ref))) return conn.rejectRequest(ref)
    const send = () => {
      if (conn.closed || conn.amChoking) return
      if (!init.limiter.take(ref.length)) {
        setTimeout(send, Math.max(1, init.limiter.waitMs(ref.length))).unref()
        return
      }
      init.read(ref.index, ref.begin, ref.length).then(({ data, release }) => {
        const before = conn.uploaded
        conn.sendBlock(ref, data, release)
        init.onUploaded(conn.uploaded - before)
      }, init.onReadError)
    }
    send()
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

  /** Unchoke an interested peer at once while a slot is free (libtorrent does the same). */
  quickUnchoke(conn: BitTorrentConnection, all: Iterable<BitTorrentConnection>): void {
    if (!conn.amChoking || !conn.peerInterested) return
    let unchoked = 0
    for (const c of all) if (!c.amChoking) unchoked++
    if (unchoked < (this.#init.slots ?? 8) + 1) conn.setChoking(false)
  }

  /** One choking round over the ready peers. */
  round(conns: Iterable<BitTorrentConnection>, now: number, seeding: boolean): void {
    const peers: ChokePeer[] = []
    const byId = new Map<string, BitTorrentConnection>()
    for (const c of conns) {
      if (!c.ready || c.closed) continue
      byId.set(c.id, c)
      peers.push({
        id: c.id,
        peerId: c.remotePeerId,
        address: c.listenAddress,
        interested: c.peerInterested,
        downloadRate: c.downloadRate,
        uploadRate: c.uploadRate,
        unchoked: !c.amChoking,
        optimisticAt: this.#optimisticAt.get(c.id),
      })
    }
    const decision = (this.#init.policy ?? rateChokePolicy).unchokeSort(peers, {
      slots: this.#init.slots ?? 8,
      seeding,
      now,
      optimistic: this.#optimistic,
    })
    this.#optimistic = decision.optimistic
    for (const [id, at] of decision.optimistic) this.#optimisticAt.set(id, at)
    for (const [id, c] of byId) c.setChoking(!decision.unchoke.has(id))
  }

  /** Forget a closed peer. */
  remove(id: string): void {
    this.#optimistic.delete(id)
    this.#optimisticAt.delete(id)
  }
}
