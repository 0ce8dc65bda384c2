/**
 * The connections of one torrent: which peers to dial (candidates from the user, discovery and
 * PEX), which incoming ones to admit (per-torrent and client-wide limits, bans, one connection
 * per peer id), the handshake answer (our have-set), PEX between them, web seeds, and bans for
 * corrupt data. What to do with a connection once it is up is the session's business
 * (`onConnection`).
 */
import type { Socket } from 'node:net'
import type { BitcdnError } from '@bitcdn/core'
import type { Metainfo } from '@bitcdn/content'
import type { PeerConnection } from '../peer-connection.js'
import { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import { connectSharedBuffer, type HardenedWire } from '../wire/hardened-wire.js'
import { swarmError } from '../errors.js'
import { splitAddress, type BanList } from './ban-list.js'
import type { SessionState } from './session-state.js'
import type { TransferStats } from './stats.js'

const CONNECT_TIMEOUT_MS = 10_000
/** A peer with no block either way this long may be evicted for a newcomer when the torrent is full. */
const IDLE_EVICT_MS = 5000
/** Keep-alives come every 2 minutes (BEP 3); a peer silent longer than this is gone. */
const SILENT_TIMEOUT_MS = 150_000
/** Redial backoff after a refused connect or a drop: 1 s doubling to at most 60 s. */
const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 60_000
const MAX_RETRIED_PEERS = 1000
/** Two connections to one peer whose handshakes are this close were opened at once by both ends. */
const SIMULTANEOUS_OPEN_MS = 2000

export interface PeerSetInit {
  /** Connections for this torrent (web seeds included). @default 50 */
  maxConnections?: number
}

export interface PeerSetComponents {
  peerId: Buffer
  listenPort: () => number
  bans: BanList
  /** Client-wide connection budget. */
  acquireConnection: () => boolean
  releaseConnection: () => void
  stats: TransferStats
  createWebSeed?: (url: string, metainfo: Metainfo, onWarning: (err: BitcdnError) => void) => PeerConnection
  extendWire?: (wire: HardenedWire, conn: BitTorrentConnection) => void
  /** A connection joined (wire its events). */
  onConnection: (conn: PeerConnection) => void
  /** A connection is gone (release what it held). */
  onClosed: (conn: PeerConnection) => void
  /** The info dictionary arrived over ut_metadata (magnet). */
  onMetadata: (infoBuffer: Buffer) => void
  /** A peer's handshake checked out (`host:port`). */
  onWire: (id: string) => void
  /** Keep a connection two seeds would close (a buyer still settling its last cheque with it). */
  keepSeedConnection?: (conn: PeerConnection) => boolean
}

/**
 * @example
 * const peers = new PeerSet(state, { maxConnections: 50 }, components)
 * peers.addPeer('10.0.0.2:6881')
 */
export class PeerSet {
  readonly #state: SessionState
  readonly #max: number
  readonly #c: PeerSetComponents
  readonly #dialing = new Set<string>()
  readonly #candidates = new Set<string>()
  /** Dial attempts that failed in a row, and the pending redial, per `host:port`. */
  readonly #failures = new Map<string, number>()
  readonly #retries = new Map<string, NodeJS.Timeout>()

  constructor(state: SessionState, init: PeerSetInit, components: PeerSetComponents) {
    this.#state = state
    this.#max = init.maxConnections ?? 50
    this.#c = components
  }

  /** Remember a peer to dial, `host:port`, unless banned, ourselves or already connected. */
  addPeer(addr: string): void {
    if (this.#state.stopped) return
    const a = splitAddress(addr)
    if (a === undefined) return
    const key = `${a.host}:${a.port}`
    if (this.#c.bans.isBanned({ host: a.host, port: a.port })) return
    if (a.port === this.#c.listenPort() && isLocal(a.host)) return // ourselves
    if (this.#state.conns.has(key) || this.#dialing.has(key) || this.#isConnectedTo(key)) return
    this.#candidates.add(key)
    this.dialMore()
  }

  /** An incoming handshake for this torrent: admit it within the limits, or close it. */
  acceptIncoming(socket: Socket, wire: HardenedWire): void {
    const host = socket.remoteAddress ?? ''
    if (this.#state.conns.size + this.#dialing.size >= this.#max) this.#evictIdlest(Date.now())
    if (
      this.#state.stopped ||
      this.#state.conns.size + this.#dialing.size >= this.#max ||
      this.#c.bans.isBanned({ host, peerId: wire.peerId ?? undefined }) ||
      !this.#c.acquireConnection()
    ) {
      socket.destroy()
      return
    }
    this.#addConnection(socket, wire, false)
  }

  /** Open a web seed as a connection (metadata must be known). */
  openWebSeed(url: string): void {
    const create = this.#c.createWebSeed
    const m = this.#state.metainfo
    if (create === undefined || m === undefined || this.#state.conns.has(url)) return
    let conn: PeerConnection
    try {
      conn = create(url, m, (err) => this.#state.warn(err))
    } catch (err) {
      this.#state.warn(err as BitcdnError)
      return
    }
    this.#state.conns.set(conn.id, conn)
    conn.once('close', () => this.#closed(conn))
    this.#c.onConnection(conn)
  }

  /** Dial candidates while the limits allow. */
  dialMore(): void {
    for (const addr of this.#candidates) {
      if (this.#state.conns.size + this.#dialing.size >= this.#max) return
      this.#candidates.delete(addr)
      if (this.#state.conns.has(addr) || this.#dialing.has(addr) || this.#isConnectedTo(addr)) continue
      if (!this.#c.acquireConnection()) {
        this.#candidates.add(addr)
        return
      }
      this.#dial(addr)
    }
  }

  /** The BitTorrent connections (web seeds excluded). */
  *btConns(): IterableIterator<BitTorrentConnection> {
    for (const c of this.#state.conns.values()) if (c instanceof BitTorrentConnection) yield c
  }

  /** Listen addresses (`host:port`) of the connected peers. */
  addresses(): string[] {
    const out: string[] = []
    for (const c of this.btConns()) if (c.ready) out.push(c.listenAddress ?? c.id)
    return out
  }

  /** Ban the sender `id` of corrupt data in piece `index` and close it. */
  ban(id: string, index: number): void {
    const conn = this.#state.conns.get(id)
    const target =
      conn instanceof BitTorrentConnection
        ? { ...(splitAddress(conn.listenAddress ?? conn.id) ?? { host: conn.host }), peerId: conn.remotePeerId }
        : splitAddress(id)
    if (target !== undefined) this.#c.bans.ban(target)
    this.#c.stats.bannedPeers++
    this.#state.warn(swarmError('peerBanned', `banned peer ${id}: corrupt data in piece ${index}`, { peer: id, index }))
    conn?.destroy(swarmError('peerBanned', `banned for corrupt data in piece ${index}`))
  }

  /** Two seeds have nothing to say to each other. */
  maybeDropSeed(conn: PeerConnection): void {
    if (conn instanceof BitTorrentConnection && this.#state.picker?.isSeed && conn.isSeed && this.#c.keepSeedConnection?.(conn) !== true) conn.destroy()
  }

  closeAll(): void {
    for (const t of this.#retries.values()) clearTimeout(t)
    this.#retries.clear()
    for (const conn of [...this.#state.conns.values()]) conn.destroy()
    this.#state.conns.clear()
    this.#candidates.clear()
  }

  /**
   * Full, and a newcomer knocks: close the peer idle longest (no block either way for
   * `IDLE_EVICT_MS`), so sockets that handshake and then say nothing cannot hold every slot
   * (libtorrent evicts the same way). Busy peers are never evicted; then the newcomer is refused.
   */
  #evictIdlest(now: number): void {
    let idlest: BitTorrentConnection | undefined
    for (const c of this.btConns()) {
      if (c.closed || now - c.lastUsefulAt < IDLE_EVICT_MS) continue
      if (idlest === undefined || c.lastUsefulAt < idlest.lastUsefulAt) idlest = c
    }
    idlest?.destroy(swarmError('peerIdle', `peer ${idlest.id} evicted: idle ${now - idlest.lastUsefulAt} ms while the torrent is full`, { peer: idlest.id }))
  }

  /** Close peers we have heard nothing from (not even a keep-alive) for `SILENT_TIMEOUT_MS`. */
  closeSilent(now: number): void {
    for (const c of [...this.btConns()]) {
      if (now - c.wire.lastReceivedAt >= SILENT_TIMEOUT_MS) c.destroy(swarmError('peerIdle', `peer ${c.id} silent for ${now - c.wire.lastReceivedAt} ms`, { peer: c.id }))
    }
  }

  /**
   * Dial `addr` again after a refused connect or a drop, backing off 1 s, 2 s, 4 s … up to a
   * minute (libtorrent retries failed peers the same way); a handshake resets it. A finished
   * torrent does not redial: seeds have nothing to ask.
   */
  #retryLater(addr: string): void {
    if (this.#state.stopped || this.#retries.has(addr) || this.#state.picker?.isSeed === true) return
    if (!this.#failures.has(addr) && this.#failures.size >= MAX_RETRIED_PEERS) return // PEX could feed it without end
    const failures = (this.#failures.get(addr) ?? 0) + 1
    this.#failures.set(addr, failures)
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures - 1, 16))
    const timer = setTimeout(() => {
      this.#retries.delete(addr)
      if (!this.#state.stopped && this.#state.picker?.isSeed !== true) this.addPeer(addr)
    }, delay)
    timer.unref()
    this.#retries.set(addr, timer)
  }

  #isConnectedTo(addr: string): boolean {
    for (const c of this.btConns()) if (c.listenAddress === addr) return true
    return false
  }

  #dial(addr: string): void {
    const a = splitAddress(addr)!
    this.#dialing.add(addr)
    const socket = connectSharedBuffer({ host: a.host, port: a.port })
    socket.setTimeout(CONNECT_TIMEOUT_MS)
    const fail = (err: Error) => {
      this.#dialing.delete(addr)
      this.#c.releaseConnection()
      socket.destroy()
      if (!this.#state.stopped) this.#state.warn(swarmError('peerConnect', `could not connect to ${addr}: ${err.message}`, { peer: addr }, err))
    }
    socket.once('error', (err) => {
      fail(err)
      this.#retryLater(addr)
    })
    socket.once('timeout', () => {
      fail(new Error('timed out'))
      this.#retryLater(addr)
    })
    socket.once('connect', () => {
      socket.off('error', fail)
      socket.removeAllListeners('timeout')
      socket.setTimeout(0)
      this.#dialing.delete(addr)
      if (this.#state.stopped) {
        this.#c.releaseConnection()
        socket.destroy()
        return
      }
      this.#addConnection(socket, undefined, true)
    })
  }

  #addConnection(socket: Socket, wire: HardenedWire | undefined, outgoing: boolean): void {
    const m = this.#state.ready ? this.#state.metainfo : undefined
    const conn = new BitTorrentConnection(
      {
        socket,
        wire,
        infoHash: this.#state.infoHash,
        peerId: this.#c.peerId,
        outgoing,
        listenPort: this.#c.listenPort(),
        infoBuffer: m?.infoBuffer,
        pieceCount: m?.pieceCount,
        pieceLength: m?.pieceLength,
        length: m?.length,
      },
      {
        onHandshake: (c, peerId) => this.#onHandshake(c, peerId),
        onExtendedHandshake: (c) => this.#onExtendedHandshake(c),
        onMetadata: (_c, info) => this.#c.onMetadata(info),
        onPeer: (addr) => this.addPeer(addr),
        onWarning: (err) => this.#state.warn(err),
        extendWire: this.#c.extendWire,
      },
    )
    if (this.#state.conns.has(conn.id)) {
      this.#c.releaseConnection()
      socket.destroy()
      return
    }
    this.#state.conns.set(conn.id, conn)
    this.#c.onConnection(conn)
    conn.once('close', () => {
      this.#c.releaseConnection()
      this.#closed(conn)
      if (outgoing) this.#retryLater(conn.id)
    })
    conn.start()
  }

  #onHandshake(conn: BitTorrentConnection, peerId: string): void {
    if (this.#c.bans.isBanned({ host: conn.host, peerId })) return conn.destroy()
    if (conn.outgoing) this.#failures.delete(conn.id)
    for (const other of this.btConns()) {
      if (other === conn || other.remotePeerId !== peerId) continue
      // an established connection stays (it may carry megabytes of requests in flight)
      if (other.outgoing === conn.outgoing || Date.now() - other.readyAt > SIMULTANEOUS_OPEN_MS) return conn.destroy()
      // both sides dialled each other at once: keep the connection the lower peer id opened, a
      // rule both ends apply alike (dropping "the newer one" on each side could drop both)
      const weAreLower = this.#c.peerId.toString('hex') < peerId
      if (conn.outgoing !== weAreLower) return conn.destroy()
      other.destroy()
    }
    const picker = this.#state.picker
    if (picker !== undefined && this.#state.ready) {
      conn.sendHaves({ seed: picker.isSeed, bitfield: picker.isSeed ? undefined : this.#bitfield() })
    } else {
      conn.sendHaves({ seed: false, bitfield: undefined })
      conn.fetchMetadata()
    }
    this.#c.onWire(conn.id)
  }

  #onExtendedHandshake(conn: BitTorrentConnection): void {
    const addr = conn.listenAddress
    if (addr === undefined) return
    const a = splitAddress(addr)
    if (a !== undefined && this.#c.bans.isBanned({ host: a.host, port: a.port })) return conn.destroy()
    // PEX: tell this peer about the others and the others about it
    for (const other of this.btConns()) {
      if (other === conn || !other.ready) continue
      const otherAddr = other.listenAddress
      if (otherAddr !== undefined) conn.pexAdd(otherAddr)
      other.pexAdd(addr)
    }
    if (!this.#state.ready) conn.fetchMetadata()
  }

  #closed(conn: PeerConnection): void {
    if (this.#state.conns.get(conn.id) === conn) this.#state.conns.delete(conn.id)
    if (conn instanceof BitTorrentConnection) {
      const addr = conn.listenAddress
      if (addr !== undefined) for (const other of this.btConns()) other.pexDrop(addr)
    }
    this.#c.onClosed(conn)
    if (!this.#state.stopped) this.dialMore()
  }

  #bitfield(): Uint8Array {
    const m = this.#state.metainfo!
    const picker = this.#state.picker!
    const bits = new Uint8Array(Math.ceil(m.pieceCount / 8))
    for (let i = 0; i < m.pieceCount; i++) if (picker.has(i)) bits[i >> 3]! |= 0x80 >> (i & 7)
    return bits
  }
}

function isLocal(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '0.0.0.0'
}
