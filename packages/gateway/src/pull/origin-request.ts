/**
 * Requests to the pull zone's origin: hop-by-hop headers dropped both ways (RFC 9110 §7.6.1),
 * the rest passed unchanged, over a keep-alive agent.
 */
import http from 'node:http'
import https from 'node:https'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection'])

/** Headers without the hop-by-hop ones (and those the Connection header names). */
export function endToEnd(headers: IncomingHttpHeaders, drop: string[] = []): OutgoingHttpHeaders {
  const named = String(headers['connection'] ?? '').split(',').map((s) => s.trim().toLowerCase())
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.includes(k) || drop.includes(k)) continue
    out[k] = v
  }
  return out
}

export interface OriginRequest {
  method: string
  /** Path and query on the origin. */
  path: string
  headers: OutgoingHttpHeaders
  body?: Readable
  signal?: AbortSignal
}

/**
 * @throws the network error (refused, reset) or `signal.reason`.
 * @example
 * const res = await originRequest(base, agent, { method: 'GET', path: '/a.js', headers: {} })
 */
export function originRequest(base: URL, agent: http.Agent, r: OriginRequest, timeoutMs = 30_000): Promise<http.IncomingMessage> {
  const mod = base.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const basePath = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname
    const req = mod.request(
      { protocol: base.protocol, hostname: base.hostname, port: base.port, method: r.method, path: basePath + r.path, headers: { ...r.headers, host: base.host }, agent, signal: r.signal, timeout: timeoutMs },
      resolve,
    )
    req.on('timeout', () => req.destroy(new Error(`origin ${base.host} sent no response within ${timeoutMs} ms`)))
    req.on('error', reject)
    if (r.body !== undefined) r.body.pipe(req)
    else req.end()
  })
}
