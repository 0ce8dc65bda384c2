/**
 * A typed client of a gateway (`packages/gateway`): content by info-hash and path, byte ranges
 * (RFC 9110 §14), listings, .torrent files, health — paths and parameters from the gateway's
 * OpenAPI document (src/generated/gateway.ts). Bodies are WHATWG streams, the same in browsers
 * and Node (`@bitcdn/sdk/node` turns them into Node streams).
 */
import createClient from 'openapi-fetch'
import type { paths } from '../generated/gateway.js'
import { apiError, sdkError } from '../errors.js'
import { call, unreachable } from '../http/call.js'
import type { JsonOf } from '../http/types.js'
import type { ApiClientInit } from './hub-client.js'

export type Listing = JsonOf<paths, '/t/{infohash}', 'get'>

/** Bytes `start` to `end` inclusive (RFC 9110 byte range); no `end`: to the end of the file. */
export interface ByteRange {
  start: number
  end?: number
}

export interface ContentRequest {
  /** Path inside a multi-file torrent ('/'-separated); none: the single file (or the root listing). */
  path?: string
  range?: ByteRange
  /** Send If-None-Match: a 304 answer then has no body. */
  ifNoneMatch?: string
  signal?: AbortSignal
}

/** One file (or range of it) as the gateway answered it. */
export interface ContentResponse {
  /** 200 whole, 206 a range, 304 not modified. */
  status: 200 | 206 | 304
  /** The bytes (null for a 304). */
  body: ReadableStream<Uint8Array> | null
  /** Bytes in `body`. */
  length: number
  /** The whole file's size (from Content-Range on a 206). */
  totalLength: number
  contentType: string
  etag: string | undefined
}

export interface GatewayClient {
  readonly api: ReturnType<typeof createClient<paths>>
  readonly url: string
  health(): Promise<{ ok: boolean }>
  /** A multi-file torrent's listing (of its root or of a directory). */
  listing(infoHash: string, path?: string): Promise<Listing>
  /** The .torrent file of content the gateway serves. */
  torrentFile(infoHash: string, signal?: AbortSignal): Promise<Uint8Array>
  /** A file or range as a stream. @throws BitcdnApiError BITCDN_ERR_GATEWAY_* (404, 416 as BITCDN_ERR_SDK_HTTP_STATUS, 504 ...) */
  get(infoHash: string, req?: ContentRequest): Promise<ContentResponse>
  /** The stream alone. */
  stream(infoHash: string, req?: ContentRequest): Promise<ReadableStream<Uint8Array>>
  /** The whole answer in memory. */
  bytes(infoHash: string, req?: ContentRequest): Promise<Uint8Array>
  /** The gateway URL of a file: for `<video src>`, `<img src>`, links. */
  contentUrl(infoHash: string, path?: string): string
}

const INFO_HASH = /^[0-9a-fA-F]{40}$/

function checkInfoHash(infoHash: string): string {
  if (!INFO_HASH.test(infoHash)) throw sdkError('invalidArgument', `info-hash must be 40 hex digits (got ${JSON.stringify(infoHash.slice(0, 60))})`)
  return infoHash.toLowerCase()
}

/** Each segment percent-encoded, the slashes kept (the route's `*` is a path, not one segment). */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

/** The gateway's `{*}` parameter is a whole path: openapi-fetch's default would encode its slashes. */
function pathSerializer(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, name: string) => (name === '*' ? encodePath(String(params['*'] ?? '')) : encodeURIComponent(String(params[name]))))
}

function rangeHeader(r: ByteRange): string {
  if (!Number.isSafeInteger(r.start) || r.start < 0 || (r.end !== undefined && (!Number.isSafeInteger(r.end) || r.end < r.start))) {
    throw sdkError('invalidArgument', `byte range must be 0 ≤ start ≤ end (got ${r.start}-${r.end ?? ''})`)
  }
  return `bytes=${r.start}-${r.end ?? ''}`
}

/**
 * @example
 * const gw = createGatewayClient({ url: 'http://127.0.0.1:8081' })
 * const head = await gw.bytes(infoHash, { path: 'index.html', range: { start: 0, end: 99 } })
 */
export function createGatewayClient(init: ApiClientInit): GatewayClient {
  const api = createClient<paths>({ baseUrl: init.url, pathSerializer, ...(init.fetch ? { fetch: init.fetch } : {}), ...(init.headers ? { headers: init.headers } : {}) })
  const base = init.url.replace(/\/+$/, '')

  async function get(infoHash: string, req: ContentRequest = {}): Promise<ContentResponse> {
    const ih = checkInfoHash(infoHash)
    const headers: Record<string, string> = {}
    if (req.range) headers['range'] = rangeHeader(req.range)
    if (req.ifNoneMatch !== undefined) headers['if-none-match'] = req.ifNoneMatch
    const op = req.path ? 'GET /t/{infohash}/{*}' : 'GET /t/{infohash}'
    const opts = { parseAs: 'stream' as const, headers, ...(req.signal ? { signal: req.signal } : {}) }
    let r: { response: Response; error?: unknown }
    try {
      r = req.path ? await api.GET('/t/{infohash}/{*}', { params: { path: { infohash: ih, '*': req.path } }, ...opts }) : await api.GET('/t/{infohash}', { params: { path: { infohash: ih } }, ...opts })
    } catch (cause) {
      throw unreachable('gateway', op, cause)
    }
    const res = r.response
    if (res.status === 304) return { status: 304, body: null, length: 0, totalLength: 0, contentType: '', etag: res.headers.get('etag') ?? undefined }
    // openapi-fetch has read an error answer's body already (JSON when it parses)
    if (!res.ok) throw apiError('gateway', op, res.status, r.error)
    const contentType = res.headers.get('content-type') ?? ''
    if (contentType.startsWith('application/json')) {
      await res.body?.cancel()
      throw sdkError('invalidArgument', `${req.path ?? infoHash} is a directory of the torrent, not a file (use listing())`, { infoHash: ih, path: req.path })
    }
    const length = Number(res.headers.get('content-length') ?? NaN)
    let totalLength = length
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '')
      if (!m || (req.range && Number(m[1]) !== req.range.start)) throw badAnswer(res, op, 'a 206 whose Content-Range does not match the range asked')
      totalLength = Number(m[3])
    } else if (req.range && req.range.start > 0) {
      throw badAnswer(res, op, `${res.status} to a range request`)
    }
    if (!res.body || !Number.isSafeInteger(length)) throw badAnswer(res, op, 'no Content-Length')
    return { status: res.status === 206 ? 206 : 200, body: res.body, length, totalLength, contentType, etag: res.headers.get('etag') ?? undefined }
  }

  return {
    api,
    url: base,
    health: () => call('gateway', 'GET /healthz', api.GET('/healthz')),
    listing: async (infoHash, path) => {
      const ih = checkInfoHash(infoHash)
      const body = await (path
        ? call('gateway', 'GET /t/{infohash}/{*}', api.GET('/t/{infohash}/{*}', { params: { path: { infohash: ih, '*': path.endsWith('/') ? path : `${path}/` } } }))
        : call('gateway', 'GET /t/{infohash}', api.GET('/t/{infohash}', { params: { path: { infohash: ih } } })))
      // a file's bytes parse as neither; a listing is an object with its files
      if (typeof body !== 'object' || body === null || !Array.isArray((body as Listing).files)) throw sdkError('badResponse', `${infoHash}/${path ?? ''} is a file, not a listing`)
      return body as Listing
    },
    torrentFile: async (infoHash, signal) => {
      const ih = checkInfoHash(infoHash)
      const body = await call('gateway', 'GET /torrents/{infohash}', api.GET('/torrents/{infohash}', { params: { path: { infohash: ih } }, parseAs: 'arrayBuffer', ...(signal ? { signal } : {}) }))
      return new Uint8Array(body as unknown as ArrayBuffer)
    },
    get,
    stream: async (infoHash, req) => {
      const r = await get(infoHash, req)
      return r.body ?? new ReadableStream({ start: (c) => c.close() })
    },
    bytes: async (infoHash, req) => {
      const r = await get(infoHash, req)
      if (!r.body) return new Uint8Array(0)
      const bytes = new Uint8Array(
        await new Response(r.body).arrayBuffer().catch((cause: unknown) => {
          throw sdkError('badResponse', `gateway body ended early: ${(cause as Error).message}`, { infoHash }, cause)
        }),
      )
      // a body cut short (the gateway aborts when no source delivers in time) is an error, not data
      if (bytes.length !== r.length) throw sdkError('badResponse', `gateway sent ${bytes.length} of ${r.length} bytes`, { infoHash })
      return bytes
    },
    contentUrl: (infoHash, path) => `${base}/t/${checkInfoHash(infoHash)}${path ? `/${encodePath(path)}` : ''}`,
  }
}

function badAnswer(res: Response, op: string, what: string): Error {
  void res.body?.cancel().catch(() => {})
  return sdkError('badResponse', `gateway answered ${what} (${op})`, { status: res.status, operation: op })
}
