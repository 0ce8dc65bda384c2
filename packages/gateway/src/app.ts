/**
 * The gateway's HTTP app, built by `buildGatewayApp(opts)` apart from listening (fastify's
 * pattern: tests call `app.inject()` or listen on port 0). Limits an edge needs: headers bounded
 * in size (431) and time (slow-loris clients get 408), concurrent requests bounded (503), piece
 * bytes in flight bounded (responses wait). Errors answer `{ code, message }` with the status of
 * their code. OpenAPI 3.1 is generated from the route schemas at `/openapi.json`. With an admin
 * token, `POST /admin/torrents` adds content (bearer token, never behind signed URLs).
 */
import http from 'node:http'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import { BitcdnError } from '@bitcdn/core'
import type { ContentRegistry } from './content-registry.js'
import { GatewayErrorCode, STATUS_OF, gatewayError } from './errors.js'
import type { ByteBudget } from './fetch/byte-budget.js'
import type { PieceSource } from './fetch/piece-source.js'
import type { GatewayMetrics } from './metrics.js'
import { contentRoutes } from './routes/content.js'
import { adminRoutes } from './routes/admin.js'
import { opsRoutes } from './routes/ops.js'
import { SequentialReaders } from './serve/sequential-readers.js'
import { checkSignedUrl } from './signed-url.js'
import type { PieceCache } from './cache/piece-cache.js'
import { pullZoneRoutes, type PullZoneComponents, type PullZoneInit } from './pull/pull-zone.js'

/** Operations routes, never behind signed URLs (monitoring must reach them). */
const OPS_PATHS = new Set(['/metrics', '/healthz', '/openapi.json'])

export interface GatewayAppOptions {
  content: ContentRegistry
  pieces: PieceSource
  budget: ByteBudget
  metrics: GatewayMetrics
  /** pino logger (JSON lines). @default fastify's default pino logger off */
  logger?: FastifyBaseLogger
  /** Requests answered at once; more get 503. @default 1024 */
  maxConcurrentRequests?: number
  /** Request headers larger than this get 431, bytes. @default 16384 */
  maxHeaderBytes?: number
  /** A client must send its headers within this, ms (slow loris: 408). @default 10000 */
  headersTimeoutMs?: number
  /** Pieces a response fetches at once. @default 4 */
  parallelPieces?: number
  /** Pieces prefetched beyond a sequential reader's range. @default 4 */
  readAheadPieces?: number
  /** HMAC key for signed URLs; when set, every content and pull-zone route needs a valid token. @default none */
  signingKey?: string
  /** Bearer token of the admin routes (`POST /admin/torrents`); none: no admin routes. At least 16 characters. @default none */
  adminToken?: string
  /** Called before each metrics scrape (to refresh gauges). */
  beforeScrape?: () => void
  /** The piece cache (the pull zone keeps its object index in its database). */
  cache?: PieceCache
  /** Serve a pull zone in front of this origin on every path outside `/t/`. */
  pullZone?: PullZoneInit & { onPublish?: PullZoneComponents['onPublish'] }
  /** Routes added after the content routes (the pull zone's catch-all). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>
}

/**
 * @example
 * const app = await buildGatewayApp({ content, pieces, budget, metrics })
 * await app.listen({ host: '127.0.0.1', port: 8080 })
 */
export async function buildGatewayApp(opts: GatewayAppOptions): Promise<FastifyInstance> {
  const maxConcurrent = opts.maxConcurrentRequests ?? 1024
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger,
    return503OnClosing: true,
    serverFactory: (handler) =>
      http.createServer(
        {
          maxHeaderSize: opts.maxHeaderBytes ?? 16 * 1024,
          headersTimeout: opts.headersTimeoutMs ?? 10_000,
          requestTimeout: (opts.headersTimeoutMs ?? 10_000) * 3,
          // how often Node looks for clients past those timeouts (its default is 30 s)
          connectionsCheckingInterval: Math.min(1000, opts.headersTimeoutMs ?? 10_000),
        },
        handler,
      ),
  }) as unknown as FastifyInstance
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'BitCDN gateway', version: '0.1.0', description: 'Content-addressed and pull-zone HTTP routes served from the BitTorrent swarm, a piece cache and the origin.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The gateway admin token (admin routes only)' } } },
    },
  })
  let inflight = 0
  app.addHook('onRequest', async (req, reply) => {
    if (inflight >= maxConcurrent) {
      opts.metrics.errors.inc({ kind: 'overloaded' })
      reply.header('retry-after', '1')
      throw gatewayError('overloaded', `more than ${maxConcurrent} requests at once; retry shortly`, { maxConcurrent })
    }
    inflight++
    opts.metrics.inflightRequests.set(inflight)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      inflight--
      opts.metrics.inflightRequests.set(inflight)
    }
    reply.raw.once('close', finish)
    reply.raw.once('finish', finish)
    const path = req.url.split('?')[0]!
    // admin routes have their own bearer token
    if (opts.signingKey !== undefined && !OPS_PATHS.has(path) && !(opts.adminToken !== undefined && path.startsWith('/admin/'))) checkSignedUrl(opts.signingKey, req.url, Date.now())
  })
  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.requests.inc({ route: req.routeOptions.url ?? 'none', status: String(reply.statusCode) })
  })
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const code = (err as { code?: string }).code
    if (err instanceof BitcdnError || (typeof code === 'string' && code.startsWith('BITCDN_ERR_'))) {
      const status = STATUS_OF[code as GatewayErrorCode] ?? 500
      if (status >= 500) req.log.warn({ code, err: err.message, url: req.url }, 'request failed')
      opts.metrics.errors.inc({ kind: code!.replace('BITCDN_ERR_', '').toLowerCase() })
      return reply.code(status).send({ code, message: err.message })
    }
    if ((err as { validation?: unknown }).validation !== undefined) {
      return reply.code(400).send({ code: GatewayErrorCode.badPath, message: err.message })
    }
    req.log.error({ err: err.message, url: req.url }, 'unexpected error')
    opts.metrics.errors.inc({ kind: 'internal' })
    return reply.code(500).send({ code: 'BITCDN_ERR_GATEWAY_INTERNAL', message: 'internal error' })
  })
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: GatewayErrorCode.notFound, message: `no route ${req.method} ${req.url.split('?')[0]}` }))
  const serve = {
    pieces: opts.pieces,
    budget: opts.budget,
    metrics: opts.metrics,
    sequential: new SequentialReaders(),
    logger: app.log,
    parallelPieces: opts.parallelPieces ?? 4,
    readAheadPieces: opts.readAheadPieces ?? 4,
  }
  await app.register(contentRoutes, { ...serve, content: opts.content })
  await app.register(opsRoutes, { metrics: opts.metrics, beforeScrape: opts.beforeScrape })
  if (opts.adminToken !== undefined) {
    const token = opts.adminToken
    await app.register(async (scope) => adminRoutes(scope, { content: opts.content, token }))
  }
  if (opts.pullZone !== undefined) {
    if (opts.cache === undefined) throw gatewayError('config', 'a pull zone needs the piece cache')
    const { onPublish, ...pullInit } = opts.pullZone
    const cache = opts.cache
    await app.register(async (scope) => pullZoneRoutes(scope, pullInit, { ...serve, content: opts.content, cache, onPublish }))
  }
  if (opts.extraRoutes !== undefined) await opts.extraRoutes(app)
  return app
}
