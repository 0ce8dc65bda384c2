/**
 * Bencode encoding (BEP 3) for the packages to the right of content, so the `bencode` package and
 * its type declarations live in one place. Decoding of untrusted input is `bdecode` (strict).
 */
import bencode, { type Encodable } from 'bencode'

export type { Encodable as BencodeEncodable } from 'bencode'

/**
 * Bytes of `value` bencoded: dictionary keys sorted, null/undefined entries dropped.
 * @example bencodeEncode({ m: {}, v: 'bitcdn-hub-probe' })
 */
export function bencodeEncode(value: Encodable): Buffer {
  return Buffer.from(bencode.encode(value))
}
