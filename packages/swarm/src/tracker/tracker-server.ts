/**
 * A BitTorrent tracker (BEP 3 HTTP announce, BEP 15 UDP announce, BEP 23 compact peers, scrape)
 * for BitCDN deployments that run their own: a CDN seeds its catalogue and points clients here.
 * Wraps `bittorrent-tracker/server`: loopback by default, an optional info-hash allow-list,
 * per-torrent stats for the hub, clean listen errors, and (opt-in) WebSocket announces — the
 * WebTorrent tracker protocol (JSON messages, WebRTC offers relayed between peers) on the same
 * port as HTTP, as an upgrade of the HTTP server.
 */
import { EventEmitter } from 'node:events'
import { isIPv6, type AddressInfo } from 'node:net'
import Server from 'bittorrent-tracker/server'
import { BitcdnError, silentLogger, type Logger } from '@bitcdn/core'
import { trackerError } from './errors.js'

export interface TrackerServerInit {
  /** Address to bind. @default '127.0.0.1' */
  host?: string
  /** Port for both HTTP (TCP) and UDP; 0 picks a free one for each. @default 0 */
  port?: number
  /** Overrides `port` for HTTP. */
  httpPort?: number
  /** Overrides `port` for UDP. */
  udpPort?: number
  /** Serve HTTP announce/scrape. @default true */
  http?: boolean
  /** Serve UDP announce/scrape (BEP 15). @default true */
  udp?: boolean
  /**
   * Serve WebSocket announces (WebTorrent's protocol) on the HTTP port, so browsers can join
   * swarms. Needs `http`. @default false
   */
  ws?: boolean
  /** Announce interval told to clients, in ms. @default 600000 (10 min) */
  intervalMs?: number
  /** Only these info-hashes (hex) may be announced; others get a failure reason. @default all */
  allowInfoHashes?: Iterable<string>
  /**
   * Custom filter, after the allow-list: return false (or a reason string) to refuse an
   * announce. May be async.
   */
  filter?: (infoHash: string) => boolean | string | Promise<boolean | string>
  /** Trust `X-Forwarded-For` (only behind your own reverse proxy). @default false */
  trustProxy?: boolean
}

export interface TrackerServerComponents {
  logger?: Logger
}

/** Swarm counts of one torrent. */
export interface TrackerTorrentStats {
  infoHash: string
  /** Peers known (both kinds). */
  peers: number
  seeders: number
  leechers: number
}

export interface TrackerStats {
  torrents: number
  peers: number
  seeders: number
  leechers: number
  byInfoHash: TrackerTorrentStats[]
}

/** Events: `'warning'` (err) for bad client requests and socket errors after start. */
export interface TrackerServer extends EventEmitter<{ warning: [err: Error] }> {
  /**
   * Bind the sockets.
   * @throws BitcdnError `BITCDN_ERR_PORT_IN_USE`, `BITCDN_ERR_TRACKER_LISTEN`.
   */
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port/announce` once started (undefined if HTTP is off or not started). */
  readonly httpUrl: string | undefined
  /** `udp://host:port` once started (undefined if UDP is off or not started). */
  readonly udpUrl: string | undefined
  /** `ws://host:port` once started (undefined if WebSocket is off or not started). */
  readonly wsUrl: string | undefined
  stats(): TrackerStats
}

/**
 * bittorrent-tracker hands an HTTP or UDP announcer its own address back (it leaves out only
 * WebRTC peers). transmission keeps one peer per IP address, so a transmission that learns itself
 * first dials itself, drops the connection and never tries a seeder on the same host.
 */
function excludeSelfFromPeerLists(server: Server): void {
  const createSwarm = server.createSwarm.bind(server)
  server.createSwarm = (infoHash, cb) =>
    createSwarm(infoHash, (err, swarm) => {
      if (swarm) {
        const getPeers = swarm._getPeers.bind(swarm)
        swarm._getPeers = (numwant, ownPeerId, isWebRTC) =>
          getPeers(numwant + 1, ownPeerId, isWebRTC)
            .filter((peer) => peer.peerId !== ownPeerId)
            .slice(0, numwant)
      }
      cb(err, swarm)
    })
}

/**
 * Create a tracker server (not yet listening).
 * @example
 * const tracker = createTrackerServer({ port: 8000 })
 * await tracker.start()
 * console.log(tracker.httpUrl, tracker.udpUrl) // http://127.0.0.1:8000/announce udp://127.0.0.1:8000
 * await tracker.stop()
 */
export function createTrackerServer(init: TrackerServerInit = {}, components: TrackerServerComponents = {}): TrackerServer {
  const host = init.host ?? '127.0.0.1'
  const log = (components.logger ?? silentLogger).child({ component: 'tracker-server' })
  const allow = init.allowInfoHashes ? new Set([...init.allowInfoHashes].map((h) => h.toLowerCase())) : undefined
  const useHttp = init.http !== false
  const useUdp = init.udp !== false
  const useWs = init.ws === true && useHttp
  let server: Server | undefined
  let httpUrl: string | undefined
  let udpUrl: string | undefined
  let wsUrl: string | undefined
  // open WebSocket peers: an upgraded socket is no longer an HTTP connection, so
  // closeAllConnections() misses it and it would hold the HTTP server's close() open
  const wsSockets = new Set<{ terminate(): void; once(ev: 'close', cb: () => void): unknown }>()
  const urlHost = host.includes(':') ? `[${host}]` : host

  const filter = allow || init.filter
    ? (infoHash: string, _params: Record<string, unknown>, cb: (err?: Error | null) => void): void => {
        if (allow && !allow.has(infoHash)) return cb(new Error('torrent not allowed on this tracker'))
        if (!init.filter) return cb(null)
        Promise.resolve()
          .then(() => init.filter?.(infoHash))
          .then(
            (ok) => cb(ok === true || ok === undefined ? null : new Error(typeof ok === 'string' ? ok : 'torrent not allowed on this tracker')),
            (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
          )
      }
    : undefined

  const self = new EventEmitter<{ warning: [err: Error] }>() as TrackerServer

  function listenError(err: NodeJS.ErrnoException, proto: string, port: number): BitcdnError {
    if (err.code === 'EADDRINUSE') {
      return trackerError('portInUse', `tracker ${proto} port ${port} on ${host} is already in use`, { host, port, proto }, err)
    }
    return trackerError('listen', `tracker could not listen on ${proto} ${host}:${port}: ${err.message}`, { host, port, proto }, err)
  }

  async function start(): Promise<void> {
    if (server) return
    const s = new Server({
      http: useHttp,
      // reuseAddr (the library's default) would let a second tracker share the port silently
      udp: useUdp ? { reuseAddr: false } : false,
      ws: useWs,
      stats: false,
      interval: init.intervalMs ?? 600_000,
      trustProxy: init.trustProxy ?? false,
      ...(filter ? { filter } : {}),
    })
    excludeSelfFromPeerLists(s)
    // The library opens a udp4 and a udp6 socket and would bind both to our one host, which
    // fails for one of them; keep the socket of the host's family only.
    const v6 = isIPv6(host)
    const unused = v6 ? s.udp4 : s.udp6
    unused?.close()
    if (v6) s.udp4 = null
    else s.udp6 = null
    const warn = (err: Error): void => {
      log.debug({ err: err.message }, 'tracker warning')
      self.emit('warning', err)
    }
    s.on('warning', warn)
    s.on('error', warn)
    s.ws?.on('connection', (sock: { terminate(): void; once(ev: 'close', cb: () => void): unknown }) => {
      wsSockets.add(sock)
      sock.once('close', () => wsSockets.delete(sock))
    })
    try {
      const httpPort = init.httpPort ?? init.port ?? 0
      if (s.http) {
        const h = s.http
        await new Promise<void>((resolve, reject) => {
          const onErr = (err: NodeJS.ErrnoException): void => reject(listenError(err, 'http', httpPort))
          h.once('error', onErr)
          h.listen(httpPort, host, () => {
            h.off('error', onErr)
            resolve()
          })
        })
        const port = (h.address() as AddressInfo).port
        httpUrl = `http://${urlHost}:${port}/announce`
        if (useWs) wsUrl = `ws://${urlHost}:${port}`
      }
      const udpPort = init.udpPort ?? init.port ?? 0
      const udpSocket = s.udp4 ?? s.udp6
      if (udpSocket) {
        const u = udpSocket
        await new Promise<void>((resolve, reject) => {
          const onErr = (err: NodeJS.ErrnoException): void => reject(listenError(err, 'udp', udpPort))
          u.once('error', onErr)
          u.bind(udpPort, host, () => {
            u.off('error', onErr)
            resolve()
          })
        })
        udpUrl = `udp://${urlHost}:${u.address().port}`
      }
    } catch (err) {
      await new Promise<void>((resolve) => s.close(() => resolve()))
      httpUrl = udpUrl = wsUrl = undefined
      throw err
    }
    server = s
    log.info({ httpUrl, udpUrl, wsUrl }, 'tracker listening')
  }

  async function stop(): Promise<void> {
    const s = server
    if (!s) return
    server = undefined
    httpUrl = udpUrl = wsUrl = undefined
    // keep-alive announce connections and WebSocket peers would hold close() open
    s.http?.closeAllConnections()
    for (const sock of wsSockets) sock.terminate()
    wsSockets.clear()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  function stats(): TrackerStats {
    const byInfoHash: TrackerTorrentStats[] = []
    for (const [infoHash, swarm] of Object.entries(server?.torrents ?? {})) {
      byInfoHash.push({ infoHash, peers: swarm.peers.keys.length, seeders: swarm.complete, leechers: swarm.incomplete })
    }
    return {
      torrents: byInfoHash.length,
      peers: byInfoHash.reduce((n, t) => n + t.peers, 0),
      seeders: byInfoHash.reduce((n, t) => n + t.seeders, 0),
      leechers: byInfoHash.reduce((n, t) => n + t.leechers, 0),
      byInfoHash,
    }
  }

  Object.defineProperties(self, {
    httpUrl: { get: () => httpUrl, enumerable: true },
    udpUrl: { get: () => udpUrl, enumerable: true },
    wsUrl: { get: () => wsUrl, enumerable: true },
  })
  return Object.assign(self, { start, stop, stats })
}
