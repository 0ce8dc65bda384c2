/**
 * HTTP caching rules (RFC 9111) for the pull zone, as pure functions: whether an origin response
 * may be stored (§3), how long it stays fresh (§4.2: s-maxage, max-age, Expires, a heuristic from
 * Last-Modified), whether it must be revalidated every time (no-cache), and which request headers
 * select it (Vary, §4.1). What may not be stored is passed through and never enters the swarm.
 */
import type { IncomingHttpHeaders } from 'node:http'

export type Directives = Map<string, string | true>

/** Parse a Cache-Control header (`max-age=60, no-store` → {max-age: '60', no-store: true}). */
export function parseCacheControl(value: string | string[] | undefined): Directives {
  const out: Directives = new Map()
  const v = Array.isArray(value) ? value.join(',') : value
  if (v === undefined) return out
  for (const part of v.split(',')) {
    const p = part.trim()
    if (p === '') continue
    const eq = p.indexOf('=')
    if (eq < 0) out.set(p.toLowerCase(), true)
    else out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'))
  }
  return out
}

const seconds = (v: string | true | undefined): number | undefined => {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined
  return Number(v)
}

/** Names of the request headers the response varies on (lowercase); `['*']` for `Vary: *`. */
export function varyNames(headers: IncomingHttpHeaders): string[] {
  const v = headers['vary']
  if (v === undefined) return []
  return [...new Set((Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))].sort()
}

/**
 * True when a shared cache may store this response (§3, §3.5): GET, a 200, no `no-store` (either
 * side) or `private`, no `Vary: *`, no `Set-Cookie`, and an authorized request only when the
 * response says `public` or `s-maxage`.
 * @example
 * isStorable('GET', { }, 200, { 'cache-control': 'max-age=60' }) // true
 */
export function isStorable(method: string, req: IncomingHttpHeaders, status: number, res: IncomingHttpHeaders): boolean {
  if (method !== 'GET' || status !== 200) return false
  const rc = parseCacheControl(res['cache-control'])
  if (rc.has('no-store') || rc.has('private')) return false
  if (parseCacheControl(req['cache-control']).has('no-store')) return false
  if (varyNames(res).includes('*')) return false
  if (res['set-cookie'] !== undefined) return false
  if (req['authorization'] !== undefined && !rc.has('public') && !rc.has('s-maxage')) return false
  return true
}

/**
 * Freshness lifetime in seconds (§4.2.1): s-maxage, else max-age, else Expires − Date, else 10% of
 * Date − Last-Modified (at most a day), else 0. `no-cache` makes it 0 (revalidate every time).
 */
export function freshnessLifetimeS(res: IncomingHttpHeaders, nowMs: number): number {
  const cc = parseCacheControl(res['cache-control'])
  if (cc.has('no-cache')) return 0
  const s = seconds(cc.get('s-maxage')) ?? seconds(cc.get('max-age'))
  if (s !== undefined) return s
  const date = res['date'] !== undefined ? Date.parse(res['date']) : nowMs
  const base = Number.isNaN(date) ? nowMs : date
  if (res['expires'] !== undefined) {
    const exp = Date.parse(res['expires'])
    return Number.isNaN(exp) ? 0 : Math.max(0, Math.floor((exp - base) / 1000))
  }
  if (res['last-modified'] !== undefined) {
    const lm = Date.parse(res['last-modified'])
    if (!Number.isNaN(lm) && lm < base) return Math.min(86_400, Math.floor((base - lm) / 10_000))
  }
  return 0
}

/** True when a stale copy must not be served without the origin's say (`must-revalidate`, `proxy-revalidate`, `no-cache`). */
export function mustRevalidate(res: IncomingHttpHeaders): boolean {
  const cc = parseCacheControl(res['cache-control'])
  return cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('no-cache') || cc.has('s-maxage')
}
