/**
 * The hub's HTTP API (fastify): node registry, catalogue, network statistics (JSON, time series,
 * and a live Server-Sent Events stream), OpenAPI 3.1 at `/openapi.json` generated from the same
 * route schemas that validate. `buildHubApp(opts)` builds the app without listening (tests use
 * `inject()`).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import swagger from '@fastify/swagger'
import { HubErrorCode } from '../errors.js'
import { verifyRegistration, STALE_MS } from '../registry/registration.js'
import { verifyCatalogueEntry } from '../registry/catalogue.js'
import { PROBE_THRESHOLDS } from '../registry/prober.js'
import type { HubStore } from '../store/hub-store.js'
import { SERIES, type NetworkStats } from '../stats/network-stats.js'

export interface HubAppOptions {
  store: HubStore
  /** This hub network's id; registrations must name it. */
  hubId: string
  chainId?: number
  escrow?: string
  now?: () => number
  /** The current statistics (computed by the hub service). */
  stats: () => Promise<NetworkStats>
  /** Subscribe to fresh statistics (the SSE stream); returns an unsubscribe. */
  onStats?: (listener: (s: NetworkStats) => void) => () => void
  /** Announce URLs of the hub's tracker, shown in `/api/v1/info`. */
  trackers?: () => string[]
  /** Largest request body. @default 65536 */
  bodyLimit?: number
  logger?: boolean
}

/** HTTP status for each hub error code a client can cause. */
const STATUS: Record<string, number> = {
  [HubErrorCode.messageInvalid]: 400,
  [HubErrorCode.signatureMismatch]: 401,
  [HubErrorCode.wrongNetwork]: 403,
  [HubErrorCode.replayed]: 409,
  [HubErrorCode.nodeUnknown]: 404,
  [HubErrorCode.store]: 503,
}

const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const
const signedBody = {
  type: 'object',
  required: ['fields', 'signature'],
  properties: { fields: { type: 'object', additionalProperties: true }, signature: { type: 'string' } },
} as const
const nodeSchema = {
  type: 'object',
  properties: {
    payee: { type: 'string' },
    endpoint: { type: 'string' },
    pricePerGiB: { type: 'string', description: 'token base units per GiB' },
    token: { type: 'string' },
    chainId: { type: 'integer' },
    escrow: { type: 'string' },
    region: { type: 'string' },
    capacityBytesPerSec: { type: 'integer' },
    version: { type: 'string' },
    servedBytes: { type: 'string' },
    pinned: { type: 'array', items: { type: 'string' } },
    timestamp: { type: 'integer' },
    firstSeen: { type: 'integer' },
    lastSeen: { type: 'integer' },
    online: { type: 'boolean' },
    probe: {
      type: ['object', 'null'],
      properties: {
        at: { type: 'integer' },
        reachable: { type: 'boolean' },
        handshake: { type: 'boolean' },
        paid: { type: 'boolean' },
        latencyMs: { type: 'integer' },
        detail: { type: 'string' },
      },
    },
  },
} as const
const catalogueEntrySchema = {
  type: 'object',
  required: ['publisher', 'infoHash', 'name', 'description', 'length', 'magnet', 'hub', 'timestamp', 'signature'],
  properties: {
    publisher: { type: 'string' },
    infoHash: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    length: { type: 'string', description: 'total bytes of the content' },
    magnet: { type: 'string' },
    hub: { type: 'string' },
    timestamp: { type: 'integer' },
    signature: { type: 'string' },
    receivedAt: { type: 'integer' },
  },
} as const
const statsSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    at: { type: 'integer' },
    nodesOnline: { type: 'integer' },
    catalogueEntries: { type: 'integer' },
    trackerTorrents: { type: 'integer' },
    trackerPeers: { type: 'integer' },
    bytesServedReported: { type: 'string' },
    bytesServedProven: { type: 'string' },
    deposited: { type: 'string' },
    claimed: { type: 'string' },
    prices: { type: 'array', items: { type: 'string' } },
  },
} as const

/**
 * @example const app = await buildHubApp({ store, hubId: 'devnet', stats: () => computeStats(...) }); await app.listen({ port: 8080 })
 */
export async function buildHubApp(opts: HubAppOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 65_536 })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'BitCDN hub API', version: '1', description: 'Node registry, content catalogue and network statistics of a BitCDN hub.' },
    },
  })
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: unknown }, _req, reply) => {
    const code = err.code && STATUS[err.code] ? err.code : undefined
    if (code) return reply.status(STATUS[code]!).send({ code, message: err.message })
    if (err.validation) return reply.status(400).send({ code: HubErrorCode.messageInvalid, message: err.message })
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    return reply.status(status).send({ code: status === 500 ? 'BITCDN_ERR_INTERNAL' : 'BITCDN_ERR_HTTP_REQUEST', message: status === 500 ? 'internal error' : err.message })
  })

  const nodeView = async (payee: string) => {
    const rec = await opts.store.getNode(payee)
    if (!rec) return undefined
    const probe = (await opts.store.getProbe(payee)) ?? null
    return { ...rec.fields, firstSeen: rec.firstSeen, lastSeen: rec.lastSeen, online: rec.lastSeen >= now() - STALE_MS, probe }
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  app.get('/api/v1/info', {
    schema: {
      summary: 'What this hub serves',
      response: { 200: { type: 'object', properties: { hub: { type: 'string' }, chainId: { type: 'integer' }, escrow: { type: 'string' }, trackers: { type: 'array', items: { type: 'string' } }, staleAfterMs: { type: 'integer' }, probeThresholds: { type: 'object', additionalProperties: true } } } },
    },
  }, async () => ({ hub: opts.hubId, chainId: opts.chainId, escrow: opts.escrow, trackers: opts.trackers?.() ?? [], staleAfterMs: STALE_MS, probeThresholds: PROBE_THRESHOLDS }))

  app.post('/api/v1/nodes', {
    schema: {
      summary: 'Register or refresh a node (signed by its payout key, EIP-191)',
      body: signedBody,
      response: { 201: nodeSchema, 200: nodeSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    const reg = await verifyRegistration(req.body, { hub: opts.hubId, chainId: opts.chainId, escrow: opts.escrow, now: now() })
    const r = await opts.store.upsertNode(reg.fields, reg.signature, now())
    if (r === 'stale') return reply.status(409).send({ code: HubErrorCode.replayed, message: `registration of ${reg.fields.payee} is not newer than the one held (replayed or out of order)` })
    return reply.status(r === 'inserted' ? 201 : 200).send(await nodeView(reg.fields.payee))
  })

  app.get('/api/v1/nodes', {
    schema: {
      summary: 'Nodes online (registered within the stale window)',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: { type: 'object', properties: { nodes: { type: 'array', items: nodeSchema } } } },
    },
  }, async (req) => {
    const { limit } = req.query as { limit: number }
    const recs = await opts.store.listNodes(now() - STALE_MS, limit)
    const nodes = await Promise.all(recs.map(async (r) => ({ ...r.fields, firstSeen: r.firstSeen, lastSeen: r.lastSeen, online: true, probe: (await opts.store.getProbe(r.fields.payee)) ?? null })))
    return { nodes }
  })

  app.get('/api/v1/nodes/:payee', {
    schema: {
      summary: 'One node by payout address: registration, online state, newest probe',
      params: { type: 'object', properties: { payee: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } }, required: ['payee'] },
      response: { 200: nodeSchema, 404: errorSchema },
    },
  }, async (req, reply) => {
    const { payee } = req.params as { payee: string }
    const { getAddress } = await import('viem')
    const view = await nodeView(getAddress(payee))
    if (!view) return reply.status(404).send({ code: HubErrorCode.nodeUnknown, message: `no node registered with payout address ${payee}` })
    return view
  })

  app.post('/api/v1/catalogue', {
    schema: { summary: 'Announce a torrent to the catalogue (signed by the publisher, EIP-191)', body: signedBody, response: { 200: catalogueEntrySchema, 201: catalogueEntrySchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 409: errorSchema } },
  }, async (req, reply) => {
    const entry = await verifyCatalogueEntry(req.body, { hub: opts.hubId, now: now() })
    const r = await opts.store.upsertCatalogue(entry.fields, entry.signature, now())
    if (r === 'stale') return reply.status(409).send({ code: HubErrorCode.replayed, message: 'catalogue entry is not newer than the one held' })
    return reply.status(r === 'inserted' ? 201 : 200).send({ ...entry.fields, signature: entry.signature })
  })

  app.get('/api/v1/catalogue', {
    schema: {
      summary: 'Catalogue entries, newest first',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } } },
      response: { 200: { type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: catalogueEntrySchema } } } },
    },
  }, async (req) => {
    const { limit, offset } = req.query as { limit: number; offset: number }
    return { entries: (await opts.store.listCatalogue(limit, offset)).map((e) => ({ ...e.fields, signature: e.signature, receivedAt: e.receivedAt })) }
  })

  app.get('/api/v1/stats', { schema: { summary: 'Network statistics now', response: { 200: statsSchema } } }, () => opts.stats())

  app.get('/api/v1/stats/series', {
    schema: {
      summary: 'A sampled time series',
      querystring: {
        type: 'object',
        required: ['metric'],
        properties: { metric: { type: 'string', enum: [...SERIES] }, from: { type: 'integer', minimum: 0 }, to: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } },
      },
      response: {
        200: {
          type: 'object',
          required: ['metric', 'points'],
          properties: { metric: { type: 'string' }, points: { type: 'array', items: { type: 'object', required: ['at', 'value'], properties: { at: { type: 'integer' }, value: { type: 'string', description: 'decimal' } } } } },
        },
      },
    },
  }, async (req) => {
    const q = req.query as { metric: string; from?: number; to?: number; limit: number }
    const to = q.to ?? now()
    const from = q.from ?? to - 24 * 3600_000
    return { metric: q.metric, points: (await opts.store.samples(q.metric, from, to, q.limit)).map((s) => ({ at: s.at, value: s.value })) }
  })

  app.get('/api/v1/stats/live', { schema: { summary: 'Statistics pushed as Server-Sent Events (`event: stats`)' } }, async (req, reply) => {
    sse(reply, await opts.stats(), opts.onStats)
  })

  return app
}

/** One SSE stream: the current snapshot at once, then each fresh one; a comment line keeps proxies from closing it. */
function sse(reply: FastifyReply, first: NetworkStats, subscribe?: (l: (s: NetworkStats) => void) => () => void): void {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const send = (s: NetworkStats) => res.write(`event: stats\ndata: ${JSON.stringify(s)}\n\n`)
  send(first)
  const unsubscribe = subscribe?.((s) => {
    // a client that does not read gets no more queued: drop it rather than buffer without bound
    if (res.writableLength > 1 << 20) return res.destroy()
    send(s)
  })
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
  res.on('close', () => {
    clearInterval(keepAlive)
    unsubscribe?.()
  })
}

