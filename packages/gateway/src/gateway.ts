/**
 * The `bitcdn gateway` service: a swarm client (torrents on demand), the piece cache, the piece
 * source (cache → swarm → origin hedge) and the HTTP app, started and stopped together.
 * `createGateway(init)` → `(components) => Gateway`.
 */
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import pino from 'pino'
import type { Metainfo } from '@bitcdn/content'
import { createOriginPool, createSwarmClient, type SwarmClient, type SwarmClientComponents, type SwarmClientInit, type Torrent } from '@bitcdn/swarm'
import { buildGatewayApp, type GatewayAppOptions } from './app.js'
import { openPieceCache, type PieceCache } from './cache/piece-cache.js'
import { createContentRegistry, type AddContentOptions, type ContentRegistry } from './content-registry.js'
import { ByteBudget } from './fetch/byte-budget.js'
import { createPieceSource, type PieceSourceInit } from './fetch/piece-source.js'
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js'
import { createPinRequests, type PinRequests, type PinRequestsComponents, type PinRequestsInit } from './publish/pin-requests.js'

export interface GatewayInit extends PieceSourceInit, Pick<GatewayAppOptions, 'maxConcurrentRequests' | 'maxHeaderBytes' | 'headersTimeoutMs' | 'parallelPieces' | 'readAheadPieces' | 'signingKey' | 'adminToken'> {
  /** HTTP address. @default '127.0.0.1' */
  host?: string
  /** HTTP port; 0 picks one. @default 8080 */
  port?: number
  /** Piece cache directory. */
  cacheDir: string
  /** Piece cache size limit, bytes. @default 10 GiB */
  cacheMaxBytes?: number
  /** Recently used pieces also held in memory, bytes. @default `defaultCacheMemoryBytes()` (1/8 of RAM, at most 1 GiB) */
  cacheMemoryBytes?: number
  /** Piece bytes held for responses at once, bytes. @default 256 MiB */
  maxBytesInFlight?: number
  /** The swarm client's options (port, host, limits, state dir). */
  swarm?: SwarmClientInit
  /**
   * Pull zone: every path outside `/t/` maps to this origin (`https://www.example.com`), objects
   * become torrents as the origin's caching rules allow. @default none
   */
  origin?: string
  /** Pull-zone objects larger than this are only passed through, bytes. @default 4 GiB */
  maxObjectBytes?: number
  /** Put a new pull-zone object's pieces into the cache at once. @default true */
  warmCache?: boolean
  /** Peers, trackers and origins every torrent gets. */
  defaults?: AddContentOptions
  /**
   * Pull zone: who is asked to pin a new torrent (hub catalogues, operator nodes by admin API).
   * Catalogue announcements need `publisher` and `signCatalogue` components. @default nobody
   */
  pinRequests?: PinRequestsInit
}

export interface GatewayComponents {
  logger?: FastifyBaseLogger
  /**
   * Collaborators of the swarm client: the market buyer plugs in here (its wire extension and
   * choke policy), so "the swarm" the piece source asks includes paid nodes.
   */
  swarm?: SwarmClientComponents
  /**
   * The market buyer (`createPaidBuyer` from @bitcdn/market): its wire extension and request
   * limits go into the swarm client, every torrent is tracked so verified bytes are paid for,
   * under its maximum price and budget. Without one the gateway downloads from free peers only.
   */
  buyer?: PieceBuyer
  metrics?: GatewayMetrics
  /** A pull-zone object became a torrent (after the pin requests are sent). */
  onPublish?: (metainfo: Metainfo, url: string) => void
  /** The gateway's address, publisher of its catalogue entries. */
  publisher?: string
  /** Signs a hub catalogue entry with the publisher's key (the hub's `signCatalogueEntry`). */
  signCatalogue?: PinRequestsComponents['sign']
  /** Routes added after the content routes. */
  extraRoutes?: (app: FastifyInstance, gateway: Gateway) => Promise<void>
}

/** What the gateway needs of a paid buyer (the market's `PaidBuyer` is one). */
export interface PieceBuyer {
  readonly swarm: Pick<SwarmClientComponents, 'extendWire' | 'requestLimit'>
  track(torrent: Torrent): void
  on(event: 'paid', fn: (payee: string, cumulative: bigint, increment: bigint) => void): unknown
}

export interface Gateway {
  start(): Promise<void>
  stop(): Promise<void>
  /** HTTP base URL once listening (`http://127.0.0.1:8080`). */
  readonly url: string
  readonly app: FastifyInstance
  readonly content: ContentRegistry
  readonly cache: PieceCache
  readonly swarm: SwarmClient
  readonly metrics: GatewayMetrics
}

/**
 * @example
 * const gw = createGateway({ cacheDir: '/var/cache/bitcdn', port: 8080 })({ logger: pino() })
 * await gw.start()
 * await gw.content.add(await readFile('site.torrent'))
 */
export function createGateway(init: GatewayInit): (components?: GatewayComponents) => Gateway {
  return (components = {}) => {
    const metrics = components.metrics ?? createGatewayMetrics()
    const log = components.logger ?? (pino({ level: 'silent' }) as unknown as FastifyBaseLogger)
    let swarm: SwarmClient | undefined
    let cache: PieceCache | undefined
    let content: ContentRegistry | undefined
    let app: FastifyInstance | undefined
    let url = ''
    const origins = createOriginPool({ maxConnectionsPerOrigin: 16 })
    const need = <T>(v: T | undefined): T => {
      if (v === undefined) throw new Error('the gateway is not started')
      return v
    }
    const gw: Gateway = {
      get url() {
        return url
      },
      get app() {
        return need(app)
      },
      get content() {
        return need(content)
      },
      get cache() {
        return need(cache)
      },
      get swarm() {
        return need(swarm)
      },
      metrics,
      async start() {
        const c = openPieceCache({ dir: init.cacheDir, maxBytes: init.cacheMaxBytes, memoryBytes: init.cacheMemoryBytes }, { onEvict: (ih, i) => swarm?.get(ih)?.dropPiece(i) })
        cache = c
        // a buyer, not a seeder: pieces may leave the cache at any moment, so none are uploaded
        swarm = createSwarmClient(init.swarm ?? {}, { uploadGate: () => false, ...components.buyer?.swarm, ...components.swarm })
        components.buyer?.on('paid', (_payee, _cumulative, increment) => metrics.spend.inc(Number(increment)))
        await swarm.start()
        content = createContentRegistry(swarm, c, init.defaults, { onAdded: (t) => components.buyer?.track(t) })
        await content.restore()
        // made once listening: the gateway's own URL is the default public URL of its .torrent files
        let pins: PinRequests | undefined
        const onPublish = (m: Metainfo, u: string) => {
          void pins?.request(m, u)
          components.onPublish?.(m, u)
        }
        const pieces = createPieceSource(init, { cache: c, metrics, logger: components.logger, agent: (u) => origins.agent(new URL(u).origin) })
        app = await buildGatewayApp({
          ...init,
          content,
          pieces,
          budget: new ByteBudget(init.maxBytesInFlight ?? 256 * 2 ** 20),
          metrics,
          cache: c,
          pullZone:
            init.origin === undefined
              ? undefined
              : { origin: init.origin, tmpDir: join(init.cacheDir, 'pull-tmp'), maxObjectBytes: init.maxObjectBytes, warmCache: init.warmCache, announce: init.defaults?.announce, onPublish },
          beforeScrape: () => {
            metrics.cacheBytes.set(c.bytes)
            metrics.peers.set(swarm?.torrents.reduce((n, t) => n + t.stats().peers, 0) ?? 0)
          },
          logger: components.logger,
          extraRoutes: components.extraRoutes === undefined ? undefined : (a) => components.extraRoutes!(a, gw),
        })
        const host = init.host ?? '127.0.0.1'
        await app.listen({ host, port: init.port ?? 8080 })
        const addr = app.server.address()
        const port = typeof addr === 'object' && addr !== null ? addr.port : 0
        url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
        if (init.pinRequests !== undefined) {
          const wildcard = host === '0.0.0.0' || host === '::'
          pins = createPinRequests({ trackers: init.defaults?.announce, ...init.pinRequests, publicUrl: init.pinRequests.publicUrl ?? (wildcard ? undefined : url) })({ publisher: components.publisher, sign: components.signCatalogue, logger: log, counter: metrics.pinRequests })
        }
      },
      async stop() {
        await app?.close()
        await swarm?.stop()
        origins.destroy()
        await cache?.close()
        app = undefined
        swarm = undefined
        cache = undefined
      },
    }
    return gw
  }
}
