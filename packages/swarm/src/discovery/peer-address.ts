/**
 * Peer addresses as the rest of the swarm sees them: `host:port`, IPv6 hosts in brackets,
 * IPv4-mapped IPv6 unwrapped, so one peer heard from a tracker, the DHT and by hand is one key.
 */
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'

/**
 * Canonical `host:port`, or undefined when `addr` is not a usable peer address.
 * @example
 * normalizePeerAddress('[::ffff:10.0.0.1]:6881') // '10.0.0.1:6881'
 * normalizePeerAddress('[::1]:6881')             // '[::1]:6881'
 */
export function normalizePeerAddress(addr: string): string | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr)
  if (!m) return undefined
  let host = (m[1] as string).toLowerCase()
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  if (host.startsWith('::ffff:') && isIP(host.slice(7)) === 4) host = host.slice(7)
  if (host === '' || host === '0.0.0.0' || host === '::') return undefined
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * The hosts that are this machine, to recognise our own announce coming back from a tracker.
 * @example
 * localHosts().has('127.0.0.1') // true
 */
export function localHosts(): Set<string> {
  const hosts = new Set(['127.0.0.1', '::1', 'localhost'])
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) hosts.add(a.address.toLowerCase())
  }
  return hosts
}

/** Host part of a canonical address. */
export function hostOf(addr: string): string {
  return addr.startsWith('[') ? addr.slice(1, addr.indexOf(']')) : addr.slice(0, addr.lastIndexOf(':'))
}

/** Port part of a canonical address. */
export function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1))
}
