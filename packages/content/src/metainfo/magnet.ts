/**
 * Magnet links (BEP 9 `xt=urn:btih:`, with `dn`, `tr`, `ws` from BEP 19 and `x.pe`) and bare
 * info-hashes. Parsing is exact: the hash must be exactly 40 hex or 32 base32 characters (the
 * `magnet-uri` package accepts any longer string and keeps a prefix), and every tracker, web seed
 * and peer must be well formed, so a typo fails loudly instead of fetching the wrong torrent.
 */
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import type { Metainfo, TorrentRef } from './types.js'

const HEX40 = /^[0-9a-f]{40}$/i
const BASE32_32 = /^[a-z2-7]{32}$/i
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function magnetInvalid(message: string, details: Record<string, unknown> = {}, cause?: unknown): BitcdnError {
  return new BitcdnError(ContentErrorCode.magnetInvalid, message, { details, cause })
}

/**
 * Lowercase hex of a 40-hex or 32-base32 (RFC 4648) info-hash, or undefined if it is neither.
 * @example
 * normalizeInfoHash('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') // '00443214c74254b635cf84653a56d7c675be77df'
 */
export function normalizeInfoHash(s: string): string | undefined {
  if (HEX40.test(s)) return s.toLowerCase()
  if (!BASE32_32.test(s)) return undefined
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const ch of s.toUpperCase()) {
    value = (value << 5) | BASE32_ALPHABET.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out).toString('hex')
}

function checkUrl(raw: string, field: string, protocols: string[]): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch (err) {
    throw magnetInvalid(`invalid magnet link: ${field} is not a URL: ${raw}`, { field }, err)
  }
  if (!protocols.includes(url.protocol)) {
    throw magnetInvalid(`invalid magnet link: ${field} must use ${protocols.join(' or ')}: ${raw}`, { field })
  }
  return raw
}

function checkPeer(raw: string): string {
  // host:port or [ipv6]:port
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+):(\d{1,5})$/i.exec(raw)
  const port = m ? Number(m[2]) : 0
  if (!m || port < 1 || port > 65535) throw magnetInvalid(`invalid magnet link: x.pe must be host:port: ${raw}`, { field: 'x.pe' })
  return raw
}

/**
 * Parse a magnet link into a reference to fetch metadata for.
 * @throws BitcdnError `BITCDN_ERR_MAGNET_INVALID` naming the parameter at fault
 * @example
 * const ref = parseMagnet('magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=site')
 */
export function parseMagnet(uri: string): TorrentRef {
  if (!uri.startsWith('magnet:?')) throw magnetInvalid('invalid magnet link: must start with "magnet:?"')
  const ref: TorrentRef = { infoHash: '', announce: [], urlList: [], peers: [] }
  const v2Only: string[] = []
  for (const param of uri.slice('magnet:?'.length).split('&')) {
    if (param === '') continue
    const eq = param.indexOf('=')
    if (eq <= 0) throw magnetInvalid(`invalid magnet link: parameter without a value: ${param}`)
    const key = param.slice(0, eq)
    let value: string
    try {
      // `+` means space in query strings; only `dn` is free text where that matters.
      value = decodeURIComponent(key === 'dn' ? param.slice(eq + 1).replace(/\+/g, ' ') : param.slice(eq + 1))
    } catch (err) {
      throw magnetInvalid(`invalid magnet link: ${key} is not correctly percent-encoded`, { field: key }, err)
    }
    // Some clients number repeated keys: tr.1=…&tr.2=…
    const base = key.replace(/\.\d+$/, '')
    if (base === 'xt') {
      // URN namespace identifiers are case-insensitive (RFC 8141): some clients write URN:BTIH:.
      const urn = value.slice(0, 9).toLowerCase()
      if (urn === 'urn:btih:') {
        const hash = normalizeInfoHash(value.slice('urn:btih:'.length))
        if (!hash) throw magnetInvalid(`invalid magnet link: xt info-hash must be 40 hex or 32 base32 characters: ${value}`, { field: 'xt' })
        if (ref.infoHash && ref.infoHash !== hash) throw magnetInvalid('invalid magnet link: two different btih info-hashes', { field: 'xt' })
        ref.infoHash = hash
      } else if (urn === 'urn:btmh:') {
        v2Only.push(value)
      }
    } else if (base === 'dn') {
      ref.name = value
    } else if (base === 'tr') {
      ref.announce.push(checkUrl(value, 'tr', ['http:', 'https:', 'udp:', 'ws:', 'wss:']))
    } else if (base === 'ws') {
      ref.urlList.push(checkUrl(value, 'ws', ['http:', 'https:']))
    } else if (key === 'x.pe') {
      ref.peers.push(checkPeer(value))
    }
    // Other parameters (xl, so, kt, …) are optional hints we do not use.
  }
  if (!ref.infoHash) {
    throw magnetInvalid(
      v2Only.length > 0
        ? 'invalid magnet link: only a v2 (btmh) hash is given; BitCDN needs a v1 urn:btih hash'
        : 'invalid magnet link: no xt=urn:btih: info-hash',
      { field: 'xt' },
    )
  }
  ref.announce = [...new Set(ref.announce)]
  ref.urlList = [...new Set(ref.urlList)]
  ref.peers = [...new Set(ref.peers)]
  return ref
}

/**
 * A magnet link for a torrent or reference: hex `xt`, then `dn`, `tr`, `ws` and `x.pe`.
 * @example
 * toMagnetURI({ infoHash: 'c9e1…', announce: [], urlList: [], peers: [] })
 */
export function toMagnetURI(m: Metainfo | TorrentRef): string {
  const parts = [`xt=urn:btih:${m.infoHash}`]
  if (m.name !== undefined) parts.push(`dn=${encodeURIComponent(m.name)}`)
  for (const tr of m.announce) parts.push(`tr=${encodeURIComponent(tr)}`)
  for (const ws of m.urlList) parts.push(`ws=${encodeURIComponent(ws)}`)
  if ('peers' in m) for (const pe of m.peers) parts.push(`x.pe=${encodeURIComponent(pe)}`)
  return `magnet:?${parts.join('&')}`
}
