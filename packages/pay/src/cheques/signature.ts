/**
 * Signature byte forms. The escrow (OpenZeppelin ECDSA) takes 65 bytes r ‖ s ‖ v with v ∈ {27, 28};
 * the wire carries the 64-byte EIP-2098 compact form (yParity folded into the top bit of s) to save
 * a byte per cheque. Both are accepted on input and normalized to 65 bytes.
 */
import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { PayError } from './errors.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HALF_N = N >> 1n

/** r, s and the recovery bit of a secp256k1 signature. */
export interface SignatureParts {
  r: bigint
  s: bigint
  yParity: 0 | 1
}

/**
 * Parses a 65- or 64-byte signature; rejects bad lengths, v values and high s (malleable).
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID
 * @example const { r, s, yParity } = parseSignatureBytes(hexToBytes(sig))
 */
export function parseSignatureBytes(bytes: Uint8Array): SignatureParts {
  let r: bigint
  let s: bigint
  let yParity: 0 | 1
  if (bytes.length === 65) {
    r = toBig(bytes.subarray(0, 32))
    s = toBig(bytes.subarray(32, 64))
    const v = bytes[64]!
    if (v === 27 || v === 0) yParity = 0
    else if (v === 28 || v === 1) yParity = 1
    else throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `signature v must be 27 or 28, got ${v}`)
  } else if (bytes.length === 64) {
    r = toBig(bytes.subarray(0, 32))
    const vs = toBig(bytes.subarray(32, 64))
    yParity = vs >> 255n === 1n ? 1 : 0
    s = vs & ((1n << 255n) - 1n)
  } else {
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `signature must be 65 or 64 bytes, got ${bytes.length}`)
  }
  if (r <= 0n || r >= N || s <= 0n || s > HALF_N) {
    // high s is the malleable twin of a valid signature; the escrow rejects it, so do we
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', 'signature r/s out of range (or high s)')
  }
  return { r, s, yParity }
}

/**
 * The 65-byte hex form (v = 27 + yParity) the escrow takes.
 * @example const sig = toSignature65({ r, s, yParity: 1 })
 */
export function toSignature65(parts: SignatureParts): Hex {
  const out = new Uint8Array(65)
  putBig(out, 0, parts.r)
  putBig(out, 32, parts.s)
  out[64] = 27 + parts.yParity
  return bytesToHex(out)
}

/**
 * The 64-byte EIP-2098 compact form.
 * @example const compact = toCompact64(parseSignatureBytes(hexToBytes(sig)))
 */
export function toCompact64(parts: SignatureParts): Uint8Array {
  const out = new Uint8Array(64)
  putBig(out, 0, parts.r)
  putBig(out, 32, parts.s | (BigInt(parts.yParity) << 255n))
  return out
}

/**
 * Normalizes any accepted signature hex to the 65-byte form.
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID
 * @example normalizeSignature(compactHex) // 0x…(65 bytes)
 */
export function normalizeSignature(sig: Hex): Hex {
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(sig)
  } catch (cause) {
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', 'signature is not hex', { cause })
  }
  return toSignature65(parseSignatureBytes(bytes))
}

const HALF_N_BYTES = Buffer.from(HALF_N.toString(16).padStart(64, '0'), 'hex')
const N_BYTES = Buffer.from(N.toString(16).padStart(64, '0'), 'hex')
const ZERO32 = Buffer.alloc(32)

/**
 * The same rules as `parseSignatureBytes` on hex, without bigints (the seller's fast path parses a
 * signature per verification): r ‖ s as 64 bytes (a fresh buffer) and the recovery bit, or
 * undefined for anything `parseSignatureBytes` would refuse.
 * @example const p = parseSignatureFast(signed.signature); if (p) recover(p.rs, p.yParity, digest)
 */
export function parseSignatureFast(sig: string): { rs: Buffer; yParity: 0 | 1 } | undefined {
  if (typeof sig !== 'string' || (sig.length !== 132 && sig.length !== 130) || sig[0] !== '0' || sig[1] !== 'x') return undefined
  // Buffer.from stops at the first non-hex character: a short result means bad hex
  const bytes = Buffer.from(sig.slice(2), 'hex')
  if (bytes.length * 2 !== sig.length - 2) return undefined
  let yParity: 0 | 1
  if (bytes.length === 65) {
    const v = bytes[64]!
    if (v === 27 || v === 0) yParity = 0
    else if (v === 28 || v === 1) yParity = 1
    else return undefined
  } else {
    yParity = bytes[32]! & 0x80 ? 1 : 0
    bytes[32] = bytes[32]! & 0x7f
  }
  const r = bytes.subarray(0, 32)
  const s = bytes.subarray(32, 64)
  if (r.equals(ZERO32) || r.compare(N_BYTES) >= 0 || s.equals(ZERO32) || s.compare(HALF_N_BYTES) > 0) return undefined
  return { rs: bytes.subarray(0, 64), yParity }
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`)
}

function putBig(buf: Uint8Array, offset: number, v: bigint): void {
  const hex = v.toString(16).padStart(64, '0')
  buf.set(Buffer.from(hex, 'hex'), offset)
}
