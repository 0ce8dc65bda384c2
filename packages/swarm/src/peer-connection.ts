/**
 * The one shape every source of blocks takes (libtorrent's `peer_connection`): a BitTorrent peer
 * over TCP and an HTTP web seed (BEP 19) both implement it, so both share the piece picker, the
 * request glue and the choker. The torrent session never knows which kind it is talking to except
 * through `kind` (for byte accounting) and `maxOutstanding` (how deep to pipeline).
 */
import type { EventEmitter } from 'node:events'

/** Where a peer connection's blocks come from; bytes are counted per kind. */
export type PeerKind = 'bittorrent' | 'webseed'

/** A block address inside a torrent. `length` is at most 16 KiB for BitTorrent peers. */
export interface BlockRef {
  index: number
  begin: number
  length: number
}

/**
 * Events every PeerConnection emits:
 * - `block` (index, begin, data: Buffer): a requested block arrived (not yet hash-verified); `data`
 *   may be a view of a reused receive buffer, valid only during the event — copy what you keep;
 * - `reject` (ref: BlockRef): the peer will not serve a request (BEP 6 reject, HTTP failure, choke);
 * - `have` (index): the peer gained a piece; `bitfield` (): its whole have-set changed;
 * - `choke` () / `unchoke` (): the peer stopped/started serving our requests;
 * - `interested` () / `uninterested` (): the peer wants/does not want our pieces (upload side);
 * - `request` (ref: BlockRef): the peer asks us for a block (upload side);
 * - `close` (err?: Error): the connection is gone; no event follows.
 */
export interface PeerConnectionEvents {
  block: [index: number, begin: number, data: Buffer]
  reject: [ref: BlockRef]
  have: [index: number]
  bitfield: []
  choke: []
  unchoke: []
  interested: []
  uninterested: []
  request: [ref: BlockRef]
  close: [err?: Error]
}

export interface PeerConnection extends EventEmitter<PeerConnectionEvents> {
  /** Stable key for this source: `host:port` for peers, the URL for web seeds. */
  readonly id: string
  readonly kind: PeerKind
  /** True when we dialed it (a BitTorrent peer); false or absent when it connected to us. */
  readonly outgoing?: boolean
  /** True once it carries requests (a BitTorrent peer: its handshake checked out; a web seed: at once). */
  readonly ready: boolean
  /** True once closed. */
  readonly closed: boolean
  /** True when it has every piece (a web seed always). */
  readonly isSeed: boolean
  /** Pieces it refused since it last unchoked us, not asked of it again (a web seed: none). */
  readonly rejectedPieces: Set<number>
  /** Held requests past their timeout: asked for one block at a time until it delivers. */
  snubbed: boolean
  /** True if the peer has piece `index` (a web seed has all). */
  has(index: number): boolean
  /** True while the peer refuses our requests. A web seed never chokes (it backs off instead). */
  readonly peerChoking: boolean
  /** How many block requests may be in flight now; grows with the measured rate (pipelining). */
  readonly maxOutstanding: number
  /** Requests in flight, for timeouts and endgame. */
  readonly outstanding: number
  /** Ask for one block. Adjacent requests may be coalesced (a web seed makes one HTTP range). */
  request(ref: BlockRef): void
  /** Withdraw a request (endgame: another peer delivered it first). */
  cancel(ref: BlockRef): void
  /** Tell the peer we have a piece (no-op for a web seed). */
  announceHave(index: number): void
  /** Our interest in the peer's pieces. */
  setInterested(interested: boolean): void
  /** Upload side: allow or refuse the peer's requests. */
  setChoking(choking: boolean): void
  /** Upload side: answer a `request` event. */
  sendBlock(ref: BlockRef, data: Buffer): void
  /** Bytes received from this source (payload only). */
  readonly downloaded: number
  /** Bytes sent to this peer (payload only). */
  readonly uploaded: number
  /**
   * Requests in flight for longer than their timeout (at least `minTimeoutMs`; a BitTorrent peer
   * scales it with its block latency). The caller cancels and re-picks them.
   */
  timedOutRequests?(now: number, minTimeoutMs: number): BlockRef[]
  /** Close the connection; emits `close` once. */
  destroy(err?: Error): void
}
