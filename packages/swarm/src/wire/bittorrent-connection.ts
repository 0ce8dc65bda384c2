/**
 * A BitTorrent peer over TCP as a `PeerConnection` (BEP 3 wire via bittorrent-protocol), with
 * BEP 6 (fast: have-all/none, reject), BEP 9 (ut_metadata: fetch the info dictionary for a magnet,
 * serve it once known), BEP 10 (extension handshake; our listen port in `p`) and BEP 11 (ut_pex).
 *
 * The connection owns what is per-peer: its request pipeline (sized to its measured rate), the
 * checks on what it sends (indices, lengths, unrequested blocks), the keep-alive, and the upload
 * requests it is waiting on us for. What to request and whether to upload is the torrent's call.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import utMetadata from 'ut_metadata'
import { serveKnownMetadata } from './known-metadata.js'
import utPex from 'ut_pex'
import type { BitcdnError } from '@bitcdn/core'
import { pieceSize } from '@bitcdn/content'
import type { BlockRef, PeerConnection, PeerConnectionEvents } from '../peer-connection.js'
import { swarmError } from '../errors.js'
import { HardenedWire } from './hardened-wire.js'
import { RateMeter } from '../choker/rate-meter.js'

/** Seconds of queued requests to keep in flight: rate × this / block size. */
const REQUEST_QUEUE_SECONDS = 1
const MIN_OUTSTANDING = 4
const INITIAL_OUTSTANDING = 64
/** libtorrent's `max_out_request_queue`. */
const MAX_OUTSTANDING = 500
/** Largest request we serve (libtorrent closes above 128 KiB too). */
const MAX_REQUEST_BYTES = 128 * 1024
/** Blocks arriving after we cancelled or were choked are tolerated up to this slack. */
const UNEXPECTED_SLACK = 16
const RATE_WINDOW_MS = 250
/**
 * Requests a peer may queue with us, advertised as `reqq` in the extension handshake (BEP 10);
 * libtorrent's `max_allowed_in_request_queue` is 500 too. Beyond it requests are rejected.
 */
export const MAX_PEER_REQUESTS = 500

/** The refusal handed to a request's `respond`; one instance, since an Error per request costs a stack trace each. */
const REFUSED = new Error('request refused')

/** `2^32`: block keys are `index * 2^32 + begin`, unique and allocation-free. */
const KEY_SCALE = 0x1_0000_0000
const blockKey = (index: number, begin: number): number => index * KEY_SCALE + begin

export interface BitTorrentConnectionInit {
  socket: Socket
  /** A wire that already read the remote handshake (incoming); else one is made. */
  wire?: HardenedWire
  /** The torrent's info-hash, lowercase hex. */
  infoHash: string
  /** Our 20-byte peer id. */
  peerId: Buffer
  /** True when we dialled. */
  outgoing: boolean
  /** Our listening port, sent in the extension handshake so peers can PEX and reconnect to us. */
  listenPort: number
  /** The bencoded info dictionary, when we have it (served over ut_metadata). */
  infoBuffer?: Buffer
  /** Piece count, when metadata is known (bounds every index the peer sends). */
  pieceCount?: number
  /** Piece length and total length, to bound upload requests. */
  pieceLength?: number
  length?: number
}

/** Callbacks for what only a BitTorrent peer does (kept off the shared `PeerConnection` events). */
export interface BitTorrentConnectionHooks {
  /** The remote handshake arrived and checks out; answer with our have-set now. */
  onHandshake?: (conn: BitTorrentConnection, peerId: string) => void
  /** The extension handshake arrived (the peer's listen port is known). */
  onExtendedHandshake?: (conn: BitTorrentConnection) => void
  /** The info dictionary arrived over ut_metadata and hashes to the info-hash. */
  onMetadata?: (conn: BitTorrentConnection, infoBuffer: Buffer) => void
  /** PEX taught us a peer, `host:port`. */
  onPeer?: (addr: string) => void
  /** Recoverable trouble with this peer (it is usually closed right after). */
  onWarning?: (err: BitcdnError) => void
  /**
   * Add BEP 10 extensions (`wire.use(...)`) before the extension handshake goes out: the slot
   * for the paid-delivery protocol.
   */
  extendWire?: (wire: HardenedWire, conn: BitTorrentConnection) => void
}

interface Outstanding {
  ref: BlockRef
  /** When we asked (ms), for the request timeout. */
  at: number
}

/** A request older than this many mean block latencies is given up on (libtorrent: `request_timeout`). */
const TIMEOUT_LATENCIES = 4

/**
 * @example
 * const conn = new BitTorrentConnection({ socket, infoHash, peerId, outgoing: true, listenPort }, hooks)
 * conn.on('block', (index, begin, data) => assembler.add(index, begin, data))
 */
export class BitTorrentConnection extends EventEmitter<PeerConnectionEvents> implements PeerConnection {
  readonly id: string
  readonly kind = 'bittorrent' as const
  readonly wire: HardenedWire
  readonly socket: Socket
  readonly outgoing: boolean
  /** Remote host as seen on the socket. */
  readonly host: string
  /** Remote peer id (hex) once the handshake is in. */
  remotePeerId: string | undefined
  /** When the last block arrived (ms); snub detection reads it. */
  lastBlockAt = Date.now()
  /** When we last requested something while nothing was outstanding (ms). */
  lastRequestAt = 0
  /** Set by the torrent when the peer held requests too long: one request at a time. */
  snubbed = false
  /** True once the remote handshake checked out. */
  ready = false
  /** When the remote handshake checked out (ms; 0 before). */
  readyAt = 0
  /** When we last unchoked it, and when it last asked us for a block (ms; 0 for never). */
  unchokedAt = 0
  lastPeerRequestAt = 0
  /** Pieces this peer refused (BEP 6 reject) since it last unchoked us: not asked again. */
  readonly rejectedPieces = new Set<number>()

  readonly #hooks: BitTorrentConnectionHooks
  readonly #init: BitTorrentConnectionInit
  #pieceCount: number | undefined
  readonly #outstanding = new Map<number, Outstanding>()
  readonly #peerRequests = new Map<number, (err: Error | null, data?: Uint8Array) => void>()
  #unexpectedBudget = UNEXPECTED_SLACK
  #maxOutstanding = INITIAL_OUTSTANDING
  #downloaded = 0
  #uploaded = 0
  #closed = false
  // rate estimates over short windows, updated as blocks arrive and leave
  readonly #down = new RateMeter({ windowMs: RATE_WINDOW_MS })
  readonly #up = new RateMeter({ windowMs: RATE_WINDOW_MS })
  /** Mean time from request to block, ms (EWMA; 0 until a block arrived). */
  #latencyMs = 0
  /**
   * The rate window now open holds time with nothing requested (from the connect, or between
   * bursts): its rate says how much we asked, not what the peer can do, so it must not size the
   * pipeline — an on-demand reader's first burst after a pause went out 4 blocks at a time.
   */
  #idleInWindow = true
  #lastUploadAt = 0
  #pexTimer: NodeJS.Timeout | undefined
  /** index, begin, length triples not yet written. */
  readonly #requestQueue: number[] = []

  constructor(init: BitTorrentConnectionInit, hooks: BitTorrentConnectionHooks = {}) {
    super()
    this.#init = init
    this.#hooks = hooks
    this.socket = init.socket
    this.outgoing = init.outgoing
    this.host = init.socket.remoteAddress ?? 'unknown'
    this.id = `${this.host}:${init.socket.remotePort ?? 0}`
    this.#pieceCount = init.pieceCount
    const incomingWire = init.wire
    this.wire = incomingWire ?? new HardenedWire()
    const wire = this.wire
    wire.onProtocolError = (reason) => this.#protocolError(reason)
    wire.extendedHandshake.p = init.listenPort
    wire.extendedHandshake.reqq = MAX_PEER_REQUESTS
    wire.use(utMetadata())
    if (init.infoBuffer !== undefined) serveKnownMetadata(this.#ext().meta, init.infoBuffer)
    wire.use(utPex())
    hooks.extendWire?.(wire, this)
    init.socket.setNoDelay(true)
    if (incomingWire === undefined) wire.attach(init.socket)
    this.#attach()
    if (incomingWire !== undefined) {
      // extensions added after the remote handshake never saw it (the metadata check and the paid
      // protocol need it): replay it to every extension, ours and `extendWire`'s alike
      const exts = (wire as unknown as { _ext: Record<string, { onHandshake?: (i: string, p: string, e: unknown) => void }> })._ext
      for (const name of Object.keys(exts)) exts[name]!.onHandshake?.(init.infoHash, wire.peerId ?? '', wire.peerExtensions)
    }
  }

  /** Send our handshake (after the owner registered its listeners: hooks may fire at once). */
  start(): void {
    const wire = this.wire
    wire.handshake(this.#init.infoHash, this.#init.peerId, { dht: false, fast: true })
    wire.setKeepAlive(true)
    if (this.#init.wire !== undefined && wire.peerId !== null) this.#onHandshake(this.#init.infoHash, wire.peerId)
  }

  // ---- PeerConnection ----

  has(index: number): boolean {
    return this.wire.peerPieces.get(index)
  }

  get peerChoking(): boolean {
    return this.wire.peerChoking
  }

  get peerInterested(): boolean {
    return this.wire.peerInterested
  }

  get amChoking(): boolean {
    return this.wire.amChoking
  }

  get maxOutstanding(): number {
    if (this.snubbed) return 1
    // never queue more with a peer than its advertised `reqq` (BEP 10): it may reject or drop us
    const reqq = this.wire.peerExtendedHandshake.reqq
    return typeof reqq === 'number' && reqq >= 1 ? Math.min(this.#maxOutstanding, reqq) : this.#maxOutstanding
  }

  get outstanding(): number {
    return this.#outstanding.size
  }

  get downloaded(): number {
    return this.#downloaded
  }

  get uploaded(): number {
    return this.#uploaded
  }

  /** Payload bytes/s from this peer, recent. */
  get downloadRate(): number {
    return this.#down.rate()
  }

  /** Payload bytes/s to this peer, recent. */
  get uploadRate(): number {
    return this.#up.rate()
  }

  /** True when the peer has every piece (have-all or a full bitfield). */
  get isSeed(): boolean {
    const n = this.#pieceCount
    if (n === undefined) return false
    for (let i = 0; i < n; i++) if (!this.wire.peerPieces.get(i)) return false
    return true
  }

  /** `host:port` the peer listens on (from the extension handshake), for PEX and bans. */
  get listenAddress(): string | undefined {
    if (this.outgoing) return this.id
    const p = this.wire.peerExtendedHandshake.p
    return typeof p === 'number' && p > 0 && p < 65536 ? `${this.host}:${p}` : undefined
  }

  request(ref: BlockRef): void {
    if (this.#closed) return
    const key = blockKey(ref.index, ref.begin)
    if (this.#outstanding.has(key)) return
    if (this.#outstanding.size === 0) {
      const now = Date.now()
      if (now > this.lastBlockAt) this.#idleInWindow = true
      this.lastRequestAt = now
    }
    this.#outstanding.set(key, { ref, at: Date.now() })
    // a pipeline refill asks for dozens of blocks at once: one buffer and one write for all
    this.#requestQueue.push(ref.index, ref.begin, ref.length)
    if (this.#requestQueue.length === 3) queueMicrotask(() => this.#flushRequests())
  }

  /** Send queued requests (also before any other message, to keep wire order). */
  #flushRequests(): void {
    const q = this.#requestQueue
    if (q.length === 0) return
    if (this.#closed) {
      q.length = 0
      return
    }
    const n = q.length / 3
    const buf = Buffer.allocUnsafe(17 * n)
    for (let i = 0; i < n; i++) {
      const o = 17 * i
      buf.writeUInt32BE(13, o)
      buf[o + 4] = 6
      buf.writeUInt32BE(q[3 * i]!, o + 5)
      buf.writeUInt32BE(q[3 * i + 1]!, o + 9)
      buf.writeUInt32BE(q[3 * i + 2]!, o + 13)
    }
    q.length = 0
    this.wire._push(buf)
  }

  cancel(ref: BlockRef): void {
    const key = blockKey(ref.index, ref.begin)
    if (!this.#outstanding.delete(key)) return
    this.#unexpectedBudget++
    this.#flushRequests()
    if (!this.#closed) this.wire._message(8, [ref.index, ref.begin, ref.length], null)
  }

  /** When a block last went either way (ms; the connect time if none has): eviction keeps busy peers. */
  get lastUsefulAt(): number {
    return Math.max(this.lastBlockAt, this.#lastUploadAt)
  }

  /** Every request in flight (to release them elsewhere when snubbed). */
  outstandingRefs(): BlockRef[] {
    return [...this.#outstanding.values()].map((o) => o.ref)
  }

  /** Mean ms from our request to its block, recent (0 before the first block). */
  get meanBlockLatencyMs(): number {
    return this.#latencyMs
  }

  /**
   * Requests held longer than max(`minTimeoutMs`, 4 × the mean block latency): the peer keeps
   * them without answering (a lost or ignored request). The caller cancels and re-picks them.
   */
  timedOutRequests(now: number, minTimeoutMs: number): BlockRef[] {
    const timeout = Math.max(minTimeoutMs, TIMEOUT_LATENCIES * this.#latencyMs)
    const out: BlockRef[] = []
    // oldest first (insertion order), so the scan stops at the first young request
    for (const o of this.#outstanding.values()) {
      if (now - o.at < timeout) break
      out.push(o.ref)
    }
    return out
  }

  /** Forget in-flight requests without a cancel message (snub: the blocks may still come). */
  dropOutstanding(): void {
    this.#unexpectedBudget += this.#outstanding.size
    this.#outstanding.clear()
  }

  announceHave(index: number): void {
    this.#flushRequests()
    if (!this.#closed) this.wire.have(index)
  }

  setInterested(interested: boolean): void {
    if (this.#closed) return
    this.#flushRequests()
    if (interested) this.wire.interested()
    else this.wire.uninterested()
  }

  setChoking(choking: boolean): void {
    if (this.#closed) return
    if (choking) {
      this.wire.choke()
      // BEP 6: a choke rejects every pending request (the wire does not track them; we do)
      const pending = [...this.#peerRequests.values()]
      this.#peerRequests.clear()
      for (const respond of pending) respond(REFUSED)
    } else {
      if (this.wire.amChoking) this.unchokedAt = Date.now()
      this.wire.unchoke()
    }
  }

  /**
   * Send a requested block; false when it was cancelled or choked meanwhile (then `onWritten` is
   * not called). `onWritten` runs once the socket no longer needs `data` — flushed to the kernel or
   * the socket died — which releases the upload read-ahead and lets a reused buffer be refilled.
   */
  sendBlock(ref: BlockRef, data: Buffer, onWritten?: () => void): boolean {
    const key = blockKey(ref.index, ref.begin)
    const respond = this.#peerRequests.get(key)
    if (respond === undefined || this.#closed) return false
    this.#peerRequests.delete(key)
    this.wire.pushWithCallback(data, onWritten, () => respond(null, data))
    this.#uploaded += data.length
    this.#up.add(data.length)
    if (data.length > 0) this.#lastUploadAt = Date.now()
    return true
  }

  /** True while the peer still wants this block (not cancelled, not choked). */
  isRequested(ref: BlockRef): boolean {
    return this.#peerRequests.has(blockKey(ref.index, ref.begin))
  }

  /** Refuse a request (BEP 6 reject when the peer speaks fast, else silence). */
  rejectRequest(ref: BlockRef): void {
    const key = blockKey(ref.index, ref.begin)
    const respond = this.#peerRequests.get(key)
    if (respond === undefined) return
    this.#peerRequests.delete(key)
    respond(REFUSED)
  }

  destroy(err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#pexTimer)
    this.#outstanding.clear()
    this.#peerRequests.clear()
    this.wire.destroy()
    this.socket.destroy()
    this.emit('close', err)
    this.removeAllListeners()
  }

  get closed(): boolean {
    return this.#closed
  }

  // ---- BitTorrent only ----

  /** Send our have-set right after the handshake (BEP 3: bitfield must come first). */
  sendHaves(haves: { seed: boolean; bitfield: Uint8Array | undefined }): void {
    if (this.#closed) return
    const wire = this.wire
    if (haves.seed && wire.hasFast) wire.haveAll()
    else if (haves.bitfield !== undefined && haves.bitfield.some((b) => b !== 0)) wire.bitfield(haves.bitfield)
    else if (wire.hasFast) wire.haveNone()
  }

  /** Metadata became known (magnet): bound indices from now on and serve it to others. */
  setMetadata(infoBuffer: Buffer, geometry: { pieceCount: number; pieceLength: number; length: number }): void {
    this.#pieceCount = geometry.pieceCount
    this.#init.pieceLength = geometry.pieceLength
    this.#init.length = geometry.length
    serveKnownMetadata(this.#ext().meta, infoBuffer)
    this.#checkBitfield()
  }

  /** Ask this peer for the info dictionary (BEP 9). */
  fetchMetadata(): void {
    ;(this.#ext().meta as unknown as { fetch(): void }).fetch()
  }

  /** Advertise a peer to this one over PEX. */
  pexAdd(addr: string): void {
    ;(this.#ext().pex as unknown as { addPeer(a: string): void }).addPeer(addr)
  }

  pexDrop(addr: string): void {
    ;(this.#ext().pex as unknown as { dropPeer(a: string): void }).dropPeer(addr)
  }

  // ---- internals ----

  #ext() {
    const wire = this.wire as unknown as { ut_metadata: EventEmitter & { onHandshake?: Function }; ut_pex: EventEmitter & { onHandshake?: Function } }
    return { meta: wire.ut_metadata, pex: wire.ut_pex } as {
      meta: EventEmitter & { onHandshake?: (i: string, p: string, e: unknown) => void }
      pex: EventEmitter & { onHandshake?: (i: string, p: string, e: unknown) => void }
    }
  }

  #attach(): void {
    const wire = this.wire
    const socket = this.socket
    socket.on('error', (err) => this.destroy(err))
    socket.on('close', () => this.destroy())
    socket.on('end', () => this.destroy())
    wire.on('error', (err: Error) => this.destroy(err))
    wire.on('close', () => this.destroy())
    wire.on('finish', () => this.destroy())
    wire.on('handshake', (infoHash: string, peerId: string) => this.#onHandshake(infoHash, peerId))
    wire.on('extended', (ext: string) => {
      if (ext === 'handshake') {
        this.#hooks.onExtendedHandshake?.(this)
        const pex = wire.peerExtendedMapping.ut_pex
        if (pex !== undefined) {
          // first PEX soon (libtorrent does too), then the library's 65 s cadence
          this.#pexTimer = setTimeout(() => {
            if (this.#closed) return
            const ext = this.#ext().pex as unknown as { _sendMessage(): void; start(): void }
            ext._sendMessage()
            ext.start()
          }, 300)
          this.#pexTimer.unref()
        }
      }
    })
    const { meta, pex } = this.#ext()
    meta.on('metadata', () => {
      const info = (meta as unknown as { metadata: Uint8Array }).metadata
      this.#hooks.onMetadata?.(this, Buffer.from(info.buffer, info.byteOffset, info.byteLength))
    })
    meta.on('warning', () => {}) // "peer has no metadata" is normal
    pex.on('peer', (addr: string) => this.#hooks.onPeer?.(addr))
    pex.on('warning', () => {})
    wire.on('have', (index: number) => {
      if (this.#pieceCount !== undefined && index >= this.#pieceCount) {
        return this.#protocolError(`have for piece ${index} of ${this.#pieceCount}`)
      }
      this.emit('have', index)
    })
    wire.on('bitfield', () => {
      if (this.#checkBitfield()) this.emit('bitfield')
    })
    wire.on('have-all', () => this.emit('bitfield'))
    wire.on('have-none', () => this.emit('bitfield'))
    wire.on('choke', () => {
      if (!wire.hasFast) {
        // without BEP 6 a choke silently drops every request; blocks in flight may still land
        const refs = this.outstandingRefs()
        this.dropOutstanding()
        for (const ref of refs) this.emit('reject', ref)
      }
      this.emit('choke')
    })
    wire.on('unchoke', () => {
      this.rejectedPieces.clear()
      this.emit('unchoke')
    })
    wire.on('interested', () => this.emit('interested'))
    wire.on('uninterested', () => this.emit('uninterested'))
    wire.on('piece', (index: number, begin: number, data: Uint8Array) => this.#onPiece(index, begin, data))
    wire.on('reject', (index: number, begin: number, length: number) => {
      const key = blockKey(index, begin)
      const o = this.#outstanding.get(key)
      if (o === undefined) return
      this.#outstanding.delete(key)
      // asking again at once would loop request/reject as fast as the socket allows
      this.rejectedPieces.add(index)
      this.emit('reject', o.ref)
    })
    wire.on('request', (index: number, begin: number, length: number, respond: (err: Error | null, data?: Uint8Array) => void) =>
      this.#onRequest(index, begin, length, respond),
    )
    wire.on('cancel', (index: number, begin: number) => this.#peerRequests.delete(blockKey(index, begin)))
  }

  #onHandshake(infoHash: string, peerId: string): void {
    if (this.ready || this.#closed) return
    if (infoHash !== this.#init.infoHash) {
      return this.#fail('peerConnect', `peer answered for info-hash ${infoHash}`)
    }
    if (peerId === this.#init.peerId.toString('hex')) {
      return this.destroy() // we dialled ourselves
    }
    this.remotePeerId = peerId
    this.ready = true
    this.readyAt = Date.now()
    this.#hooks.onHandshake?.(this, peerId)
  }

  #onPiece(index: number, begin: number, data: Uint8Array): void {
    const key = blockKey(index, begin)
    const o = this.#outstanding.get(key)
    if (o === undefined || o.ref.length !== data.length) {
      if (o !== undefined) return this.#protocolError(`block ${index}:${begin} has ${data.length} bytes, asked ${o.ref.length}`)
      if (this.#unexpectedBudget-- > 0) return // cancelled or choked while it was on its way
      return this.#protocolError(`unrequested block ${index}:${begin}`)
    }
    this.#outstanding.delete(key)
    const now = Date.now()
    const latency = now - o.at
    this.#latencyMs = this.#latencyMs === 0 ? latency : this.#latencyMs * 0.9 + latency * 0.1
    this.lastBlockAt = now
    this.lastRequestAt = now
    this.#downloaded += data.length
    this.#sample(now, data.length)
    if (this.snubbed) this.snubbed = false
    // socket chunks are Buffers, so their views usually are too: no wrapper per block
    this.emit('block', index, begin, Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  }

  #onRequest(index: number, begin: number, length: number, respond: (err: Error | null, data?: Uint8Array) => void): void {
    const n = this.#pieceCount
    const pieceLength = this.#init.pieceLength
    const total = this.#init.length
    if (n === undefined || pieceLength === undefined || total === undefined) return respond(REFUSED)
    // fields arrive unsigned (hardened-wire); each is bounded before any arithmetic uses it
    if (index >= n) return this.#protocolError(`request for piece ${index} of ${n}`)
    if (length === 0 || length > MAX_REQUEST_BYTES) return this.#protocolError(`request of ${length} bytes`)
    const size = pieceSize({ pieceCount: n, pieceLength, length: total }, index)
    if (begin > size - length) return this.#protocolError(`request ${index}:${begin}+${length} outside the piece of ${size} bytes`)
    if (this.#peerRequests.size >= MAX_PEER_REQUESTS) {
      // beyond the `reqq` we advertised: refuse this one (BEP 6), keep the peer; without the fast
      // extension a refusal cannot be said, and a peer that ignores reqq that far is closed
      if (this.wire.hasFast) return respond(REFUSED)
      return this.#protocolError(`more than ${MAX_PEER_REQUESTS} requests queued`)
    }
    this.#peerRequests.set(blockKey(index, begin), respond)
    this.lastPeerRequestAt = Date.now()
    this.emit('request', { index, begin, length })
  }

  #checkBitfield(): boolean {
    const n = this.#pieceCount
    if (n === undefined) return true
    const bits = this.wire.peerPieces.buffer
    if (bits.length === 0) return true // have-all / have-none
    if (bits.length !== Math.ceil(n / 8)) {
      this.#protocolError(`bitfield of ${bits.length} bytes for ${n} pieces`)
      return false
    }
    return true
  }

  #sample(now: number, n: number): void {
    if (!this.#down.add(n, now)) return
    const idle = this.#idleInWindow
    this.#idleInWindow = false
    if (idle) return
    const want = Math.ceil((this.#down.rate(now) * REQUEST_QUEUE_SECONDS) / 16384)
    this.#maxOutstanding = Math.max(MIN_OUTSTANDING, Math.min(MAX_OUTSTANDING, want))
  }

  #protocolError(reason: string): void {
    this.#fail('peerProtocol', `peer ${this.id} broke the protocol: ${reason}`)
  }

  #fail(code: 'peerProtocol' | 'peerConnect', message: string): void {
    if (this.#closed) return
    const err = swarmError(code, message, { peer: this.id })
    this.#hooks.onWarning?.(err)
    this.destroy(err)
  }
}
