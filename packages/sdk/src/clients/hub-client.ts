/**
 * A typed client of the hub API (`packages/hub`): registry, catalogue and statistics, with the
 * paths, parameters and bodies of the hub's own OpenAPI document (src/generated/hub.ts). Works in
 * browsers and Node (global `fetch`).
 */
import createClient from 'openapi-fetch'
import type { paths } from '../generated/hub.js'
import { call, unreachable } from '../http/call.js'
import type { BodyOf, JsonOf } from '../http/types.js'
import { apiError } from '../errors.js'
import { readServerSentEvents } from '../consume/sse.js'

export type HubInfo = JsonOf<paths, '/api/v1/info', 'get'>
export type HubNode = JsonOf<paths, '/api/v1/nodes/{payee}', 'get'>
export type CatalogueEntry = JsonOf<paths, '/api/v1/catalogue', 'post'>
export type NetworkStats = JsonOf<paths, '/api/v1/stats', 'get'>
export type StatsSeries = JsonOf<paths, '/api/v1/stats/series', 'get'>
/** A signed message as the hub takes it: `{ fields, signature }`. */
export type SignedBody = BodyOf<paths, '/api/v1/catalogue', 'post'>
export type SeriesQuery = NonNullable<paths['/api/v1/stats/series']['get']['parameters']['query']>

export interface ApiClientInit {
  /** Base URL, `http://127.0.0.1:8080`. */
  url: string
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch
  /** Headers sent with every request. */
  headers?: Record<string, string>
}

export interface HubClient {
  /** The generated openapi-fetch client, for anything the helpers do not cover. */
  readonly api: ReturnType<typeof createClient<paths>>
  readonly url: string
  info(): Promise<HubInfo>
  nodes(query?: { limit?: number }): Promise<HubNode[]>
  /** @throws BitcdnApiError BITCDN_ERR_HUB_NODE_UNKNOWN */
  node(payee: string): Promise<HubNode>
  /** Register or refresh a node with a signed registration (`signRegistration`). */
  register(signed: SignedBody): Promise<HubNode>
  catalogue(query?: { limit?: number; offset?: number }): Promise<CatalogueEntry[]>
  /** Post a signed catalogue entry (`signCatalogueEntry`). @throws BitcdnApiError BITCDN_ERR_HUB_* */
  announce(signed: SignedBody): Promise<CatalogueEntry>
  stats(): Promise<NetworkStats>
  series(query: SeriesQuery): Promise<StatsSeries>
  /** Statistics as the hub pushes them (SSE `event: stats`), until `signal` aborts. */
  live(signal?: AbortSignal): AsyncIterable<NetworkStats>
}

/**
 * @example
 * const hub = createHubClient({ url: 'http://127.0.0.1:8080' })
 * const { nodesOnline } = await hub.stats()
 */
export function createHubClient(init: ApiClientInit): HubClient {
  const api = createClient<paths>({ baseUrl: init.url, ...(init.fetch ? { fetch: init.fetch } : {}), ...(init.headers ? { headers: init.headers } : {}) })
  return {
    api,
    url: init.url,
    info: () => call('hub', 'GET /api/v1/info', api.GET('/api/v1/info')),
    nodes: async (query = {}) => (await call('hub', 'GET /api/v1/nodes', api.GET('/api/v1/nodes', { params: { query } }))).nodes ?? [],
    node: (payee) => call('hub', 'GET /api/v1/nodes/{payee}', api.GET('/api/v1/nodes/{payee}', { params: { path: { payee } } })),
    register: (signed) => call('hub', 'POST /api/v1/nodes', api.POST('/api/v1/nodes', { body: signed })),
    catalogue: async (query = {}) => (await call('hub', 'GET /api/v1/catalogue', api.GET('/api/v1/catalogue', { params: { query } }))).entries,
    announce: (signed) => call('hub', 'POST /api/v1/catalogue', api.POST('/api/v1/catalogue', { body: signed })),
    stats: () => call('hub', 'GET /api/v1/stats', api.GET('/api/v1/stats')),
    series: (query) => call('hub', 'GET /api/v1/stats/series', api.GET('/api/v1/stats/series', { params: { query } })),
    live: (signal) => liveStats(api, signal),
  }
}

async function* liveStats(api: HubClient['api'], signal?: AbortSignal): AsyncIterable<NetworkStats> {
  const op = 'GET /api/v1/stats/live'
  let r: { response: Response }
  try {
    r = await api.GET('/api/v1/stats/live', { parseAs: 'stream', headers: { accept: 'text/event-stream' }, ...(signal ? { signal } : {}) })
  } catch (cause) {
    throw unreachable('hub', op, cause)
  }
  if (!r.response.ok || !r.response.body) throw apiError('hub', op, r.response.status, undefined)
  for await (const event of readServerSentEvents(r.response.body, signal)) {
    if (event.event === 'stats') yield JSON.parse(event.data) as NetworkStats
  }
}
