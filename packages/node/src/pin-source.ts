/**
 * What a pin names, resolved to something the swarm can add: a magnet or bare info-hash (the
 * metadata comes from peers), the bytes of a .torrent, or an http(s) URL of a .torrent (fetched
 * here, size- and time-bounded: the URL is the operator's, the server behind it is not; a URL from
 * someone else is fetched from public addresses only).
 */
import { parseTorrentId, type Metainfo, type TorrentRef } from '@bitcdn/content'
import http from 'node:http'
import https from 'node:https'
import { hasCode } from '@bitcdn/core'
import { NodeErrorCode, nodeError } from './errors.js'
import { isIP } from 'node:net'
import { isPublicAddress, publicOnlyLookup } from './auto-pin/public-address.js'

/** Largest .torrent fetched from a URL. */
export const MAX_TORRENT_BYTES = 16 * 1024 * 1024
const FETCH_TIMEOUT_MS = 30_000

/** A pin request's source: exactly one of these. */
export type PinSource = { magnet: string } | { torrent: Buffer } | { url: string }

export interface ResolvePinSourceOptions {
  /**
   * Connect only to public addresses (the URL came from someone else: a hub catalogue entry).
   * Redirects are followed (at most 5) under the same rule. @default false
   */
  publicOnly?: boolean
}

/**
 * Resolves a pin source.
 * @throws BitcdnError BITCDN_ERR_PIN_SOURCE (unreachable URL, not a torrent, not public when
 *   `publicOnly`), content's BITCDN_ERR_TORRENT_INVALID / BITCDN_ERR_MAGNET_INVALID
 * @example const t = await resolvePinSource({ url: 'https://example.org/site.torrent' })
 */
export async function resolvePinSource(src: PinSource, signal?: AbortSignal, opts: ResolvePinSourceOptions = {}): Promise<Metainfo | TorrentRef> {
  if ('torrent' in src) return parseTorrentId(src.torrent)
  if ('magnet' in src) return parseTorrentId(src.magnet)
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS)
  return parseTorrentId(await fetchTorrent(src.url, signal ? AbortSignal.any([signal, timeout]) : timeout, opts.publicOnly === true, MAX_REDIRECTS))
}

const MAX_REDIRECTS = 5

function fetchTorrent(url: string, signal: AbortSignal, publicOnly: boolean, redirectsLeft: number): Promise<Buffer> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return Promise.reject(nodeError('pinSource', `'${url.slice(0, 200)}' is not a URL`, { url: url.slice(0, 200) }))
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(nodeError('pinSource', `cannot fetch a torrent over ${u.protocol}`, { url }))
  // a literal address is connected to without a lookup: judged here
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  if (publicOnly && isIP(host) !== 0 && !isPublicAddress(host)) return Promise.reject(nodeError('pinSource', `${url} is not at a public address (auto_pin.allow_private_sources allows it)`, { url }))
  return new Promise<Buffer>((resolve, reject) => {
    // the address check is in the connection's lookup: what is checked is what is connected to
    const req = (u.protocol === 'https:' ? https : http).get(u, { signal, ...(publicOnly ? { lookup: publicOnlyLookup } : {}) }, (res) => {
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume()
        if (redirectsLeft === 0) return reject(nodeError('pinSource', `cannot fetch ${url}: more than ${MAX_REDIRECTS} redirects`, { url }))
        return fetchTorrent(new URL(res.headers.location, u).href, signal, publicOnly, redirectsLeft - 1).then(resolve, reject)
      }
      if (status < 200 || status >= 300) {
        res.resume()
        return reject(nodeError('pinSource', `cannot fetch ${url}: HTTP ${status}`, { url, status }))
      }
      const declared = Number(res.headers['content-length'] ?? '0')
      if (declared > MAX_TORRENT_BYTES) {
        res.destroy()
        return reject(nodeError('pinSource', `${url} is ${declared} bytes; a .torrent is at most ${MAX_TORRENT_BYTES}`, { url }))
      }
      const chunks: Buffer[] = []
      let total = 0
      res.on('data', (chunk: Buffer) => {
        total += chunk.length
        if (total > MAX_TORRENT_BYTES) {
          res.destroy()
          return reject(nodeError('pinSource', `${url} is over ${MAX_TORRENT_BYTES} bytes; not a .torrent`, { url }))
        }
        chunks.push(chunk)
      })
      res.once('end', () => resolve(Buffer.concat(chunks)))
      res.once('error', (err) => reject(nodeError('pinSource', `cannot fetch ${url}: ${err.message}`, { url }, err)))
      res.once('close', () => (res.complete ? undefined : reject(nodeError('pinSource', `cannot fetch ${url}: the connection closed mid-body`, { url }))))
    })
    req.once('error', (err) => reject(hasCode(err, NodeErrorCode.pinSource) ? err : nodeError('pinSource', `cannot fetch ${url}: ${err.message}`, { url }, err)))
  })
}
