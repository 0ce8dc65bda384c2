/**
 * Whose budget a connection spends: both sides of `bitcdn_pay` ration work a peer can ask for by
 * its source — the seller its new-payer lookups, the buyer its hello signatures.
 */
import { isIP } from 'node:net'
import { TokenBucket } from '@bitcdn/core'

/**
 * The source a connection id ("ip:port", "v6:port", "[v6]:port") spends new-payer lookups from: its
 * IPv4 address (also when it arrives mapped into IPv6, `::ffff:a.b.c.d`), or its IPv6 /64 — one
 * subscriber's prefix (RFC 6177), so an attacker rotating through the 2^64 addresses it holds gets
 * one budget, not one per address.
 * @example lookupSourceOf('2001:db8:1:2:aaaa::1:6881') // '2001:db8:1:2::/64'
 */
export const lookupSourceOf = (peer: string): string => {
  const i = peer.lastIndexOf(':')
  let host = i > 0 ? peer.slice(0, i) : peer
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const zone = host.indexOf('%')
  if (zone >= 0) host = host.slice(0, zone)
  if (isIP(host) !== 6) return host
  const halves = host.split('::')
  const groups = (part: string | undefined): number[] =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)]
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
          return [(a << 8) | b, (c << 8) | d]
        })
  const left = groups(halves[0])
  const right = groups(halves[1])
  const all = [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right]
  if (all.slice(0, 5).every((g) => g === 0) && all[5] === 0xffff) return `${all[6]! >> 8}.${all[6]! & 0xff}.${all[7]! >> 8}.${all[7]! & 0xff}`
  return `${all.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** Token buckets per source, bounded: the oldest source is forgotten past `maxSources`. */
export interface SourceBudgets {
  /** Take one from `peer`'s source (a connection id); false when it has none left. */
  take(peer: string): boolean
}

/**
 * One rate budget per source (`lookupSourceOf`): a burst, then `ratePerSecond`.
 * @example const hellos = sourceBudgets({ burst: 16, ratePerSecond: 2, maxSources: 4096 }); if (!hellos.take(conn.id)) leave()
 */
export function sourceBudgets(init: { burst: number; ratePerSecond: number; maxSources: number }): SourceBudgets {
  const buckets = new Map<string, TokenBucket>() // source → its budget, oldest first
  return {
    take(peer) {
      const src = lookupSourceOf(peer)
      let b = buckets.get(src)
      if (b === undefined) {
        if (buckets.size >= init.maxSources) buckets.delete(buckets.keys().next().value!)
        b = new TokenBucket({ ratePerSecond: init.ratePerSecond, burst: init.burst })
        buckets.set(src, b)
      }
      return b.take()
    },
  }
}
