/**
 * One torrent in a swarm client: thin orchestration of its parts. The session owns the lifecycle
 * (start, metadata, storage, stop), the public `Torrent` surface and the 1 s tick; the work is
 * done by:
 *  - `peer-set.ts` — which connections exist (dialing, admission, limits, bans, PEX, web seeds);
 *  - `downloads.ts` — request pipelines over the picker, interest, snubs and request timeouts;
 *  - `web-seed-scheduler.ts` — when and which pieces a web seed gets;
 *  - `piece-completion.ts` — assemble, verify, store, announce, commit to the resume journal;
 *  - `upload-slots.ts` — the choker and serving requests; `stats.ts` — counters and rates;
 *  - `stream-priorities.ts` — read streams' priorities and waits; `open-storage.ts` — store and journal.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { PassThrough, type Readable } from 'node:stream'
import { hasCode, silentLogger, type BitcdnError } from '@bitcdn/core'
import { metainfoFromInfo, pieceSize, type Metainfo, type PieceStore, type ResumeJournal, type TorrentRef } from '@bitcdn/content'
import type { PeerConnection } from '../peer-connection.js'
import { PiecePicker, PRIORITY_NORMAL, PRIORITY_SKIP } from '../picker/piece-picker.js'
import { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import type { HardenedWire } from '../wire/hardened-wire.js'
import { swarmError } from '../errors.js'
import { createFileReadStream } from './read-stream.js'
import { ReadCache } from './read-cache.js'
import { openStorage } from './open-storage.js'
import { UploadSlots } from './upload-slots.js'
import { PeerSet } from './peer-set.js'
import { Downloads } from './downloads.js'
import { PieceCompletion } from './piece-completion.js'
import { WebSeedScheduler } from './web-seed-scheduler.js'
import { TransferStats } from './stats.js'
import { StreamPriorities } from './stream-priorities.js'
import type { SessionState } from './session-state.js'
import { bytesLeft, startDiscovery } from './discovery-link.js'
import type { DiscoveryLike, TorrentSessionComponents, TorrentSessionInit } from './session-options.js'

export type { DiscoveryLike, TorrentSessionComponents, TorrentSessionInit } from './session-options.js'
import type { ReadStreamOptions, Torrent, TorrentEvents, TorrentStats } from './types.js'

const TICK_MS = 1000
/** Owners of `prioritize` calls count down from here; read streams count up from 1. */
let nextPriorityOwner = -1
const CHOKE_INTERVAL_MS = 10_000

interface Waiter<T> {
  resolve: (v: T) => void
  reject: (e: Error) => void
}

/**
 * @example
 * const t = new TorrentSession({ torrent: metainfo, dir: '/tmp/dl' }, components)
 * await t.start()
 * await t.whenDone()
 */
export class TorrentSession extends EventEmitter<TorrentEvents> implements Torrent {
  readonly infoHash: string
  readonly #s: SessionState
  readonly #ref: TorrentRef | Metainfo
  readonly #init: TorrentSessionInit
  readonly #c: TorrentSessionComponents
  readonly #stats = new TransferStats()
  readonly #webSeeds: WebSeedScheduler
  readonly #peers: PeerSet
  readonly #downloads: Downloads
  readonly #completion: PieceCompletion
  readonly #uploads: UploadSlots
  readonly #streams: StreamPriorities
  readonly #webSeedUrls = new Set<string>()
  readonly #metadataWaiters: Waiter<Metainfo>[] = []
  readonly #doneWaiters: Waiter<void>[] = []
  #journal: ResumeJournal | undefined
  #ownsStore = false
  #readCache: ReadCache | undefined
  #discovery: DiscoveryLike | undefined
  #tick: NodeJS.Timeout | undefined
  #lastChoke = 0
  #started = false
  /** Warnings raised inside `start()`, held until the caller of `client.add()` can listen. */
  #heldWarnings: BitcdnError[] | undefined
  #doneEmitted = false

  constructor(init: TorrentSessionInit, components: TorrentSessionComponents) {
    super()
    this.#init = init
    this.#c = components
    this.#ref = init.torrent
    this.infoHash = init.torrent.infoHash.toLowerCase()
    const s: SessionState = {
      infoHash: this.infoHash,
      log: (components.logger ?? silentLogger).child({ infoHash: this.infoHash }),
      metainfo: 'pieceHashes' in init.torrent ? init.torrent : undefined,
      store: undefined,
      picker: undefined,
      ready: false,
      stopped: false,
      conns: new Map(),
      warn: (err) => this.#warn(err),
      fatal: (err) => this.#fatal(err),
    }
    this.#s = s
    this.#webSeeds = new WebSeedScheduler(s)
    this.#uploads = new UploadSlots({
      infoHash: this.infoHash,
      slots: init.uploadSlots,
      policy: components.chokePolicy,
      limiter: components.uploadLimiter,
      budget: components.uploadBudget,
      onStalled: (conn, bytes) => {
        const err = swarmError('peerStalled', `peer ${conn.id} stopped reading with ${bytes} bytes unsent`, { peer: conn.id, bytes })
        this.#warn(err)
        conn.destroy(err)
      },
      has: (i) => s.picker?.has(i) ?? false,
      read: (i, begin, length) => this.#readCache!.read(i, begin, length),
      onUploaded: (n) => (this.#stats.uploaded += n),
      onReadError: (err) => this.#fatal(err),
      gate: components.uploadGate === undefined ? undefined : (conn, ref) => components.uploadGate!(conn, ref, this.infoHash),
      settled: components.uploadSettled === undefined ? undefined : (conn, ref, sent) => components.uploadSettled!(conn, ref, this.infoHash, sent),
    })
    this.#peers = new PeerSet(s, { maxConnections: init.maxConnections }, {
      ...components,
      stats: this.#stats,
      extendWire: components.extendWire === undefined ? undefined : (w, c) => components.extendWire!(w, c, this.infoHash),
      keepSeedConnection: components.keepSeedConnection === undefined ? undefined : (c) => components.keepSeedConnection!(c, this.infoHash),
      onConnection: (conn) => this.#onConnection(conn),
      onClosed: (conn) => {
        this.#downloads.detach(conn)
        this.#uploads.remove(conn.id)
      },
      onMetadata: (info) => this.#onMetadata(info),
      onWire: (id) => this.emit('wire', id),
    })
    const maybeDropSeed = (conn: PeerConnection) => this.#peers.maybeDropSeed(conn)
    this.#downloads = new Downloads(s, init, {
      limiter: components.downloadLimiter,
      webSeeds: this.#webSeeds,
      onBlock: (conn, i, begin, data) => this.#completion.onBlock(conn, i, begin, data),
      maybeDropSeed,
      requestLimit: components.requestLimit === undefined ? undefined : (conn) => components.requestLimit!(conn, this.infoHash),
      backlogged: () => this.#completion.backlogged,
    })
    this.#completion = new PieceCompletion(s, {
      stats: this.#stats,
      webSeeds: this.#webSeeds,
      journal: () => this.#journal,
      ban: (id, index) => this.#peers.ban(id, index),
      fillAll: () => this.#downloads.fillAll(),
      maybeDropSeed,
      onVerified: (index, sources) => this.emit('verified', index, sources),
      onStored: (index, sources) => {
        this.#streams.stored(index)
        this.emit('piece', index, sources)
        this.#checkDone()
      },
    })
    this.#streams = new StreamPriorities(() => s.picker, () => this.#downloads.fillAll(), init.onDemand === true ? PRIORITY_SKIP : PRIORITY_NORMAL)
  }

  get metainfo(): Metainfo | undefined {
    return this.#s.metainfo
  }

  get store(): PieceStore | undefined {
    return this.#s.store
  }

  get done(): boolean {
    const picker = this.#s.picker
    if (picker === undefined) return false
    return this.#init.onDemand === true ? picker.isSeed : picker.isDone
  }

  /** Open the store and resume state, then start finding peers. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#heldWarnings = []
    try {
      if (this.#s.metainfo !== undefined) await this.#setupStorage(this.#s.metainfo)
    } finally {
      const held = this.#heldWarnings
      this.#heldWarnings = undefined
      // after `await client.add()` resumed its caller, who attaches listeners synchronously
      if (held.length > 0) setImmediate(() => held.forEach((w) => this.emit('warning', w)))
    }
    for (const addr of this.#init.peers ?? []) this.addPeer(addr)
    if ('peers' in this.#ref && !('pieceHashes' in this.#ref)) for (const addr of this.#ref.peers) this.addPeer(addr)
    for (const url of [...(this.#s.metainfo?.urlList ?? this.#ref.urlList ?? []), ...(this.#init.webSeeds ?? [])]) this.addWebSeed(url)
    this.#discovery = startDiscovery(this.#s, {
      create: this.#c.createDiscovery,
      announce: [...(this.#s.metainfo?.announce ?? this.#ref.announce ?? []), ...(this.#init.announce ?? [])],
      dht: this.#init.dht ?? false,
      port: this.#c.listenPort(),
      peerId: this.#c.peerId.toString('hex'),
      onPeer: (addr) => this.addPeer(addr),
    })
    this.#tick = setInterval(() => this.#onTick(), TICK_MS)
    this.#tick.unref()
  }

  /** Close every connection, commit progress, release the store. */
  async stop(): Promise<void> {
    if (this.#s.stopped) return
    this.#s.stopped = true
    clearInterval(this.#tick)
    const stopped = swarmError('stopped', `torrent ${this.infoHash} stopped`)
    for (const w of this.#metadataWaiters.splice(0)) w.reject(stopped)
    for (const w of this.#doneWaiters.splice(0)) w.reject(stopped)
    this.#streams.stop(this.infoHash)
    this.#peers.closeAll()
    await this.#discovery?.stop().catch(() => {})
    await this.#completion.stop()
    await this.#journal?.close().catch(() => {})
    if (this.#ownsStore) await this.#s.store?.close().catch(() => {})
    this.#readCache?.clear()
  }

  ready(): Promise<Metainfo> {
    if (this.#s.metainfo !== undefined && this.#s.ready) return Promise.resolve(this.#s.metainfo)
    if (this.#s.stopped) return Promise.reject(swarmError('stopped', `torrent ${this.infoHash} stopped`))
    return new Promise((resolve, reject) => this.#metadataWaiters.push({ resolve, reject }))
  }

  whenDone(): Promise<void> {
    if (this.#s.ready && this.done) return Promise.resolve()
    if (this.#s.stopped) return Promise.reject(swarmError('stopped', `torrent ${this.infoHash} stopped`))
    return new Promise((resolve, reject) => this.#doneWaiters.push({ resolve, reject }))
  }

  stats(): TorrentStats {
    return this.#stats.snapshot(this.#s, this.#s.ready && this.done)
  }

  createReadStream(file: number | string, opts: ReadStreamOptions = {}): Readable {
    const m = this.#s.metainfo
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
        waitForPiece: (i) => this.#streams.waitForPiece(i),
        read: (i, off, len) => this.#s.store!.get(i, off, len),
        setStreamPriorities: (id, prios) => this.#streams.set(id, prios),
        clearStreamPriorities: (id) => this.#streams.set(id, undefined),
      },
      file,
      opts,
    )
  }

  prioritize(priorities: Map<number, number>): () => void {
    const id = nextPriorityOwner--
    this.#streams.set(id, priorities)
    return () => this.#streams.set(id, undefined)
  }

  hasPiece(index: number): boolean {
    return this.#s.picker?.has(index) ?? false
  }

  putPiece(index: number, data: Buffer): Promise<boolean> {
    return this.#completion.putVerified(index, data)
  }

  dropPiece(index: number): void {
    const picker = this.#s.picker
    if (picker === undefined || !picker.has(index)) return
    picker.clearHave(index)
    this.#doneEmitted = false
    this.#downloads.updateInterestAll()
    this.#downloads.fillAll()
  }

  requestMore(): void {
    if (!this.#s.stopped) this.#downloads.scheduleFillAll()
  }

  addPeer(addr: string): void {
    this.#peers.addPeer(addr)
  }

  findPeers(): void {
    if (!this.#s.stopped) this.#discovery?.refresh?.()
  }

  addWebSeed(url: string): void {
    if (this.#s.stopped || this.#webSeedUrls.has(url)) return
    this.#webSeedUrls.add(url)
    if (this.#s.ready && !this.done) this.#peers.openWebSeed(url)
  }

  rechoke(): void {
    if (this.#s.stopped) return
    this.#lastChoke = Date.now()
    this.#uploads.round(this.#peers.btConns(), this.#lastChoke, this.#s.picker?.isSeed ?? false)
  }

  peerAddresses(): string[] {
    return this.#peers.addresses()
  }

  /** Called by the client's listener for an incoming handshake with our info-hash. */
  acceptIncoming(socket: Socket, wire: HardenedWire): void {
    this.#peers.acceptIncoming(socket, wire)
  }

  async #setupStorage(m: Metainfo): Promise<void> {
    const opened = await openStorage(m, this.#init, (w) => this.#warn(w))
    const s = this.#s
    s.store = opened.store
    this.#ownsStore = opened.ownsStore
    this.#journal = opened.journal
    this.#readCache = new ReadCache(opened.store, (i) => pieceSize(m, i))
    const picker = new PiecePicker({ pieceCount: m.pieceCount, pieceLength: m.pieceLength, length: m.length })
    if (this.#init.onDemand === true) for (let i = 0; i < m.pieceCount; i++) picker.setPriority(i, PRIORITY_SKIP)
    this.#completion.start(picker.blockSize, m.pieceLength)
    for (const i of opened.have) picker.setHave(i)
    s.picker = picker
    s.metainfo = m
    s.ready = true
    for (const conn of s.conns.values()) this.#onMetadataForConn(conn, m)
    this.emit('metadata', m)
    for (const w of this.#metadataWaiters.splice(0)) w.resolve(m)
    for (const url of m.urlList) this.#webSeedUrls.add(url)
    if (!this.done) for (const url of this.#webSeedUrls) this.#peers.openWebSeed(url)
    this.#checkDone()
    this.#downloads.fillAll()
  }

  #warn(err: BitcdnError): void {
    if (this.#heldWarnings !== undefined) this.#heldWarnings.push(err)
    else this.emit('warning', err)
  }

  #onConnection(conn: PeerConnection): void {
    this.#downloads.attach(conn)
    if (conn instanceof BitTorrentConnection) this.#uploads.attach(conn, () => this.#peers.btConns())
  }

  #onMetadata(infoBuffer: Buffer): void {
    if (this.#s.metainfo !== undefined || this.#s.stopped) return
    let m: Metainfo
    try {
      m = metainfoFromInfo(infoBuffer, this.#ref as TorrentRef)
    } catch (err) {
      this.emit('warning', err as BitcdnError)
      return
    }
    if (m.infoHash !== this.infoHash) return
    this.#s.metainfo = m
    this.#setupStorage(m).catch((err: unknown) => this.#fatal(err))
  }

  #onMetadataForConn(conn: PeerConnection, m: Metainfo): void {
    if (conn instanceof BitTorrentConnection) {
      conn.setMetadata(m.infoBuffer, { pieceCount: m.pieceCount, pieceLength: m.pieceLength, length: m.length })
      if (conn.closed) return
      if (conn.ready && this.#s.picker!.haveCount > 0) {
        for (let i = 0; i < m.pieceCount; i++) if (this.#s.picker!.has(i)) conn.announceHave(i)
      }
    }
    this.#downloads.countHaves(conn)
  }

  #checkDone(): void {
    const picker = this.#s.picker
    if (picker === undefined || !this.done || this.#doneEmitted) return
    this.#doneEmitted = true
    for (const conn of this.#s.conns.values()) {
      conn.setInterested(false)
      if (conn.kind === 'webseed') conn.destroy()
    }
    this.#discovery?.complete?.()
    this.#completion
      .commit()
      .then(() => {
        if (this.#s.stopped) return
        this.emit('done')
        for (const w of this.#doneWaiters.splice(0)) w.resolve()
      })
      .catch((err: unknown) => this.#fatal(err))
  }

  #fatal(err: unknown): void {
    if (this.#s.stopped) return
    const e = hasCode(err, 'BITCDN_ERR_SWARM_STORAGE') || hasCode(err, 'BITCDN_ERR_UNSAFE_PATH')
      ? (err as BitcdnError)
      : swarmError('storage', `storage failed for torrent ${this.infoHash}: ${(err as Error).message}`, {}, err)
    // an 'error' nobody listens to would throw and take the whole process down with one torrent
    if (this.listenerCount('error') > 0) this.emit('error', e)
    else this.#s.log.error({ code: e.code, err: e.message }, 'torrent failed')
    void this.stop()
  }

  #onTick(): void {
    if (this.#s.stopped) return
    const now = Date.now()
    this.#stats.sample(now)
    this.#downloads.checkTimeouts(this.#peers.btConns(), now)
    this.#uploads.chokeStalled(this.#peers.btConns(), now)
    this.#peers.closeSilent(now)
    if (now - this.#lastChoke >= CHOKE_INTERVAL_MS) {
      this.#lastChoke = now
      this.#uploads.round(this.#peers.btConns(), now, this.#s.picker?.isSeed ?? false)
    }
    this.#completion.tick(now)
    this.#discovery?.update({ uploaded: this.#stats.uploaded, downloaded: this.#stats.downloaded, left: bytesLeft(this.#s) })
    this.#downloads.fillAll()
    this.#peers.dialMore()
  }
}
