// Minimal types for bittorrent-tracker 11 (ships none): only the client and server surface the
// swarm's discovery and tracker modules use.
declare module 'bittorrent-tracker/client' {
  import { EventEmitter } from 'node:events'

  export interface TrackerClientOptions {
    /** 40-char hex or 20 raw bytes. */
    infoHash: string | Uint8Array
    peerId: string | Uint8Array
    announce: string | string[]
    port: number
    getAnnounceOpts?: () => Record<string, unknown>
    userAgent?: string
  }

  export interface AnnounceOptions {
    uploaded?: number
    downloaded?: number
    left?: number
    numwant?: number
  }

  export default class Client extends EventEmitter {
    constructor(opts: TrackerClientOptions)
    peerId: string
    infoHash: string
    destroyed: boolean
    start(opts?: AnnounceOptions): void
    stop(opts?: AnnounceOptions): void
    complete(opts?: AnnounceOptions): void
    update(opts?: AnnounceOptions): void
    scrape(opts?: { infoHash?: string | string[] }): void
    setInterval(intervalMs: number): void
    destroy(cb?: (err: Error | null) => void): void
  }
}

declare module 'bittorrent-tracker/server' {
  import { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  import type { Socket as UdpSocket } from 'node:dgram'

  export interface TrackerServerPeer {
    type: string
    complete: boolean
    peerId: string
    ip: string
    port: number
  }

  export interface TrackerSwarm {
    infoHash: string
    complete: number
    incomplete: number
    peers: { keys: string[]; peek(key: string): TrackerServerPeer | undefined }
    /** The library's peer list for an announce (the default Swarm's, not public API). */
    _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): TrackerServerPeer[]
  }

  export interface TrackerServerOptions {
    /** Announce interval told to clients, in ms. */
    interval?: number
    trustProxy?: boolean
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    filter?: (infoHash: string, params: Record<string, unknown>, cb: (err?: Error | null) => void) => void
    peersCacheLength?: number
    peersCacheTtl?: number
  }

  export default class Server extends EventEmitter {
    constructor(opts?: TrackerServerOptions)
    intervalMs: number
    torrents: Record<string, TrackerSwarm>
    http: HttpServer | null
    udp4: UdpSocket | null
    udp6: UdpSocket | null
    /** The WebSocket server (a `ws` WebSocketServer on `http`) when `ws` is on. */
    ws: EventEmitter | null
    listening: boolean
    destroyed: boolean
    listen(port?: number, hostname?: string, cb?: () => void): void
    /** Makes the swarm of a new info-hash; overridable (the library documents it as such). */
    createSwarm(infoHash: string, cb: (err: Error | null, swarm?: TrackerSwarm) => void): void
    close(cb?: (err?: Error | null) => void): void
  }
}
