/**
 * One torrent in a swarm client: metadata (given, or fetched over ut_metadata for a magnet), the
 * piece store, the picker and every connection (BitTorrent peers and web seeds alike). It turns
 * blocks into SHA-1-verified pieces, writes them, journals them for resume, answers uploads under
 * the choker and the upload limit, and bans peers whose bytes fail verification.
 *
 * Policies live elsewhere and are only called here: what to request (`request-blocks.ts` over the
 * picker), whom to upload to (`ChokePolicy`), which peers to dial (discovery).
 */
import { EventEmitter } from 'node:events'
import { connect, type Socket } from 'node:net'
import { PassThrough, type Readable } from 'node:stream'
import { hasCode, silentLogger, type BitcdnError, type Logger } from '@bitcdn/core'
import {
  commitPieces,
  metainfoFromInfo,
  verifyPiece,
  type Metainfo,
  type PieceStore,
  type ResumeJournal,
  type TorrentRef,
} from '@bitcdn/content'
import type { BlockRef, PeerConnection } from '../peer-connection.js'
import { PiecePicker, PRIORITY_NORMAL } from '../picker/piece-picker.js'
import type { ChokePolicy } from '../choker/choker.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import { requestBlocks } from '../request-blocks.js'
import { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import type { HardenedWire } from '../wire/hardened-wire.js'
import { swarmError } from '../errors.js'
import { PieceAssembler, corruptSources, type AssemblingPiece } from './piece-assembler.js'
import { BanList, splitAddress } from './ban-list.js'
import { createFileReadStream } from './read-stream.js'
import { ReadCache } from './read-cache.js'
import { openStorage } from './open-storage.js'
import { UploadSlots } from './upload-slots.js'
import { releaseStalled } from './snub.js'
import type { ReadStreamOptions, Torrent, TorrentEvents, TorrentStats } from './types.js'

const TICK_MS = 1000
const CHOKE_INTERVAL_MS = 10_000
/** fdatasync of everything written is costly at 100+ MiB/s; a crash loses at most this much work. */
const COMMIT_INTERVAL_MS = 10_000
const HAVE_BATCH_MS = 100
const CONNECT_TIMEOUT_MS = 10_000
/** A web seed may take any piece once BitTorrent peers delivered nothing for this long. */
const WEBSEED_STALL_MS = 3000
/** Failed pieces kept to compare with their good version, at most. */
const MAX_FAILED_KEPT = 16

export interface TorrentSessionInit {
  /** The torrent (a magnet/ref starts without metadata). */
  torrent: Metainfo | TorrentRef
  /** Directory for a file store (and the resume journal). */
  dir?: string
  /** A store to use instead (a factory is called once the metadata is known). */
  store?: PieceStore | ((metainfo: Metainfo) => PieceStore)
  /** Peers to dial at start, `host:port`. */
  peers?: string[]
  /** Web seed URLs on top of the torrent's `url-list`. */
  webSeeds?: string[]
  /** Trackers on top of the torrent's. */
  announce?: string[]
  /** Trust and keep a resume journal in `dir`. @default true */
  resume?: boolean
  /** Connections for this torrent. @default 50 */
  maxConnections?: number
  /** Regular upload slots. @default 8 */
  uploadSlots?: number
  /** Requests held this long without a block snub the peer, in ms. @default 15000 */
  snubTimeoutMs?: number
  /** Use the DHT for discovery. @default false */
  dht?: boolean
}

/** Collaborators shared across a client's torrents. */
export interface TorrentSessionComponents {
  peerId: Buffer
  /** Our listening port (0 before the client listens). */
  listenPort: () => number
  uploadLimiter: RateLimiter
  downloadLimiter: RateLimiter
  bans: BanList
  /** Client-wide connection budget. */
  acquireConnection: () => boolean
  releaseConnection: () => void
  logger?: Logger
  chokePolicy?: ChokePolicy
  /** Web seed factory (D2's `createWebSeedConnection`). */
  createWebSeed?: (url: string, metainfo: Metainfo, onWarning: (err: BitcdnError) => void) => PeerConnection
  /** Add wire extensions to each new BitTorrent connection (paid delivery). */
  extendWire?: (wire: HardenedWire, conn: BitTorrentConnection, infoHash: string) => void
  /** Veto upload requests (paid delivery); false rejects. */
  uploadGate?: (conn: BitTorrentConnection, ref: BlockRef, infoHash: string) => boolean
  /** Discovery factory (D2's `createDiscovery`). */
  createDiscovery?: (init: { infoHash: string; announce: string[]; port: number; dht: boolean; peers: string[]; peerId: string }) => DiscoveryLike
}

/** The part of D2's discovery the session uses. */
export interface DiscoveryLike extends EventEmitter {
  start(): Promise<void>
  stop(): Promise<void>
  update(stats: { uploaded: number; downloaded: number; left: number }): void
  complete?(): void
  addPeers?(addrs: Iterable<string>): void
}

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * @example
 * const t = new TorrentSession({ torrent: metainfo, dir: '/tmp/dl' }, components)
 * await t.start()
 * await t.whenDone()
 */
export class TorrentSession extends EventEmitter<TorrentEvents> implements Torrent {
  readonly infoHash: string
  #metainfo: Metainfo | undefined
  #store: PieceStore | undefined
  #ownsStore = false
  #journal: ResumeJournal | undefined
  #picker: PiecePicker | undefined
  #readCache: ReadCache | undefined
  #assembler: PieceAssembler | undefined
  readonly #ref: TorrentRef | Metainfo
  readonly #init: TorrentSessionInit
  readonly #c: TorrentSessionComponents
  readonly #log: Logger
  readonly #conns = new Map<string, PeerConnection>()
  readonly #dialing = new Set<string>()
  readonly #candidates = new Set<string>()
  readonly #webSeedUrls = new Set<string>()
  readonly #failed = new Map<number, AssemblingPiece>()
  readonly #pendingHaves: number[] = []
  #haveTimer: NodeJS.Timeout | undefined
  #uncommitted: number[] = []
  #committing: Promise<void> = Promise.resolve()
  #tick: NodeJS.Timeout | undefined
  #lastChoke = 0
  #lastCommit = 0
  #fillScheduled = false
  readonly #uploads: UploadSlots
  #discovery: DiscoveryLike | undefined
  #started = false
  #stopped = false
  #ready = false
  #doneEmitted = false
  #lastBtBlockAt = Date.now()
  readonly #metadataWaiters: { resolve: (m: Metainfo) => void; reject: (e: Error) => void }[] = []
  readonly #pieceWaiters = new Map<number, Waiter[]>()
  readonly #doneWaiters: Waiter[] = []
  readonly #streamPriorities = new Map<number, Map<number, number>>()
  // stats
  #downloadedPeers = 0
  #downloadedWeb = 0
  #uploaded = 0
  #hashFailures = 0
  #bannedPeers = 0
  #rateSample = { at: Date.now(), down: 0, up: 0 }
  #downloadRate = 0
  #uploadRate = 0

  constructor(init: TorrentSessionInit, components: TorrentSessionComponents) {
    super()
    this.#init = init
    this.#c = components
    this.#ref = init.torrent
    this.infoHash = init.torrent.infoHash.toLowerCase()
    this.#log = (components.logger ?? silentLogger).child({ infoHash: this.infoHash })
    if ('pieceHashes' in init.torrent) this.#metainfo = init.torrent
    this.#uploads = new UploadSlots({
      slots: init.uploadSlots,
      policy: components.chokePolicy,
      limiter: components.uploadLimiter,
      has: (i) => this.#picker?.has(i) ?? false,
      read: (i, begin, length) => this.#readCache!.read(i, begin, length),
      onUploaded: (n) => (this.#uploaded += n),
      onReadError: (err) => this.#fatal(err),
      gate: components.uploadGate === undefined ? undefined : (conn, ref) => components.uploadGate!(conn, ref, this.infoHash),
    })
  }

  // ---- public ----

  get metainfo(): Metainfo | undefined {
    return this.#metainfo
  }

  get store(): PieceStore | undefined {
    return this.#store
  }

  get done(): boolean {
    return this.#picker?.isDone ?? false
  }

  /** Open the store and resume state, then start finding peers. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    if (this.#metainfo !== undefined) await this.#setupStorage(this.#metainfo)
    for (const addr of this.#init.peers ?? []) this.addPeer(addr)
    if ('peers' in this.#ref && !('pieceHashes' in this.#ref)) for (const addr of this.#ref.peers) this.addPeer(addr)
    const urls = [...(this.#metainfo?.urlList ?? this.#ref.urlList ?? []), ...(this.#init.webSeeds ?? [])]
    for (const url of urls) this.addWebSeed(url)
    this.#startDiscovery()
    this.#tick = setInterval(() => this.#onTick(), TICK_MS)
    this.#tick.unref()
  }

  /** Close every connection, commit progress, release the store. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#tick)
    clearTimeout(this.#haveTimer)
    const stopped = swarmError('stopped', `torrent ${this.infoHash} stopped`)
    for (const w of this.#metadataWaiters.splice(0)) w.reject(stopped)
    for (const ws of this.#pieceWaiters.values()) for (const w of ws) w.reject(stopped)
    this.#pieceWaiters.clear()
    for (const w of this.#doneWaiters.splice(0)) w.reject(stopped)
    for (const conn of [...this.#conns.values()]) conn.destroy()
    this.#conns.clear()
    await this.#discovery?.stop().catch(() => {})
    await this.#commit().catch(() => {})
    await this.#committing.catch(() => {})
    await this.#journal?.close().catch(() => {})
    if (this.#ownsStore) await this.#store?.close().catch(() => {})
    this.#assembler?.clear()
    this.#readCache?.clear()
    this.#failed.clear()
  }

  ready(): Promise<Metainfo> {
    if (this.#metainfo !== undefined && this.#ready) return Promise.resolve(this.#metainfo)
    if (this.#stopped) return Promise.reject(swarmError('stopped', `torrent ${this.infoHash} stopped`))
    return new Promise((resolve, reject) => this.#metadataWaiters.push({ resolve, reject }))
  }

  whenDone(): Promise<void> {
    if (this.#ready && this.done) return Promise.resolve()
    if (this.#stopped) return Promise.reject(swarmError('stopped', `torrent ${this.infoHash} stopped`))
    return new Promise((resolve, reject) => this.#doneWaiters.push({ resolve, reject }))
  }

  stats(): TorrentStats {
    const picker = this.#picker
    const pieceCount = this.#metainfo?.pieceCount ?? 0
    const verified = picker?.haveCount ?? 0
    let peers = 0
    let webSeeds = 0
    for (const c of this.#conns.values()) {
      if (c.kind === 'webseed') webSeeds++
      else if ((c as BitTorrentConnection).ready) peers++
    }
    return {
      infoHash: this.infoHash,
      downloaded: this.#downloadedPeers + this.#downloadedWeb,
      downloadedFromPeers: this.#downloadedPeers,
      downloadedFromWebSeeds: this.#downloadedWeb,
      uploaded: this.#uploaded,
      downloadRate: this.#downloadRate,
      uploadRate: this.#uploadRate,
      peers,
      webSeeds,
      progress: pieceCount === 0 ? 0 : verified / pieceCount,
      verifiedPieces: verified,
      pieceCount,
      hashFailures: this.#hashFailures,
      bannedPeers: this.#bannedPeers,
      done: this.#ready && this.done,
    }
  }

  createReadStream(file: number | string, opts: ReadStreamOptions = {}): Readable {
    const m = this.#metainfo
    if (m === undefined) {
      // wait for metadata, then hand over to the real stream
      const out = new PassThrough()
      this.ready().then(
        () => {
          const inner = this.createReadStream(file, opts)
          inner.on('error', (err) => out.destroy(err))
          inner.pipe(out)
        },
        (err: Error) => out.destroy(err),
      )
      return out
    }
    return createFileReadStream(
      {
        metainfo: m,
        waitForPiece: (i) => this.#waitForPiece(i),
        read: (i, off, len) => this.#store!.get(i, off, len),
        setStreamPriorities: (id, prios) => this.#setStreamPriorities(id, prios),
        clearStreamPriorities: (id) => this.#setStreamPriorities(id, undefined),
      },
      file,
      opts,
    )
  }

  addPeer(addr: string): void {
    if (this.#stopped) return
    const a = splitAddress(addr)
    if (a === undefined) return
    const key = `${a.host}:${a.port}`
    if (this.#c.bans.isBanned({ host: a.host, port: a.port })) return
    if (a.port === this.#c.listenPort() && isLocal(a.host)) return // ourselves
    if (this.#conns.has(key) || this.#dialing.has(key) || this.#isConnectedTo(key)) return
    this.#candidates.add(key)
    this.#dialMore()
  }

  addWebSeed(url: string): void {
    if (this.#stopped || this.#webSeedUrls.has(url)) return
    this.#webSeedUrls.add(url)
    if (this.#metainfo !== undefined && this.#ready) this.#openWebSeed(url)
  }

  peerAddresses(): string[] {
    const out: string[] = []
    for (const c of this.#conns.values()) {
      if (c instanceof BitTorrentConnection && c.ready) out.push(c.listenAddress ?? c.id)
    }
    return out
  }

  /** Called by the client's listener for an incoming handshake with our info-hash. */
  acceptIncoming(socket: Socket, wire: HardenedWire): void {
    const host = socket.remoteAddress ?? ''
    if (
      this.#stopped ||
      this.#conns.size >= (this.#init.maxConnections ?? 50) ||
      this.#c.bans.isBanned({ host, peerId: wire.peerId ?? undefined }) ||
      !this.#c.acquireConnection()
    ) {
      socket.destroy()
      return
    }
    this.#addConnection(socket, wire, false)
  }

  // ---- setup ----

  async #setupStorage(m: Metainfo): Promise<void> {
    const { store, ownsStore, journal, have } = await openStorage(m, this.#init, (w) => this.emit('warning', w))
    this.#store = store
    this.#ownsStore = ownsStore
    this.#journal = journal
    this.#readCache = new ReadCache(store, (i) => (i === m.pieceCount - 1 ? m.length - i * m.pieceLength : m.pieceLength))
    const picker = new PiecePicker({ pieceCount: m.pieceCount, pieceLength: m.pieceLength, length: m.length })
    this.#assembler = new PieceAssembler(picker.blockSize, m.pieceLength)
    for (const i of have) picker.setHave(i)
    this.#picker = picker
    this.#metainfo = m
    this.#ready = true
    for (const conn of this.#conns.values()) this.#onMetadataForConn(conn, m)
    this.emit('metadata', m)
    for (const w of this.#metadataWaiters.splice(0)) w.resolve(m)
    for (const url of this.#webSeedUrls) this.#openWebSeed(url)
    for (const url of m.urlList) this.addWebSeed(url)
    this.#checkDone()
    this.#fillAll()
  }

  #startDiscovery(): void {
    const create = this.#c.createDiscovery
    const announce = [...new Set([...(this.#metainfo?.announce ?? this.#ref.announce ?? []), ...(this.#init.announce ?? [])])]
    if (create === undefined || (announce.length === 0 && !this.#init.dht)) return
    const port = this.#c.listenPort()
    if (port === 0) return
    try {
      const d = create({ infoHash: this.infoHash, announce, port, dht: this.#init.dht ?? false, peers: [], peerId: this.#c.peerId.toString('hex') })
      d.on('peer', (addr: string) => this.addPeer(addr))
      d.on('warning', (err: BitcdnError) => this.emit('warning', err))
      this.#discovery = d
      d.update({ uploaded: 0, downloaded: 0, left: this.#left() })
      d.start().catch((err: BitcdnError) => this.emit('warning', err))
    } catch (err) {
      this.emit('warning', err as BitcdnError)
    }
  }

  #left(): number {
    const m = this.#metainfo
    const p = this.#picker
    if (m === undefined || p === undefined) return 0
    return Math.max(0, m.length - p.haveCount * m.pieceLength)
  }

  // ---- connections ----

  #isConnectedTo(addr: string): boolean {
    for (const c of this.#conns.values()) if (c instanceof BitTorrentConnection && c.listenAddress === addr) return true
    return false
  }

  #dialMore(): void {
    const max = this.#init.maxConnections ?? 50
    for (const addr of this.#candidates) {
      if (this.#conns.size + this.#dialing.size >= max) return
      this.#candidates.delete(addr)
      if (this.#conns.has(addr) || this.#dialing.has(addr) || this.#isConnectedTo(addr)) continue
      if (!this.#c.acquireConnection()) {
        this.#candidates.add(addr)
        return
      }
      this.#dial(addr)
    }
  }

  #dial(addr: string): void {
    const a = splitAddress(addr)!
    this.#dialing.add(addr)
    const socket = connect({ host: a.host, port: a.port })
    socket.setTimeout(CONNECT_TIMEOUT_MS)
    const fail = (err: Error) => {
      this.#dialing.delete(addr)
      this.#c.releaseConnection()
      socket.destroy()
      if (!this.#stopped) this.emit('warning', swarmError('peerConnect', `could not connect to ${addr}: ${err.message}`, { peer: addr }, err))
    }
    socket.once('error', fail)
    socket.once('timeout', () => fail(new Error('timed out')))
    socket.once('connect', () => {
      socket.off('error', fail)
      socket.removeAllListeners('timeout')
      socket.setTimeout(0)
      this.#dialing.delete(addr)
      if (this.#stopped) {
        this.#c.releaseConnection()
        socket.destroy()
        return
      }
      this.#addConnection(socket, undefined, true)
    })
  }

  #addConnection(socket: Socket, wire: HardenedWire | undefined, outgoing: boolean): void {
    const m = this.#metainfo
    const ready = this.#ready && m !== undefined
    const conn = new BitTorrentConnection(
      {
        socket,
        wire,
        infoHash: this.infoHash,
        peerId: this.#c.peerId,
        outgoing,
        listenPort: this.#c.listenPort(),
        infoBuffer: ready ? m.infoBuffer : undefined,
        pieceCount: ready ? m.pieceCount : undefined,
        pieceLength: ready ? m.pieceLength : undefined,
        length: ready ? m.length : undefined,
      },
      {
        onHandshake: (c, peerId) => this.#onHandshake(c, peerId),
        onExtendedHandshake: (c) => this.#onExtendedHandshake(c),
        onMetadata: (_c, info) => this.#onMetadata(info),
        onPeer: (addr) => this.addPeer(addr),
        onWarning: (err) => this.emit('warning', err),
        extendWire: this.#c.extendWire === undefined ? undefined : (w, c) => this.#c.extendWire!(w, c, this.infoHash),
      },
    )
    if (this.#conns.has(conn.id)) {
      this.#c.releaseConnection()
      socket.destroy()
      return
    }
    this.#conns.set(conn.id, conn)
    this.#wireEvents(conn)
    conn.once('close', () => {
      this.#c.releaseConnection()
      this.#onClose(conn)
    })
    conn.start()
  }

  #onHandshake(conn: BitTorrentConnection, peerId: string): void {
    if (this.#c.bans.isBanned({ host: conn.host, peerId })) return conn.destroy()
    for (const other of this.#conns.values()) {
      if (other !== conn && other instanceof BitTorrentConnection && other.remotePeerId === peerId) return conn.destroy()
    }
    const picker = this.#picker
    if (picker !== undefined && this.#ready) {
      conn.sendHaves({ seed: picker.isSeed, bitfield: picker.isSeed ? undefined : this.#bitfield() })
    } else {
      conn.sendHaves({ seed: false, bitfield: undefined })
      conn.fetchMetadata()
    }
    this.emit('wire', conn.id)
  }

  #onExtendedHandshake(conn: BitTorrentConnection): void {
    const addr = conn.listenAddress
    if (addr === undefined) return
    const a = splitAddress(addr)
    if (a !== undefined && this.#c.bans.isBanned({ host: a.host, port: a.port })) return conn.destroy()
    // PEX: tell this peer about the others and the others about it
    for (const other of this.#conns.values()) {
      if (other === conn || !(other instanceof BitTorrentConnection) || !other.ready) continue
      const otherAddr = other.listenAddress
      if (otherAddr !== undefined) conn.pexAdd(otherAddr)
      other.pexAdd(addr)
    }
    if (!this.#ready) conn.fetchMetadata()
  }

  #onMetadata(infoBuffer: Buffer): void {
    if (this.#metainfo !== undefined || this.#stopped) return
    let m: Metainfo
    try {
      m = metainfoFromInfo(infoBuffer, this.#ref as TorrentRef)
    } catch (err) {
      this.emit('warning', err as BitcdnError)
      return
    }
    if (m.infoHash !== this.infoHash) return
    this.#metainfo = m
    this.#setupStorage(m).catch((err: unknown) => this.#fatal(err))
  }

  #onMetadataForConn(conn: PeerConnection, m: Metainfo): void {
    if (conn instanceof BitTorrentConnection) {
      conn.setMetadata(m.infoBuffer, { pieceCount: m.pieceCount, pieceLength: m.pieceLength, length: m.length })
      if (conn.closed) return
      if (conn.ready && this.#picker!.haveCount > 0) {
        for (let i = 0; i < m.pieceCount; i++) if (this.#picker!.has(i)) conn.announceHave(i)
      }
    }
    this.#onBitfield(conn)
  }

  #openWebSeed(url: string): void {
    const create = this.#c.createWebSeed
    const m = this.#metainfo
    if (create === undefined || m === undefined || this.#conns.has(url) || this.done) return
    let conn: PeerConnection
    try {
      conn = create(url, m, (err) => this.emit('warning', err))
    } catch (err) {
      this.emit('warning', err as BitcdnError)
      return
    }
    this.#conns.set(conn.id, conn)
    this.#wireEvents(conn)
    conn.once('close', () => this.#onClose(conn))
    this.#fill(conn)
  }

  #wireEvents(conn: PeerConnection): void {
    conn.on('block', (index, begin, data) => this.#onBlock(conn, index, begin, data))
    conn.on('reject', (ref) => {
      this.#picker?.abort(ref.index, ref.begin, conn.id)
      this.#scheduleFillAll()
    })
    conn.on('have', (index) => {
      const picker = this.#picker
      if (picker === undefined) return
      if (conn.kind === 'bittorrent') picker.incAvailability(index)
      if (!picker.has(index) && picker.priority(index) > 0) conn.setInterested(true)
      this.#maybeDropSeed(conn)
      this.#fill(conn)
    })
    conn.on('bitfield', () => this.#onBitfield(conn))
    conn.on('unchoke', () => this.#fill(conn))
    conn.on('choke', () => {
      this.#picker?.releasePeer(conn.id)
      this.#scheduleFillAll()
    })
    if (!(conn instanceof BitTorrentConnection)) return
    conn.on('interested', () => this.#uploads.quickUnchoke(conn, this.#btConns()))
    conn.on('uninterested', () => {
      if (conn.amChoking) return
      conn.setChoking(true)
      for (const c of this.#btConns()) this.#uploads.quickUnchoke(c, this.#btConns())
    })
    conn.on('request', (ref) => this.#uploads.serve(conn, ref))
  }

  /** The peer's whole have-set is known: count it and decide interest. */
  #onBitfield(conn: PeerConnection): void {
    const picker = this.#picker
    if (picker === undefined || conn.kind !== 'bittorrent') return
    const c = conn as BitTorrentConnection & { countedSeed?: boolean; counted?: boolean }
    if (c.counted) this.#uncount(c)
    if (c.isSeed) {
      picker.addSeed()
      c.countedSeed = true
    } else {
      picker.addPeer((i) => conn.has(i))
    }
    c.counted = true
    this.#updateInterest(conn)
    this.#maybeDropSeed(conn)
    this.#fill(conn)
  }

  #uncount(conn: BitTorrentConnection & { countedSeed?: boolean; counted?: boolean }): void {
    const picker = this.#picker
    if (picker === undefined || !conn.counted) return
    if (conn.countedSeed) picker.removeSeed()
    else picker.removePeer((i) => conn.has(i))
    conn.counted = false
    conn.countedSeed = false
  }

  #maybeDropSeed(conn: PeerConnection): void {
    // two seeds have nothing to say to each other
    if (conn instanceof BitTorrentConnection && this.#picker?.isSeed && conn.isSeed) conn.destroy()
  }

  #updateInterest(conn: PeerConnection): void {
    const picker = this.#picker
    if (picker === undefined) return
    if (picker.isDone) return conn.setInterested(false)
    const m = this.#metainfo!
    for (let i = 0; i < m.pieceCount; i++) {
      if (!picker.has(i) && picker.priority(i) > 0 && conn.has(i)) return conn.setInterested(true)
    }
    conn.setInterested(false)
  }

  #onClose(conn: PeerConnection): void {
    if (this.#conns.get(conn.id) === conn) this.#conns.delete(conn.id)
    if (conn instanceof BitTorrentConnection) {
      this.#uncount(conn)
      const addr = conn.listenAddress
      if (addr !== undefined) for (const other of this.#conns.values()) if (other instanceof BitTorrentConnection) other.pexDrop(addr)
    }
    this.#uploads.remove(conn.id)
    this.#picker?.releasePeer(conn.id)
    if (this.#stopped) return
    this.#scheduleFillAll()
    this.#dialMore()
  }

  // ---- downloading ----

  #webSeedFilter = (index: number): boolean => {
    const picker = this.#picker!
    return (
      picker.availability(index) === 0 ||
      picker.priority(index) >= 6 ||
      Date.now() - this.#lastBtBlockAt > WEBSEED_STALL_MS
    )
  }

  #fill(conn: PeerConnection): void {
    const picker = this.#picker
    if (picker === undefined || !this.#ready || picker.isDone || this.#stopped) return
    if (conn instanceof BitTorrentConnection && (!conn.ready || conn.closed)) return
    const rejected = conn instanceof BitTorrentConnection && conn.rejectedPieces.size > 0 ? conn.rejectedPieces : undefined
    requestBlocks(conn, picker, {
      filter: conn.kind === 'webseed' ? this.#webSeedFilter : rejected !== undefined ? (i) => !rejected.has(i) : undefined,
      limiter: this.#c.downloadLimiter,
    })
  }

  #fillAll(): void {
    for (const conn of this.#conns.values()) this.#fill(conn)
  }

  /** Refill everyone once after a burst of releases (a choke rejects hundreds of requests). */
  #scheduleFillAll(): void {
    if (this.#fillScheduled) return
    this.#fillScheduled = true
    setImmediate(() => {
      this.#fillScheduled = false
      this.#fillAll()
    })
  }

  #onBlock(conn: PeerConnection, index: number, begin: number, data: Buffer): void {
    const picker = this.#picker
    const assembler = this.#assembler
    if (picker === undefined || assembler === undefined) return
    if (conn.kind === 'webseed') this.#downloadedWeb += data.length
    else {
      this.#downloadedPeers += data.length
      this.#lastBtBlockAt = Date.now()
    }
    const r = picker.received(index, begin, conn.id)
    for (const id of r.others) {
      const other = this.#conns.get(id)
      if (other !== undefined) {
        other.cancel({ index, begin, length: data.length })
        this.#fill(other)
      }
    }
    if (r.accepted) {
      const piece = assembler.add(index, begin, data, conn.id, picker.pieceSize(index))
      if (r.pieceComplete) {
        assembler.take(index)
        this.#verify(piece)
      }
    }
    this.#fill(conn)
  }

  #verify(piece: AssemblingPiece): void {
    const m = this.#metainfo!
    const picker = this.#picker!
    const index = piece.index
    if (!verifyPiece(m, index, piece.data)) {
      this.#hashFailures++
      const sources = new Set(piece.sources.filter((s): s is string => s !== undefined))
      this.emit('warning', swarmError('pieceHashFailed', `piece ${index} failed its hash check`, { index, peers: [...sources] }))
      if (sources.size === 1) {
        // one sender for the whole piece: no doubt who sent the bad bytes
        this.#ban(sources.values().next().value!, index)
        this.#failed.delete(index)
      } else if (!this.#failed.has(index) && this.#failed.size < MAX_FAILED_KEPT) {
        this.#failed.set(index, piece)
      }
      const others = [...this.#conns.values()].some((c) => !sources.has(c.id) && c.has(index) && c.kind === 'bittorrent')
      picker.pieceFailed(index, others ? sources : [])
      this.#fillAll()
      return
    }
    const failed = this.#failed.get(index)
    if (failed !== undefined) {
      this.#failed.delete(index)
      for (const id of corruptSources(failed, piece.data, picker.blockSize)) this.#ban(id, index)
    }
    this.#store!.put(index, piece.data).then(
      () => {
        this.#assembler?.release(piece.data)
        this.#onPieceStored(index)
      },
      (err: unknown) => this.#fatal(err),
    )
  }

  #onPieceStored(index: number): void {
    if (this.#stopped) return
    const picker = this.#picker!
    picker.setHave(index)
    this.#uncommitted.push(index)
    this.#pendingHaves.push(index)
    if (this.#haveTimer === undefined) {
      this.#haveTimer = setTimeout(() => this.#flushHaves(), HAVE_BATCH_MS)
      this.#haveTimer.unref()
    }
    const waiters = this.#pieceWaiters.get(index)
    if (waiters !== undefined) {
      this.#pieceWaiters.delete(index)
      for (const w of waiters) w.resolve()
    }
    this.emit('piece', index)
    this.#checkDone()
  }

  #flushHaves(): void {
    this.#haveTimer = undefined
    const haves = this.#pendingHaves.splice(0)
    for (const conn of this.#conns.values()) {
      if (!(conn instanceof BitTorrentConnection) || !conn.ready) continue
      for (const i of haves) if (!conn.has(i)) conn.announceHave(i)
    }
    if (this.#picker?.isSeed) for (const conn of [...this.#conns.values()]) this.#maybeDropSeed(conn)
  }

  #checkDone(): void {
    const picker = this.#picker
    if (picker === undefined || !picker.isDone || this.#doneEmitted) return
    this.#doneEmitted = true
    for (const conn of this.#conns.values()) {
      conn.setInterested(false)
      if (conn.kind === 'webseed') conn.destroy()
    }
    this.#discovery?.complete?.()
    this.#commit()
      .then(() => {
        if (this.#stopped) return
        this.emit('done')
        for (const w of this.#doneWaiters.splice(0)) w.resolve()
      })
      .catch((err: unknown) => this.#fatal(err))
  }

  /** Flush the store, then journal what it covered (never the other way round). */
  #commit(): Promise<void> {
    const store = this.#store
    if (store === undefined) return Promise.resolve()
    const indices = this.#uncommitted.splice(0)
    const journal = this.#journal
    this.#committing = this.#committing.then(() =>
      journal !== undefined ? commitPieces(store, journal, indices) : indices.length > 0 ? store.flush() : undefined,
    )
    return this.#committing
  }

  #ban(peerId: string, index: number): void {
    const conn = this.#conns.get(peerId)
    const target =
      conn instanceof BitTorrentConnection
        ? { ...(splitAddress(conn.listenAddress ?? conn.id) ?? { host: conn.host }), peerId: conn.remotePeerId }
        : splitAddress(peerId)
    if (target !== undefined) this.#c.bans.ban(target)
    this.#bannedPeers++
    this.emit('warning', swarmError('peerBanned', `banned peer ${peerId}: corrupt data in piece ${index}`, { peer: peerId, index }))
    conn?.destroy(swarmError('peerBanned', `banned for corrupt data in piece ${index}`))
  }

  #fatal(err: unknown): void {
    if (this.#stopped) return
    const e = hasCode(err, 'BITCDN_ERR_SWARM_STORAGE')
      ? (err as BitcdnError)
      : swarmError('storage', `storage failed for torrent ${this.infoHash}: ${(err as Error).message}`, {}, err)
    // an 'error' nobody listens to would throw and take the whole process down with one torrent
    if (this.listenerCount('error') > 0) this.emit('error', e)
    else this.#log.error({ code: e.code, err: e.message }, 'torrent failed')
    void this.stop()
  }

  // ---- periodic ----

  #onTick(): void {
    if (this.#stopped) return
    const now = Date.now()
    const total = this.#downloadedPeers + this.#downloadedWeb
    const dt = (now - this.#rateSample.at) / 1000
    if (dt > 0) {
      this.#downloadRate = this.#downloadRate * 0.5 + ((total - this.#rateSample.down) / dt) * 0.5
      this.#uploadRate = this.#uploadRate * 0.5 + ((this.#uploaded - this.#rateSample.up) / dt) * 0.5
    }
    this.#rateSample = { at: now, down: total, up: this.#uploaded }
    this.#checkSnubs(now)
    if (now - this.#lastChoke >= CHOKE_INTERVAL_MS) {
      this.#lastChoke = now
      this.#uploads.round(this.#btConns(), now, this.#picker?.isSeed ?? false)
    }
    if (this.#uncommitted.length > 0 && now - this.#lastCommit >= COMMIT_INTERVAL_MS) {
      this.#lastCommit = now
      this.#commit().catch((err: unknown) => this.#fatal(err))
    }
    this.#discovery?.update({ uploaded: this.#uploaded, downloaded: total, left: this.#left() })
    this.#fillAll()
    this.#dialMore()
  }

  #checkSnubs(now: number): void {
    const picker = this.#picker
    if (picker === undefined) return
    const timeout = this.#init.snubTimeoutMs ?? 15_000
    for (const conn of releaseStalled(this.#btConns(), picker, timeout, now)) {
      this.emit('warning', swarmError('peerSnubbed', `peer ${conn.id} sent nothing for ${timeout} ms; its requests moved elsewhere`, { peer: conn.id }))
    }
  }

  /** The BitTorrent connections (web seeds excluded). */
  *#btConns(): IterableIterator<BitTorrentConnection> {
    for (const c of this.#conns.values()) if (c instanceof BitTorrentConnection) yield c
  }

  // ---- streaming support ----

  #waitForPiece(index: number): Promise<void> {
    if (this.#picker?.has(index)) return Promise.resolve()
    if (this.#stopped) return Promise.reject(swarmError('stopped', `torrent ${this.infoHash} stopped`))
    return new Promise((resolve, reject) => {
      const list = this.#pieceWaiters.get(index) ?? []
      list.push({ resolve, reject })
      this.#pieceWaiters.set(index, list)
    })
  }

  #setStreamPriorities(id: number, prios: Map<number, number> | undefined): void {
    const picker = this.#picker
    if (picker === undefined) return
    const touched = new Set<number>([...(this.#streamPriorities.get(id)?.keys() ?? []), ...(prios?.keys() ?? [])])
    if (prios === undefined) this.#streamPriorities.delete(id)
    else this.#streamPriorities.set(id, prios)
    for (const i of touched) {
      let p = PRIORITY_NORMAL
      for (const s of this.#streamPriorities.values()) p = Math.max(p, s.get(i) ?? 0)
      picker.setPriority(i, p)
    }
    this.#fillAll()
  }

  #bitfield(): Uint8Array {
    const m = this.#metainfo!
    const picker = this.#picker!
    const bits = new Uint8Array(Math.ceil(m.pieceCount / 8))
    for (let i = 0; i < m.pieceCount; i++) if (picker.has(i)) bits[i >> 3]! |= 0x80 >> (i & 7)
    return bits
  }
}

function isLocal(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '0.0.0.0'
}
