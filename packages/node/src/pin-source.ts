/**
 * What a pin names, resolved to something the swarm can add: a magnet or bare info-hash (the
 * metadata comes from peers), the bytes of a .torrent, or an http(s) URL of a .torrent (fetched
 * here, size- and time-bounded: the URL is the operator's, the server behind it is not).
 */
import { parseTorrentId, type Metainfo, type TorrentRef } from '@bitcdn/content'
import { nodeError } from './errors.js'

/** Largest .torrent fetched from a URL. */
export const MAX_TORRENT_BYTES = 16 * 1024 * 1024
const FETCH_TIMEOUT_MS = 30_000

/** A pin request's source: exactly one of these. */
export type PinSource = { magnet: string } | { torrent: Buffer } | { url: string }

/**
 * Resolves a pin source.
 * @throws BitcdnError BITCDN_ERR_PIN_SOURCE (unreachable URL, not a torrent), content's
 *   BITCDN_ERR_TORRENT_INVALID / BITCDN_ERR_MAGNET_INVALID
 * @example const t = await resolvePinSource({ url: 'https://example.org/site.torrent' })
 */
export async function resolvePinSource(src: PinSource, signal?: AbortSignal): Promise<Metainfo | TorrentRef> {
  if ('torrent' in src) return parseTorrentId(src.torrent)
  if ('magnet' in src) return parseTorrentId(src.magnet)
  return parseTorrentId(await fetchTorrent(src.url, signal))
}

async function fetchTorrent(url: string, signal?: AbortSignal): Promise<Buffer> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw nodeError('pinSource', `'${url}' is not a URL`, { url })
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw nodeError('pinSource', `cannot fetch a torrent over ${u.protocol}`, { url })
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS)
  let res: Response
  try {
    res = await fetch(u, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' })
  } catch (err) {
    throw nodeError('pinSource', `cannot fetch ${url}: ${(err as Error).message}`, { url }, err)
  }
  if (!res.ok) throw nodeError('pinSource', `cannot fetch ${url}: HTTP ${res.status}`, { url, status: res.status })
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > MAX_TORRENT_BYTES) throw nodeError('pinSource', `${url} is ${declared} bytes; a .torrent is at most ${MAX_TORRENT_BYTES}`, { url })
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of res.body ?? []) {
    total += (chunk as Uint8Array).length
    if (total > MAX_TORRENT_BYTES) {
      await res.body?.cancel().catch(() => {})
      throw nodeError('pinSource', `${url} is over ${MAX_TORRENT_BYTES} bytes; not a .torrent`, { url })
    }
    chunks.push(Buffer.from(chunk as Uint8Array))
  }
  return Buffer.concat(chunks)
}
