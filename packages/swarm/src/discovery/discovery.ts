/**
 * Peer discovery for one torrent: trackers (HTTP, HTTPS, UDP), the mainline DHT and peers given
 * by hand, merged into one stream of `'peer'` events. Addresses are normalised and deduplicated,
 * and our own address never comes back to us. Every failure of a source is a `'warning'` (a dead
 * tracker must not stop a torrent that has other sources); nothing here emits `'error'`.
 */
import { PEER_ID_PREFIX } from '../peer-id.js'
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Client as Dht } from 'bittorrent-dht'
import { silentLogger, systemClock, type BitcdnError, type Clock, type Logger } from '@bitcdn/core'
import { trackerError } from '../tracker/errors.js'
import { DhtAnnouncer } from './dht-announcer.js'
import { startDhtNode } from './dht-node.js'
import { discoveryError } from './errors.js'
import { hostOf, localHosts, normalizePeerAddress, portOf } from './peer-address.js'
import { TrackerAnnouncer, type AnnounceStats, type TrackerAnnounceResult } from './tracker-announcer.js'

/** Options for a DHT node discovery creates itself (when none is injected). */
export interface DiscoveryDhtOptions {
  /** UDP port of the DHT node. @default the torrent's `port` */
  port?: number
  /** Address to bind. @default all interfaces */
  host?: string
  /** Bootstrap nodes `host:port`; `false` to start alone. @default the public routers */
  bootstrap?: string[] | false
}

export interface DiscoveryInit {
  /** The torrent's info-hash, 40 hex characters. */
  infoHash: string
  /** Our peer id (40 hex characters, or 20 raw characters): the one our wire handshakes with. @default random '-XB0100-…' */
  peerId?: string
  /** Tracker URLs (http, https, udp). Others are reported as warnings and skipped. */
  announce: string[]
  /** Our BitTorrent listening port (TCP), announced everywhere. */
  port: number
  /** Use the mainline DHT. Off by default; keep it off for private torrents (BEP 27). @default false */
  dht?: boolean | DiscoveryDhtOptions
  /** Peers known in advance (`host:port`), e.g. from a magnet's `x.pe`. */
  peers?: string[]
  /** Bytes still missing at start (so trackers count us as seeder or leecher). @default unknown */
  left?: number
  /** Peers asked of each tracker per announce. @default 50 */
  numwant?: number
  /** A peer already reported is reported again only after this long, in ms. @default 300000 */
  rediscoverMs?: number
  /** DHT re-announce period, in ms. @default 900000 */
  dhtIntervalMs?: number
}

export interface DiscoveryComponents {
  /**
   * A DHT node shared by all torrents (see `startDhtNode`; not destroyed by `stop()`). Used when
   * `init.dht` is truthy, instead of creating a node (whose options are then ignored).
   */
  dht?: Dht
  logger?: Logger
  clock?: Clock
}

export interface DiscoveryEvents {
  /** A peer to try, `host:port` (IPv6 in brackets). */
  peer: [addr: string]
  /** A source failed; discovery goes on. Codes: `BITCDN_ERR_TRACKER_*`, `BITCDN_ERR_DHT`. */
  warning: [err: BitcdnError]
  /** A tracker answered an announce. */
  tracker: [result: TrackerAnnounceResult]
}

export interface Discovery extends EventEmitter<DiscoveryEvents> {
  /** Announce `started` to trackers, join the DHT, report hand-given peers. */
  start(): Promise<void>
  /** Announce `stopped`, release sockets (and the DHT node if discovery created it). */
  stop(): Promise<void>
  /**
   * Record transfer totals for the next announces (periodic ones included). Does not announce
   * by itself: trackers set the pace.
   */
  update(stats: { uploaded: number; downloaded: number; left: number }): void
  /** Announce `completed` (left = 0) to every tracker. */
  complete(): void
  /** Add peers from elsewhere (PEX, a user); they go through the same dedup and self-filter. */
  addPeers(addrs: Iterable<string>): void
  /** Announce to every source now. */
  refresh(): void
  readonly peerId: string
}

const HEX40 = /^[0-9a-f]{40}$/i

/**
 * Create discovery for one torrent (not started).
 * @throws BitcdnError `BITCDN_ERR_DISCOVERY_INVALID` for a bad info-hash, peer id or port.
 * @example
 * const d = createDiscovery({ infoHash, announce: meta.announce, port: 6881 })
 * d.on('peer', (addr) => session.connect(addr))
 * d.on('warning', (err) => log.warn({ code: err.code }, err.message))
 * await d.start()
 */
export function createDiscovery(init: DiscoveryInit, components: DiscoveryComponents = {}): Discovery {
  const infoHash = init.infoHash.toLowerCase()
  if (!HEX40.test(infoHash)) throw discoveryError('invalid', `info-hash must be 40 hex characters: '${init.infoHash}'`, { infoHash: init.infoHash })
  if (!Number.isInteger(init.port) || init.port < 1 || init.port > 65535) {
    throw discoveryError('invalid', `port must be 1-65535: ${init.port}`, { port: init.port })
  }
  const peerId = toPeerIdHex(init.peerId)
  const log = (components.logger ?? silentLogger).child({ component: 'discovery', infoHash })
  const clock = components.clock ?? systemClock
  const rediscoverMs = init.rediscoverMs ?? 300_000
  const self = new EventEmitter<DiscoveryEvents>()
  const seen = new Map<string, number>()
  const ownHosts = localHosts()
  const stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: init.left }
  const trackers: TrackerAnnouncer[] = []
  let dhtAnnouncer: DhtAnnouncer | undefined
  let ownedDht: Dht | undefined
  let state: 'new' | 'started' | 'stopped' = 'new'

  const warn = (err: BitcdnError): void => {
    log.debug({ code: err.code, err: err.message }, 'discovery warning')
    if (state === 'started') self.emit('warning', err)
  }

  function offer(raw: string): void {
    if (state !== 'started') return
    const addr = normalizePeerAddress(raw)
    if (!addr) return
    if (portOf(addr) === init.port && ownHosts.has(hostOf(addr))) return
    const now = clock.now()
    const last = seen.get(addr)
    if (last !== undefined && now - last < rediscoverMs) return
    seen.set(addr, now)
    if (seen.size > 10_000) for (const [a, t] of seen) if (now - t >= rediscoverMs) seen.delete(a)
    self.emit('peer', addr)
  }

  const announceStats = (): AnnounceStats =>
    stats.left === undefined ? { uploaded: stats.uploaded, downloaded: stats.downloaded } : { ...stats }

  async function startDht(): Promise<Dht | undefined> {
    // private torrents (BEP 27) pass dht: false and must stay off even a shared node
    if (!init.dht) return undefined
    if (components.dht) return components.dht
    const o: DiscoveryDhtOptions = typeof init.dht === 'object' ? init.dht : {}
    let dht: Dht
    try {
      dht = await startDhtNode({ port: o.port ?? init.port, host: o.host, bootstrap: o.bootstrap })
    } catch (err) {
      warn(err as BitcdnError)
      return undefined
    }
    // an unhandled 'error' would crash the process; a broken DHT is a warning
    dht.on('error', (err: Error) => warn(discoveryError('dht', `DHT failed: ${err.message}`, {}, err)))
    dht.on('warning', (err: Error) => log.debug({ err: err.message }, 'dht warning'))
    ownedDht = dht
    return dht
  }

  async function start(): Promise<void> {
    if (state !== 'new') return
    state = 'started'
    for (const url of new Set(init.announce)) {
      let proto: string
      try {
        proto = new URL(url).protocol
      } catch {
        proto = 'invalid'
      }
      if (proto !== 'http:' && proto !== 'https:' && proto !== 'udp:') {
        queueMicrotask(() => warn(trackerError('urlInvalid', `tracker URL skipped (only http, https and udp are supported): ${url}`, { tracker: url })))
        continue
      }
      const t = new TrackerAnnouncer({ announceUrl: url, infoHash, peerId, port: init.port, numwant: init.numwant, stats: announceStats })
      t.on('peer', offer)
      t.on('warning', warn)
      t.on('announced', (r) => self.emit('tracker', r))
      trackers.push(t)
      t.start()
    }
    for (const p of init.peers ?? []) {
      if (normalizePeerAddress(p)) offer(p)
      else queueMicrotask(() => warn(discoveryError('invalid', `peer address skipped (want host:port): '${p}'`, { peer: p })))
    }
    const dht = await startDht()
    if (dht && state === 'started') {
      dhtAnnouncer = new DhtAnnouncer({ dht, infoHash, port: init.port, intervalMs: init.dhtIntervalMs })
      dhtAnnouncer.on('peer', offer)
      dhtAnnouncer.on('warning', warn)
      dhtAnnouncer.start()
    }
  }

  async function stop(): Promise<void> {
    if (state !== 'started') {
      state = 'stopped'
      return
    }
    state = 'stopped'
    dhtAnnouncer?.stop()
    await Promise.all(trackers.map((t) => t.stop()))
    if (ownedDht) {
      const d = ownedDht
      ownedDht = undefined
      await new Promise<void>((resolve) => d.destroy(() => resolve()))
    }
  }

  return Object.assign(self, {
    peerId,
    start,
    stop,
    update(s: { uploaded: number; downloaded: number; left: number }) {
      stats.uploaded = s.uploaded
      stats.downloaded = s.downloaded
      stats.left = s.left
    },
    complete() {
      stats.left = 0
      if (state === 'started') for (const t of trackers) t.completed()
    },
    addPeers(addrs: Iterable<string>) {
      for (const a of addrs) offer(a)
    },
    refresh() {
      if (state !== 'started') return
      for (const t of trackers) t.update()
      dhtAnnouncer?.refresh()
    },
  })
}

function toPeerIdHex(peerId: string | undefined): string {
  if (peerId === undefined) return Buffer.concat([Buffer.from(PEER_ID_PREFIX), randomBytes(12)]).toString('hex')
  if (HEX40.test(peerId)) return peerId.toLowerCase()
  if (Buffer.byteLength(peerId, 'latin1') === 20 && peerId.length === 20) return Buffer.from(peerId, 'latin1').toString('hex')
  throw discoveryError('invalid', 'peer id must be 40 hex characters or 20 raw characters', { peerId })
}
