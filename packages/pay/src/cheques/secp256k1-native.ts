/**
 * libsecp256k1 (Bitcoin Core's C library) through the `secp256k1` package's N-API binding: the
 * cheque fast path. It ships a prebuilt linux/darwin/win32 binary and the C sources to build one
 * elsewhere. Verification uses public-key recovery only — exactly what the escrow's `ecrecover`
 * does — so the fast path accepts a signature iff the contract would recover the same key from it
 * (`v` included; high s is refused before this, by `parseSignatureBytes`, as OpenZeppelin's ECDSA
 * does). The buyer's fast signer signs with it too: RFC 6979 nonces and low s, the same bytes as
 * @noble/curves and viem's `signTypedData`, at a fraction of the cost.
 *
 * Why not `node:crypto`: OpenSSL's `verify` always hashes its input (a raw EIP-712 digest cannot be
 * passed), ignores `v`, and its generic secp256k1 code runs at ~1/15 the rate of libsecp256k1.
 */
import { createRequire } from 'node:module'

interface Secp256k1Binding {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean, output?: Uint8Array): Uint8Array
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number }
}

function load(): Secp256k1Binding | undefined {
  try {
    // the binding only (`secp256k1/bindings`), never the package's pure-JS fallback (elliptic)
    return createRequire(import.meta.url)('secp256k1/bindings') as Secp256k1Binding
  } catch {
    return undefined
  }
}

const binding = load()

/** True when the native library loaded (else the verifier falls back to @noble/curves). */
export const nativeSecp256k1Available = binding !== undefined

/**
 * Recovers the uncompressed (65-byte, 0x04 ‖ x ‖ y) public key from a 64-byte r ‖ s signature,
 * recovery id 0/1 and a 32-byte digest; undefined when no key recovers (as `ecrecover` returns 0).
 * With `output` (65 bytes) the key is written there and `output` returned — no allocation, for the
 * fast path that only compares it with a cached key.
 * @example const pub = recoverPublicKeyNative(rs, 1, digest)
 */
export function recoverPublicKeyNative(rs: Uint8Array, recid: 0 | 1, digest: Uint8Array, output?: Uint8Array): Uint8Array | undefined {
  if (!binding) throw new Error('libsecp256k1 binding not loaded')
  try {
    return binding.ecdsaRecover(rs, recid, digest, false, output)
  } catch {
    return undefined
  }
}

/**
 * Signs a 32-byte digest with a 32-byte private key: r ‖ s (64 bytes, s low) and the recovery id.
 * Deterministic (RFC 6979, no extra entropy), as @noble/curves' `sign` is.
 * @example const { rs, recid } = signDigestNative(digest, seckey)
 */
export function signDigestNative(digest: Uint8Array, seckey: Uint8Array): { rs: Uint8Array; recid: 0 | 1 } {
  if (!binding) throw new Error('libsecp256k1 binding not loaded')
  const { signature, recid } = binding.ecdsaSign(digest, seckey)
  return { rs: signature, recid: recid === 1 ? 1 : 0 }
}
