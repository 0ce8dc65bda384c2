/**
 * Validators for command-line values, run by commander as each flag is parsed. A bad value
 * becomes a usage error naming the flag (exit code 2) before any work starts; past this edge the
 * commands trust their options' types.
 */
import { InvalidArgumentError } from 'commander'
import { z } from 'zod'
import { BitcdnError } from '@bitcdn/core'

const portSchema = z.coerce.number().int().min(0).max(65_535)
const positiveIntSchema = z.coerce.number().int().positive()
const urlSchema = z.url({ protocol: /^(https?|udp|wss?)$/ })
const peerSchema = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):(\d{1,5})$/)

function check<T>(schema: z.ZodType<T>, value: string, expected: string): T {
  // empty strings coerce to 0; a flag given an empty value is a mistake, not port 0
  const result = value.trim() === '' ? undefined : schema.safeParse(value)
  if (!result?.success) throw new InvalidArgumentError(`expected ${expected}.`)
  return result.data
}

/**
 * A TCP/UDP port, 0–65535 (0 lets the OS pick).
 * @example new Option('--port <n>').argParser(parsePort)
 */
export function parsePort(value: string): number {
  return check(portSchema, value, 'a port number 0-65535')
}

/**
 * A byte count: a positive integer, optionally suffixed KiB/MiB/GiB (or K/M/G, powers of 1024).
 * @example parseBytes('256KiB') // 262144
 */
export function parseBytes(value: string): number {
  const m = /^\s*(\d+)\s*([KMG]i?B?|B)?\s*$/i.exec(value)
  const unit = (m?.[2] ?? 'B').toUpperCase()[0]
  const scale = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1
  const n = m ? Number(m[1]) * scale : Number.NaN
  return check(positiveIntSchema, String(n), 'a positive byte count such as 262144 or 256KiB')
}

/**
 * A positive number of seconds, returned in milliseconds.
 * @example parseSecondsToMs('30') // 30000
 */
export function parseSecondsToMs(value: string): number {
  return check(z.coerce.number().positive().finite(), value, 'a positive number of seconds') * 1000
}

/**
 * A tracker or web-seed URL (http, https, udp, ws, wss).
 * @example parseUrl('http://127.0.0.1:8000/announce')
 */
export function parseUrl(value: string): string {
  return check(urlSchema, value, 'a URL such as http://127.0.0.1:8000/announce')
}

/**
 * A peer address `host:port` (IPv6 in brackets).
 * @example parsePeer('127.0.0.1:6881')
 */
export function parsePeer(value: string): string {
  const addr = check(peerSchema, value, 'host:port, e.g. 127.0.0.1:6881')
  parsePort(addr.slice(addr.lastIndexOf(':') + 1))
  return addr
}

/**
 * Turns a single-value parser into one for a repeatable flag that collects into an array.
 * @example new Option('--peer <addr>').argParser(repeatable(parsePeer)).default([])
 */
export function repeatable<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)]
}

export const SCRYPT_N_HELP = 'scrypt cost of the keystore encryption (power of two); lower is faster and weaker'

/**
 * The scrypt cost `--scrypt-n` names: a power of two.
 * @throws BitcdnError BITCDN_ERR_KEYSTORE_INVALID otherwise
 * @example parseScryptN('1024') // 1024
 */
export function parseScryptN(text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new BitcdnError('BITCDN_ERR_KEYSTORE_INVALID', '--scrypt-n must be a power of two')
  return n
}

/**
 * A node to pin on: its admin API URL and the file holding its admin token, as `URL=TOKEN_FILE`.
 * @example parsePinNode('http://127.0.0.1:8790=/home/me/.bitcdn/node/admin-token') // { url: 'http://127.0.0.1:8790', tokenFile: '/home/me/.bitcdn/node/admin-token' }
 */
export function parsePinNode(value: string): { url: string; tokenFile: string } {
  const eq = value.indexOf('=')
  if (eq < 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected ADMIN_URL=TOKEN_FILE (the node's admin URL and its admin-token file).`)
  return { url: parseUrl(value.slice(0, eq)), tokenFile: value.slice(eq + 1) }
}
