/**
 * Strict bencode decoder (BEP 3) for untrusted input: .torrent files from users and info
 * dictionaries from peers. The `bencode` package's decoder is lenient (it accepts trailing bytes,
 * truncated strings, leading zeros and recurses without bound), so hostile input could be misread
 * instead of rejected. This one refuses anything malformed and also reports the exact byte span of
 * each top-level dictionary value, because the info-hash is the SHA-1 of the info dictionary *as
 * written*, not as re-encoded.
 */

/** A decoded bencode value. Strings stay bytes; integers are safe JS integers. */
export type BValue = Buffer | number | BValue[] | BDict
/** A dictionary keyed by the key bytes read as latin1 (one char per byte, so lossless). */
export type BDict = { [key: string]: BValue }

/** Thrown for malformed bencode; callers wrap it in a BitcdnError with context. */
export class BencodeSyntaxError extends Error {
  override readonly name = 'BencodeSyntaxError'
}

export interface Decoded {
  value: BValue
  /** For a top-level dictionary: key → [start, end) of its value in the input. */
  spans: Map<string, [number, number]>
}

// Deep enough for BEP 52 file trees of real directory depth, shallow enough for the JS stack.
const MAX_DEPTH = 512

/**
 * Decode exactly one bencoded value spanning the whole buffer.
 * @throws BencodeSyntaxError on any malformed, truncated or trailing input.
 * @example
 * const { value, spans } = bdecode(torrentFileBytes)
 */
export function bdecode(buf: Buffer): Decoded {
  const spans = new Map<string, [number, number]>()
  let pos = 0

  const fail = (what: string): never => {
    throw new BencodeSyntaxError(`${what} at byte ${pos}`)
  }

  const readUint = (end: number): number => {
    // Digits only, no leading zeros (except "0" itself): canonical form.
    if (end === pos) fail('empty number')
    if (buf[pos] === 0x30 && end - pos > 1) fail('leading zero in number')
    let n = 0
    for (let i = pos; i < end; i++) {
      const c = buf[i]!
      if (c < 0x30 || c > 0x39) fail('non-digit in number')
      n = n * 10 + (c - 0x30)
    }
    if (!Number.isSafeInteger(n)) fail('number too large')
    return n
  }

  const readString = (): Buffer => {
    const colon = buf.indexOf(0x3a, pos)
    if (colon < 0) fail('unterminated string length')
    const len = readUint(colon)
    const start = colon + 1
    if (start + len > buf.length) {
      pos = start
      fail('string runs past end of data')
    }
    pos = start + len
    return buf.subarray(start, pos)
  }

  const readValue = (depth: number, topLevel: boolean): BValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep')
    if (pos >= buf.length) fail('unexpected end of data')
    const c = buf[pos]!
    if (c === 0x69) {
      // i<int>e
      pos++
      const end = buf.indexOf(0x65, pos)
      if (end < 0) fail('unterminated integer')
      const negative = buf[pos] === 0x2d
      if (negative) pos++
      const n = readUint(end)
      if (negative && n === 0) fail('negative zero')
      pos = end + 1
      return negative ? -n : n
    }
    if (c === 0x6c) {
      pos++
      const list: BValue[] = []
      while (pos < buf.length && buf[pos] !== 0x65) list.push(readValue(depth + 1, false))
      if (pos >= buf.length) fail('unterminated list')
      pos++
      return list
    }
    if (c === 0x64) {
      pos++
      const dict: BDict = Object.create(null) as BDict
      while (pos < buf.length && buf[pos] !== 0x65) {
        if (buf[pos]! < 0x30 || buf[pos]! > 0x39) fail('dictionary key is not a string')
        const key = readString().toString('latin1')
        if (key in dict) fail(`duplicate dictionary key "${key}"`)
        const start = pos
        dict[key] = readValue(depth + 1, false)
        if (topLevel) spans.set(key, [start, pos])
      }
      if (pos >= buf.length) fail('unterminated dictionary')
      pos++
      return dict
    }
    if (c >= 0x30 && c <= 0x39) return readString()
    return fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`)
  }

  const value = readValue(0, true)
  if (pos !== buf.length) fail('trailing data after value')
  return { value, spans }
}

/**
 * True for a decoded dictionary (not a list, string or number).
 * @example
 * if (!isDict(value)) throw new Error('expected a dictionary')
 */
export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}
