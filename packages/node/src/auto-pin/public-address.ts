/**
 * Which addresses a node may be sent to by someone else's data (a hub catalogue entry's `xs`
 * URL, an auto-pinned torrent's web seeds): public unicast only, unless the operator allows
 * private ones. Loopback, RFC 1918, link-local (cloud metadata at 169.254.169.254), CGNAT,
 * unique-local, multicast and unspecified addresses are refused, so a hostile publisher cannot
 * aim the node at its own admin API or at services on its network (SSRF). For a name the check
 * sits in the connection's DNS lookup, so a name that resolves to a private address is refused
 * when it is connected to, not only when it was checked (no DNS-rebinding window); a literal
 * address (which Node connects to without a lookup) is judged by `isPublicAddress` first.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { nodeError } from '../errors.js'

// one list per family: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules too
const PRIVATE_V4 = new BlockList()
const PRIVATE_V6 = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) PRIVATE_V4.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) PRIVATE_V6.addSubnet(net, bits, 'ipv6')

/**
 * @example isPublicAddress('10.1.2.3') // false
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip)
  if (family === 0) return false
  // an IPv4-mapped IPv6 address is judged as the IPv4 address it maps
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] : undefined
  if (mapped !== undefined) return !PRIVATE_V4.check(mapped, 'ipv4')
  return family === 4 ? !PRIVATE_V4.check(ip, 'ipv4') : !PRIVATE_V6.check(ip, 'ipv6')
}

/**
 * A `lookup` for `http.get`/`net.connect` that fails with `BITCDN_ERR_PIN_SOURCE` when a name
 * resolves to any non-public address.
 * @example http.get(url, { lookup: publicOnlyLookup })
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0)
    const bad = addresses.find((a) => !isPublicAddress(a.address))
    if (bad !== undefined || addresses.length === 0) {
      return callback(nodeError('pinSource', `${hostname} resolves to ${bad?.address ?? 'nothing'}, not a public address (auto_pin.allow_private_sources allows it)`, { hostname }), '', 0)
    }
    if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
    callback(null, addresses[0]!.address, addresses[0]!.family)
  })
}

/**
 * Throws unless `url`'s host (a literal address, or every address its name resolves to) is public.
 * @throws BitcdnError `BITCDN_ERR_PIN_SOURCE`
 * @example await assertPublicUrl('http://169.254.169.254/latest') // throws
 */
export async function assertPublicUrl(url: string): Promise<void> {
  let host: string
  try {
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
  } catch {
    throw nodeError('pinSource', `'${url.slice(0, 200)}' is not a URL`, { url: url.slice(0, 200) })
  }
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw nodeError('pinSource', `${url.slice(0, 200)} is not at a public address (auto_pin.allow_private_sources allows it)`, { url: url.slice(0, 200) })
    return
  }
  await new Promise<void>((resolve, reject) => publicOnlyLookup(host, { all: true }, (err) => (err ? reject(err) : resolve())))
}
