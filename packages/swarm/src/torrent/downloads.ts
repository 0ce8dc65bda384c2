/**
 * The download side of a torrent: keeping every connection's request pipeline full from the
 * picker (through `requestBlocks`), the picker's availability counts and our interest, and giving
 * up on requests nobody answers — a peer that sends nothing is snubbed (`snub.ts`), and a single
 * request held past its timeout is cancelled and handed to other peers (libtorrent's
 * `request_timeout`), so one lost block never waits for endgame.
 */
import type { PeerConnection } from '../peer-connection.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import { requestBlocks } from '../request-blocks.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import { swarmError } from '../errors.js'
import { releaseStalled } from './snub.js'
import type { SessionState } from './session-state.js'
import type { WebSeedScheduler } from './web-seed-scheduler.js'

export interface DownloadsInit {
  /** Requests held this long without any block snub the peer, ms. @default 15000 */
  snubTimeoutMs?: number
  /** A request held this long (at least; 4× the peer's mean block latency if longer) is given up, ms. @default 10000 */
  requestTimeoutMs?: number
  /** The same for web seeds, whose blocks may queue behind the per-origin limit, ms. @default 120000 */
  webSeedRequestTimeoutMs?: number
  /** Pieces are fetched only when asked for (see `AddTorrentOptions.onDemand`). */
  onDemand?: boolean
}

export interface DownloadsComponents {
  limiter: RateLimiter
  webSeeds: WebSeedScheduler
  /** A requested block arrived (not yet verified). */
  onBlock: (conn: PeerConnection, index: number, begin: number, data: Buffer) => void
  /** Two seeds have nothing to say to each other. */
  maybeDropSeed: (conn: PeerConnection) => void
  /** True while verified pieces wait for the disk beyond the memory bound: request nothing new. */
  backlogged?: () => boolean
  /** Most requests in flight to a connection (undefined: its own pipeline depth). */
  requestLimit?: (conn: PeerConnection) => number | undefined
}

type Counted = PeerConnection & { countedSeed?: boolean; counted?: boolean }

/**
 * @example
 * const downloads = new Downloads(state, init, { limiter, webSeeds, onBlock, maybeDropSeed })
 * downloads.attach(conn)
 */
export class Downloads {
  readonly #state: SessionState
  readonly #init: DownloadsInit
  readonly #c: DownloadsComponents
  #fillScheduled = false

  constructor(state: SessionState, init: DownloadsInit, components: DownloadsComponents) {
    this.#state = state
    this.#init = init
    this.#c = components
  }

  /** Listen to a connection's download-side events. */
  attach(conn: PeerConnection): void {
    conn.on('block', (index, begin, data) => {
      this.#c.onBlock(conn, index, begin, data)
      this.fill(conn)
    })
    conn.on('reject', (ref) => {
      this.#state.picker?.abort(ref.index, ref.begin, conn.id)
      this.scheduleFillAll()
    })
    conn.on('have', (index) => {
      const picker = this.#state.picker
      if (picker === undefined) return
      if (conn.kind === 'bittorrent') picker.incAvailability(index)
      // on demand every piece is skipped until a reader asks: interest follows what the peer has
      // (as in #updateInterest), or a peer that gained pieces by HAVE would never unchoke us
      if (!picker.has(index) && (picker.priority(index) > 0 || this.#init.onDemand === true)) conn.setInterested(true)
      this.#c.maybeDropSeed(conn)
      this.fill(conn)
    })
    conn.on('bitfield', () => this.countHaves(conn))
    conn.on('unchoke', () => this.fill(conn))
    conn.on('choke', () => {
      this.#state.picker?.releasePeer(conn.id)
      this.scheduleFillAll()
    })
    // a web seed has everything from the start; a peer's have-set comes with its bitfield
    if (conn.kind === 'webseed') this.fill(conn)
  }

  /** A connection closed: its pieces no longer count and its requests go to others. */
  detach(conn: PeerConnection): void {
    if (conn.kind === 'bittorrent') this.#uncount(conn)
    else this.#c.webSeeds.forget(conn.id)
    this.#state.picker?.releasePeer(conn.id)
    if (!this.#state.stopped) this.scheduleFillAll()
  }

  /** The peer's whole have-set is known (bitfield, or metadata arrived): count it and decide interest. */
  countHaves(conn: PeerConnection): void {
    const picker = this.#state.picker
    if (picker === undefined || conn.kind !== 'bittorrent') {
      this.fill(conn)
      return
    }
    const c = conn as Counted
    if (c.counted) this.#uncount(c)
    if (c.isSeed) {
      picker.addSeed()
      c.countedSeed = true
    } else {
      picker.addPeer((i) => conn.has(i))
    }
    c.counted = true
    this.#updateInterest(conn)
    this.#c.maybeDropSeed(conn)
    this.fill(conn)
  }

  /** Top up one connection's request pipeline. */
  fill(conn: PeerConnection): void {
    const picker = this.#state.picker
    if (picker === undefined || !this.#state.ready || picker.isDone || this.#state.stopped) return
    if (this.#c.backlogged?.() === true) return // PieceCompletion refills everyone once it drains
    if (conn.kind === 'bittorrent') {
      if (!conn.ready || conn.closed) return
      const rejected = conn.rejectedPieces.size > 0 ? conn.rejectedPieces : undefined
      requestBlocks(conn, picker, {
        filter: rejected !== undefined ? (i) => !rejected.has(i) : undefined,
        limiter: this.#c.limiter,
        maxOutstanding: this.#c.requestLimit?.(conn),
      })
      return
    }
    const ws = this.#c.webSeeds
    requestBlocks(conn, picker, { ...ws.pickOptions(conn.id), limiter: this.#c.limiter, onRequested: (refs) => ws.picked(conn.id, refs) })
  }

  fillAll(): void {
    for (const conn of this.#state.conns.values()) this.fill(conn)
  }

  /** Refill everyone once after a burst of releases (a choke rejects hundreds of requests). */
  scheduleFillAll(): void {
    if (this.#fillScheduled) return
    this.#fillScheduled = true
    setImmediate(() => {
      this.#fillScheduled = false
      this.fillAll()
    })
  }

  /** Every connection's interest, after priorities or our have-set changed. */
  updateInterestAll(): void {
    for (const conn of this.#state.conns.values()) this.#updateInterest(conn)
  }

  /** Snub silent peers and give up requests held past their timeout (call once a second). */
  checkTimeouts(btConns: Iterable<BitTorrentConnection>, now: number): void {
    const picker = this.#state.picker
    if (picker === undefined) return
    const snubMs = this.#init.snubTimeoutMs ?? 15_000
    const peers = [...btConns]
    for (const conn of releaseStalled(peers, picker, snubMs, now)) {
      this.#state.warn(swarmError('peerSnubbed', `peer ${conn.id} sent nothing for ${snubMs} ms; its requests moved elsewhere`, { peer: conn.id }))
    }
    const requestMs = this.#init.requestTimeoutMs ?? 10_000
    const webSeedMs = this.#init.webSeedRequestTimeoutMs ?? 120_000
    let released = false
    for (const conn of this.#state.conns.values()) {
      const timedOut = conn.timedOutRequests?.(now, conn.kind === 'webseed' ? webSeedMs : requestMs) ?? []
      if (timedOut.length === 0) continue
      released = true
      for (const ref of timedOut) {
        conn.cancel(ref)
        picker.timedOut(ref.index, ref.begin, conn.id)
        // not this piece again from this peer until it unchokes us anew — unless nobody else has
        // it: a seeder slow on a piece of 10,000 tiny files is still the only way to finish
        if (conn.kind === 'bittorrent' && this.#otherHas(conn, ref.index)) conn.rejectedPieces.add(ref.index)
      }
      if (conn.kind === 'bittorrent' && !conn.snubbed) {
        conn.snubbed = true
        this.#state.warn(
          swarmError('peerSnubbed', `peer ${conn.id} held ${timedOut.length} request(s) past the timeout; they moved elsewhere`, {
            peer: conn.id,
            reason: 'requestTimeout',
            blocks: timedOut.length,
          }),
        )
      }
    }
    if (released) this.scheduleFillAll()
  }

  #otherHas(conn: PeerConnection, index: number): boolean {
    for (const other of this.#state.conns.values()) if (other !== conn && other.has(index)) return true
    return false
  }

  #uncount(conn: Counted): void {
    const picker = this.#state.picker
    if (picker === undefined || !conn.counted) return
    if (conn.countedSeed) picker.removeSeed()
    else picker.removePeer((i) => conn.has(i))
    conn.counted = false
    conn.countedSeed = false
  }

  #updateInterest(conn: PeerConnection): void {
    const picker = this.#state.picker
    if (picker === undefined) return
    if (this.#init.onDemand === true) {
      // on demand, what we want changes per request: stay interested (and so unchoked) in anyone
      // with a piece we lack, or a request would wait for the peer's next choke round
      if (picker.isSeed) return conn.setInterested(false)
      for (let i = 0; i < picker.pieceCount; i++) if (!picker.has(i) && conn.has(i)) return conn.setInterested(true)
      return conn.setInterested(false)
    }
    if (picker.isDone) return conn.setInterested(false)
    for (let i = 0; i < picker.pieceCount; i++) {
      if (!picker.has(i) && picker.priority(i) > 0 && conn.has(i)) return conn.setInterested(true)
    }
    conn.setInterested(false)
  }
}
