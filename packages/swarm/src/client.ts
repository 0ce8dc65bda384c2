/**
 * The swarm client: one TCP listener for every torrent (incoming handshakes are routed by
 * info-hash), the client-wide connection budget, rate limits and ban list, and the torrents.
 * Nothing listens beyond 127.0.0.1 unless `host` says so.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { silentLogger, type BitcdnError, type Logger } from '@bitcdn/core'
import { parseTorrentId, type Metainfo, type TorrentRef } from '@bitcdn/content'
import type { AddTorrentOptions } from './torrent/session-options.js'
export type { AddTorrentOptions } from './torrent/session-options.js'
import { swarmError } from './errors.js'
import { RateLimiter } from './choker/rate-limit.js'
import { UploadBudget } from './choker/upload-budget.js'
import type { ChokePolicy } from './choker/choker.js'
import { HardenedWire } from './wire/hardened-wire.js'
import type { BitTorrentConnection } from './wire/bittorrent-connection.js'
import type { BlockRef, PeerConnection } from './peer-connection.js'
import { BanList } from './torrent/ban-list.js'
import { TorrentSession } from './torrent/torrent-session.js'
import type { Torrent } from './torrent/types.js'
import { createWebSeedConnection } from './webseed/index.js'
import { createDiscovery, startDhtNode, type Dht } from './discovery/index.js'
import { defaultStateDir } from './torrent/resume-location.js'

import { PEER_ID_PREFIX } from './peer-id.js'
export { PEER_ID_PREFIX } from './peer-id.js'
const HANDSHAKE_TIMEOUT_MS = 10_000

export interface SwarmClientInit {
  /** Address to listen on. @default '127.0.0.1' */
  host?: string
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /**
   * Use the mainline DHT for torrents' discovery: one DHT node for the client, on UDP `port` (the
   * TCP port's number unless given) and `host`, shared by every torrent. @default false
   */
  dht?: boolean | SwarmDhtOptions
  /** Peer connections across all torrents. @default 200 */
  maxConnections?: number
  /** Peer connections per torrent. @default 50 */
  maxConnectionsPerTorrent?: number
  /** Upload limit, bytes/s; 0 = none. @default 0 */
  uploadRateLimit?: number
  /** Download limit, bytes/s; 0 = none. @default 0 */
  downloadRateLimit?: number
  /**
   * Bytes read from storage for uploads and not yet sent, across all peers (each peer may also
   * hold 256 KiB over it, so peers that stop reading cannot starve the rest). @default 64 MiB
   */
  uploadReadAheadBytes?: number
  /** Our 20-byte peer id. @default '-XB0100-' + 12 random bytes */
  peerId?: Buffer | string
  /** Regular upload slots per torrent. @default 8 */
  uploadSlots?: number
  /** Requests held this long without a block snub a peer, ms. @default 15000 */
  snubTimeoutMs?: number
  /**
   * One request a peer holds this long (or 4× its mean block latency, if longer) is cancelled and
   * asked of another peer, ms. Web seeds get 120 s. @default 10000
   */
  requestTimeoutMs?: number
  /**
   * Where resume journals live (one per torrent and data directory), never in the data directory.
   * @default `$BITCDN_HOME/resume`, `BITCDN_HOME` defaulting to `~/.bitcdn`
   */
  stateDir?: string
  /**
   * Extra CA certificates (PEM) trusted for `https://` web seeds, on top of Node's trust store:
   * for private origins whose certificates a private CA signed. @default none
   */
  webSeedCa?: string | Buffer | Array<string | Buffer>
}

/** The client's DHT node (BEP 5). */
export interface SwarmDhtOptions {
  /** UDP port. @default the client's TCP port */
  port?: number
  /** Bootstrap nodes `host:port`; `false` to start alone. @default the public routers */
  bootstrap?: string[] | false
  /** Re-announce and re-lookup period per torrent, ms. @default 900000 */
  announceIntervalMs?: number
}

export interface SwarmClientComponents {
  logger?: Logger
  /** Who gets upload slots. @default unchokeSort by rate with one optimistic slot */
  chokePolicy?: ChokePolicy
  /**
   * Add BEP 10 extensions to every BitTorrent connection before its extension handshake (the
   * paid-delivery protocol plugs in here, libtorrent's `peer_plugin`).
   */
  extendWire?: (wire: HardenedWire, conn: BitTorrentConnection, infoHash: string) => void
  /** Veto each upload request (serve only paid-for blocks); false rejects it. */
  uploadGate?: (conn: BitTorrentConnection, ref: BlockRef, infoHash: string) => boolean
  /**
   * Told once of every request `uploadGate` let through: `sent` when the block went to the socket,
   * not sent when it was dropped (choked or cancelled meanwhile, the peer closed, a read failed).
   * A paid seller charges on `sent` and knows which granted blocks are still on their way.
   */
  uploadSettled?: (conn: BitTorrentConnection, ref: BlockRef, infoHash: string, sent: boolean) => void
  /**
   * Most block requests in flight to a connection, below its own pipeline depth; 0 asks it for
   * nothing (a buyer steering downloads to the sellers it prefers). @default no cap
   */
  requestLimit?: (conn: PeerConnection, infoHash: string) => number | undefined
  /**
   * Keep a connection that two seeds would close: a buyer that finished still owes the seller its
   * last cheque. The extension closes it once settled. @default none kept
   */
  keepSeedConnection?: (conn: PeerConnection, infoHash: string) => boolean
}


export interface SwarmClient {
  /** Listen for peers. Resolves when bound (`port` is then set). */
  start(): Promise<void>
  /** Stop every torrent, the DHT node and the listener. */
  stop(): Promise<void>
  /** The bound port (0 before `start`). */
  readonly port: number
  /** Our peer id, hex. */
  readonly peerId: string
  /**
   * Add a torrent (metainfo, magnet/ref, or a magnet URI / info-hash / .torrent buffer) and start
   * it. Resolves once storage and resume state are ready (not when metadata or data arrived).
   * @throws BitcdnError `BITCDN_ERR_TORRENT_EXISTS`, content's `BITCDN_ERR_MAGNET_INVALID` /
   * `BITCDN_ERR_TORRENT_INVALID`, storage errors.
   */
  add(torrent: Metainfo | TorrentRef | string | Buffer, opts?: AddTorrentOptions): Promise<Torrent>
  /** Stop and forget a torrent. @throws BitcdnError `BITCDN_ERR_TORRENT_UNKNOWN` */
  remove(infoHash: string): Promise<void>
  get(infoHash: string): Torrent | undefined
  readonly torrents: Torrent[]
}

/**
 * Create a swarm client (not listening until `start`).
 * @example
 * const client = createSwarmClient({ port: 0 })
 * await client.start()
 * const t = await client.add(metainfo, { dir: '/tmp/dl', peers: ['127.0.0.1:6881'] })
 * await t.whenDone()
 * await client.stop()
 */
export function createSwarmClient(init: SwarmClientInit = {}, components: SwarmClientComponents = {}): SwarmClient {
  const host = init.host ?? '127.0.0.1'
  const peerId =
    init.peerId === undefined
      ? Buffer.concat([Buffer.from(PEER_ID_PREFIX), randomBytes(12)])
      : typeof init.peerId === 'string'
        ? init.peerId.length === 40
          ? Buffer.from(init.peerId, 'hex')
          : Buffer.from(init.peerId)
        : init.peerId
  if (peerId.length !== 20) throw new RangeError('peerId must be 20 bytes')
  const log = (components.logger ?? silentLogger).child({ component: 'swarm' })
  const torrents = new Map<string, TorrentSession>()
  const bans = new BanList()
  const uploadLimiter = new RateLimiter({ bytesPerSecond: init.uploadRateLimit ?? 0 })
  const downloadLimiter = new RateLimiter({ bytesPerSecond: init.downloadRateLimit ?? 0 })
  const uploadBudget = new UploadBudget({ maxBytes: init.uploadReadAheadBytes })
  const maxConnections = init.maxConnections ?? 200
  let connections = 0
  let port = 0
  let server: Server | undefined
  const dhtOpts: SwarmDhtOptions | undefined = init.dht === true ? {} : init.dht === false || init.dht === undefined ? undefined : init.dht
  let dht: Dht | undefined
  /** Why the DHT node could not start; each torrent that wanted it is told. */
  let dhtError: BitcdnError | undefined
  const stateDir = init.stateDir ?? defaultStateDir()
  const pending = new Set<Socket>()

  const acquireConnection = () => {
    if (connections >= maxConnections) return false
    connections++
    return true
  }
  const releaseConnection = () => {
    if (connections > 0) connections--
  }

  function onSocket(socket: Socket): void {
    if (bans.isBanned({ host: socket.remoteAddress ?? '' })) {
      socket.destroy()
      return
    }
    // full of sockets that have not handshaken yet: the oldest goes, so a flood of silent
    // sockets cannot keep a real peer out until the handshake timeout
    const oldest = pending.size >= maxConnections ? pending.values().next().value : undefined
    if (oldest !== undefined) {
      pending.delete(oldest)
      oldest.destroy()
    }
    pending.add(socket)
    const wire = new HardenedWire()
    wire.onProtocolError = () => socket.destroy()
    socket.on('error', () => socket.destroy())
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy())
    socket.once('close', () => pending.delete(socket))
    wire.attach(socket)
    wire.once('handshake', (infoHash: string) => {
      pending.delete(socket)
      socket.setTimeout(0)
      socket.removeAllListeners('error')
      const torrent = torrents.get(infoHash)
      if (torrent === undefined) {
        socket.destroy()
        return
      }
      torrent.acceptIncoming(socket, wire)
    })
  }

  function toTorrent(t: Metainfo | TorrentRef | string | Buffer): Metainfo | TorrentRef {
    if (typeof t === 'string' || Buffer.isBuffer(t)) return parseTorrentId(t)
    return t
  }

  return {
    get port() {
      return port
    },
    get peerId() {
      return peerId.toString('hex')
    },
    get torrents() {
      return [...torrents.values()]
    },
    async start() {
      if (server !== undefined) return
      const s = createServer({ noDelay: true }, onSocket)
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => reject(swarmError('listen', `cannot listen on ${host}:${init.port ?? 0}: ${err.message}`, { host, port: init.port ?? 0 }, err)))
        s.listen(init.port ?? 0, host, () => resolve())
      })
      s.on('error', (err) => log.warn({ err: err.message }, 'listener error'))
      server = s
      const addr = s.address()
      port = typeof addr === 'object' && addr !== null ? addr.port : 0
      log.info({ host, port }, 'swarm listening')
      if (dhtOpts !== undefined) {
        try {
          const node = await startDhtNode({ port: dhtOpts.port ?? port, host, bootstrap: dhtOpts.bootstrap })
          node.on('error', (err: Error) => log.warn({ err: err.message }, 'dht error'))
          node.on('warning', (err: Error) => log.debug({ err: err.message }, 'dht warning'))
          dht = node
        } catch (err) {
          // a taken UDP port must not stop the client: trackers and peers still work
          dhtError = err as BitcdnError
          log.warn({ code: dhtError.code, err: dhtError.message }, 'DHT unavailable')
        }
      }
    },
    async stop() {
      await Promise.all([...torrents.values()].map((t) => t.stop()))
      torrents.clear()
      const node = dht
      dht = undefined
      if (node !== undefined) await new Promise<void>((resolve) => node.destroy(() => resolve()))
      for (const s of pending) s.destroy()
      pending.clear()
      const s = server
      server = undefined
      if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    async add(input, opts = {}) {
      const t = toTorrent(input)
      const infoHash = t.infoHash.toLowerCase()
      if (torrents.has(infoHash)) throw swarmError('torrentExists', `torrent ${infoHash} is already added`, { infoHash })
      const session = new TorrentSession(
        {
          torrent: t,
          dir: opts.dir,
          store: opts.store,
          peers: opts.peers,
          webSeeds: opts.webSeeds,
          announce: opts.announce,
          resume: opts.resume,
          recheck: opts.recheck,
          onDemand: opts.onDemand,
          have: opts.have,
          stateDir,
          maxConnections: init.maxConnectionsPerTorrent ?? 50,
          uploadSlots: init.uploadSlots,
          snubTimeoutMs: init.snubTimeoutMs,
          requestTimeoutMs: init.requestTimeoutMs,
          dht: dhtOpts !== undefined,
        },
        {
          peerId,
          listenPort: () => port,
          uploadLimiter,
          downloadLimiter,
          uploadBudget,
          bans,
          acquireConnection,
          releaseConnection,
          logger: log,
          chokePolicy: components.chokePolicy,
          extendWire: components.extendWire,
          uploadGate: components.uploadGate,
          uploadSettled: components.uploadSettled,
          requestLimit: components.requestLimit,
          keepSeedConnection: components.keepSeedConnection,
          createWebSeed: (url, metainfo, onWarning) => createWebSeedConnection({ url, metainfo, ca: init.webSeedCa }, { logger: log, onWarning }),
          createDiscovery: (d) =>
            createDiscovery(
              {
                infoHash: d.infoHash,
                announce: d.announce,
                port: d.port,
                dht: d.dht && dht !== undefined,
                dhtIntervalMs: dhtOpts?.announceIntervalMs,
                peers: d.peers,
                peerId: d.peerId,
              },
              { logger: log, dht },
            ),
        },
      )
      torrents.set(infoHash, session)
      try {
        await session.start()
      } catch (err) {
        torrents.delete(infoHash)
        await session.stop().catch(() => {})
        throw err
      }
      // after the caller's `await add()` has attached its listeners
      if (dhtOpts !== undefined && dhtError !== undefined) setImmediate(() => session.emit('warning', dhtError!))
      return session
    },
    async remove(infoHash) {
      const key = infoHash.toLowerCase()
      const t = torrents.get(key)
      if (t === undefined) throw swarmError('torrentUnknown', `no torrent ${key} in this client`, { infoHash: key })
      torrents.delete(key)
      await t.stop()
    },
    get(infoHash) {
      return torrents.get(infoHash.toLowerCase())
    },
  }
}
