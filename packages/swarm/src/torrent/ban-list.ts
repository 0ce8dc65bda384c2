/**
 * Peers banned for corrupt data, shared by every torrent of a client. A ban holds the peer id and
 * the address: the IP for public addresses, `ip:port` on loopback and private networks where many
 * honest peers share one IP (tests, containers, a LAN behind one gateway).
 */
import { isIP } from 'node:net'

export interface BanTarget {
  host: string
  /** The peer's listen port, when known. */
  port?: number
  /** Remote peer id, hex. */
  peerId?: string
}

const SHARED_HOST = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|::ffff:127\.|localhost$)/

/**
 * @example
 * bans.ban({ host: '203.0.113.5', peerId })
 * if (bans.isBanned({ host: socket.remoteAddress })) socket.destroy()
 */
export class BanList {
  readonly #addresses = new Set<string>()
  readonly #peerIds = new Set<string>()

  ban(target: BanTarget): void {
    if (target.peerId !== undefined) this.#peerIds.add(target.peerId)
    const key = this.#key(target)
    if (key !== undefined) this.#addresses.add(key)
  }

  isBanned(target: BanTarget): boolean {
    if (target.peerId !== undefined && this.#peerIds.has(target.peerId)) return true
    if (this.#addresses.has(target.host)) return true
    return target.port !== undefined && this.#addresses.has(`${target.host}:${target.port}`)
  }

  get size(): number {
    return this.#peerIds.size + this.#addresses.size
  }

  #key(target: BanTarget): string | undefined {
    const shared = SHARED_HOST.test(target.host) || isIP(target.host) === 0
    if (!shared) return target.host
    return target.port === undefined ? undefined : `${target.host}:${target.port}`
  }
}

/** Split `host:port` (IPv6 in brackets). */
export function splitAddress(addr: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr)
  if (m === null) return undefined
  const port = Number(m[2])
  if (port < 1 || port > 65535) return undefined
  return { host: m[1]!, port }
}
