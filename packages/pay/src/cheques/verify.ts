/**
 * Cheque signature verification, two ways.
 *
 * - `verifyCheque`: full public-key recovery through viem (`recoverTypedDataAddress`). Needs
 *   nothing but the cheque.
 * - `createChequeVerifier`: the seller's fast path. The digest reuses the cached domain separator;
 *   the key is recovered by libsecp256k1 (native, `secp256k1-native.ts`) and compared with the
 *   cached public key of the expected signer, so a known signer costs one native recovery and no
 *   keccak of the key. Where the native library cannot load, @noble/curves verifies against a cached
 *   wNAF table instead (~10× slower). Both accept exactly what the escrow accepts: OpenZeppelin's
 *   `ECDSA.recover` — low s, v ∈ {27, 28}, and the key recovered with that v (a signature valid
 *   for the key but carrying the other v recovers a different address on-chain, so it is refused).
 *   The bench (`npm run bench -- pay`) reports both rates.
 *
 * Measured on the fast path (CPU per verification, 2-core EPYC, session 5, load 5–6, median of 7
 * rounds of 3,000): libsecp256k1's recovery 88–100 µs of 95–110 µs; the digest (two hash-wasm
 * keccaks) 3–6 µs; parsing the signature from hex without bigints 1.5–3 µs; the rest (key compare,
 * map look-ups) < 1 µs. The recovery writes into a reused buffer and a known signer skips the
 * address derivation (`verifyCached`).
 *
 * Verifying against the cached key instead of recovering was measured again and not taken:
 * libsecp256k1's `ecdsaVerify` costs 68–84 µs against 80–92 µs for the recovery (10–18% less) but
 * cannot check `v`. ECDSA verification compares only the x of R = u1·G + u2·Q, and R and −R share
 * it; `v` names R's y parity, and a signature whose `v` is flipped still verifies while the
 * escrow's `ecrecover` yields another address (the cheque is unclaimable). Learning R's parity
 * needs R itself — the square root and inversions that recovery already does — so recovery is the
 * cheapest check that keeps the escrow's rule. `node:crypto`'s `verify` hashes its input and is 8×
 * slower (689 µs; session 3). tiny-secp256k1 2.2 (WebAssembly) measured 370–420 µs per recovery.
 */
import { getAddress, hexToBytes, keccak256, recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { secp256k1 } from '@noble/curves/secp256k1'
import { invert, mod } from '@noble/curves/abstract/modular'
import { createChequeDigester } from './digest.js'
import { PayError } from './errors.js'
import { nativeSecp256k1Available, recoverPublicKeyNative } from './secp256k1-native.js'
import { parseSignatureBytes, parseSignatureFast, type SignatureParts } from './signature.js'
import { chequeTypes, MAX_CUMULATIVE, typedDomain, type ChequeDomain, type SignedCheque } from './types.js'

type Point = InstanceType<typeof secp256k1.ProjectivePoint>
const G = secp256k1.ProjectivePoint.BASE
const N = secp256k1.CURVE.n
const Fp = secp256k1.CURVE.Fp

export interface VerifyChequeParameters {
  domain: ChequeDomain
  signedCheque: SignedCheque
  /** When given, the recovered address must equal it. */
  signer?: Address
}

/**
 * Recovers the signer of a cheque (full recovery) and, if `signer` is given, checks it.
 * @returns the recovered signer address (checksummed)
 * @throws {PayError} BITCDN_ERR_CHEQUE_SIGNATURE when unrecoverable or not `signer`;
 *   BITCDN_ERR_CHEQUE_INVALID when the signature bytes are malformed
 * @example
 * const who = await verifyCheque({ domain, signedCheque, signer: payer })
 */
export async function verifyCheque(params: VerifyChequeParameters): Promise<Address> {
  const { signedCheque, domain } = params
  parseSignatureBytes(hexToBytes(signedCheque.signature)) // rejects high s like the escrow does
  let recovered: Address
  try {
    recovered = await recoverTypedDataAddress({
      domain: typedDomain(domain),
      types: chequeTypes,
      primaryType: 'Cheque',
      message: signedCheque.cheque,
      signature: signedCheque.signature,
    })
  } catch (cause) {
    throw new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', 'cheque signature does not recover to a key', { cause })
  }
  if (params.signer && getAddress(params.signer) !== recovered) {
    throw new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', `cheque is signed by ${recovered}, not ${params.signer}`, {
      details: { recovered, expected: params.signer },
    })
  }
  return recovered
}

/**
 * The address whose key signed a 32-byte digest, from a 64-byte compact (EIP-2098) or 65-byte
 * signature: libsecp256k1 when its binding loaded (~70 µs), else @noble/curves. For the other
 * EIP-712 structs the wire signs per connection (market's payer proof in a hello): undefined for a
 * malformed or high-s signature or one no key recovers from — never a throw, never a guess.
 * @example const who = recoverDigestSigner(hashTypedData(typed), signature)
 */
export function recoverDigestSigner(digest: Uint8Array, signature: Uint8Array): Address | undefined {
  let sig: SignatureParts
  try {
    sig = parseSignatureBytes(signature)
  } catch {
    return undefined
  }
  if (digest.length !== 32) return undefined
  if (nativeSecp256k1Available) {
    // r ‖ s as given (checked above); the compact form carries y's parity in the top bit of s
    const rs = Uint8Array.from(signature.subarray(0, 64))
    if (signature.length === 64) rs[32]! &= 0x7f
    const pub = recoverPublicKeyNative(rs, sig.yParity, digest)
    return pub === undefined ? undefined : getAddress(`0x${keccak256(pub.subarray(1), 'hex').slice(-40)}`)
  }
  try {
    const point = new secp256k1.Signature(sig.r, sig.s).addRecoveryBit(sig.yParity).recoverPublicKey(digest)
    return publicKeyToAddress(`0x${point.toHex(false)}` as Hex)
  } catch {
    return undefined
  }
}

export interface ChequeVerifierInit {
  /**
   * Which secp256k1 implementation: libsecp256k1 (`native`) or @noble/curves (`js`).
   * @default 'native' when the binding loads, else 'js'
   */
  backend?: 'native' | 'js'
  /**
   * wNAF window of each cached public key on the `js` backend: larger is faster per verification
   * but costs memory (window 8 ≈ 2,200 cached points per signer).
   * @default 8
   */
  windowSize?: number
  /** Signers whose keys are kept; the oldest is dropped past this. @default 256 */
  maxCachedSigners?: number
}

/** Verifies cheques of one domain, caching signer keys. */
export interface ChequeVerifier {
  /**
   * The signer of a cheque, or undefined if the signature is invalid. Tries the cached keys of
   * `candidates` first (fast path); on a miss, recovers once and caches the key if it is one of `candidates`.
   */
  recoverSigner(signed: SignedCheque, candidates?: readonly Address[]): Address | undefined
  /** True when `signed` is signed by `signer` (fast path once `signer` is cached). */
  verify(signed: SignedCheque, signer: Address): boolean
  /** Number of signers with cached keys. */
  readonly cachedSigners: number
  /** The secp256k1 implementation in use. */
  readonly backend: 'native' | 'js'
}

/**
 * Builds a verifier for one escrow domain.
 * @example
 * const verifier = createChequeVerifier(domain)
 * if (!verifier.verify(signed, payer)) throw new Error('bad cheque')
 */
export function createChequeVerifier(domain: ChequeDomain, init: ChequeVerifierInit = {}): ChequeVerifier {
  const backend = init.backend ?? (nativeSecp256k1Available ? 'native' : 'js')
  if (backend === 'native' && !nativeSecp256k1Available) throw new Error('libsecp256k1 binding not loaded')
  const maxCached = init.maxCachedSigners ?? 256
  const digester = createChequeDigester(domain)
  const recoverSigner = backend === 'native' ? nativeRecoverer(digester, maxCached) : jsRecoverer(digester, maxCached, init.windowSize ?? 8)
  // getAddress costs a keccak: the few signers a seller checks are normalized once
  const normalized = new Map<string, Address>()
  const checksum = (a: Address): Address => {
    let c = normalized.get(a)
    if (!c) {
      c = getAddress(a)
      remember(normalized, 4096, a, c)
    }
    return c
  }
  return {
    recoverSigner(signed, candidates) {
      return amountInRange(signed) ? recoverSigner.recover(signed, candidates) : undefined
    },
    verify(signed, signer) {
      if (!amountInRange(signed)) return false
      const s = checksum(signer)
      // a known signer: one check against its cached key; else recover once (and cache the key)
      return recoverSigner.verifyCached(signed, s) ?? recoverSigner.recover(signed, [s]) === s
    },
    get cachedSigners() {
      return recoverSigner.cached()
    },
    backend,
  }
}

interface Recoverer {
  recover(signed: SignedCheque, candidates?: readonly Address[]): Address | undefined
  /** Whether `signer`'s cached key signed `signed`; undefined when `signer` has no cached key. */
  verifyCached(signed: SignedCheque, signer: Address): boolean | undefined
  cached(): number
}

/**
 * The escrow's `Cheque.cumulativeAmount` is a uint128: an amount outside it can never be claimed
 * (and the digest writes only the low 256 bits), so such a cheque verifies for nobody.
 */
function amountInRange(signed: SignedCheque): boolean {
  const a = signed.cheque.cumulativeAmount
  return typeof a === 'bigint' && a >= 0n && a <= MAX_CUMULATIVE
}

function parse(signed: SignedCheque): SignatureParts | undefined {
  try {
    return parseSignatureBytes(hexToBytes(signed.signature))
  } catch {
    return undefined
  }
}

/** A bounded map: past `max` entries the oldest goes (insertion order). */
function remember<K, V>(map: Map<K, V>, max: number, key: K, value: V): void {
  if (max <= 0) return
  if (map.size >= max) map.delete(map.keys().next().value as K)
  map.set(key, value)
}

/** libsecp256k1: one native recovery, then a 65-byte compare with each candidate's cached key. */
function nativeRecoverer(digester: ReturnType<typeof createChequeDigester>, maxCached: number): Recoverer {
  const keys = new Map<Address, Buffer>()
  // the fast path recovers into this and compares: no allocation per cheque
  const scratch = Buffer.alloc(65)
  return {
    verifyCached(signed, signer) {
      const key = keys.get(signer)
      if (!key) return undefined
      const sig = parseSignatureFast(signed.signature)
      if (!sig) return false
      return recoverPublicKeyNative(sig.rs, sig.yParity, digester.digest(signed.cheque), scratch) !== undefined && key.equals(scratch)
    },
    recover(signed, candidates = []) {
      const sig = parseSignatureFast(signed.signature)
      if (!sig) return undefined
      const pub = recoverPublicKeyNative(sig.rs, sig.yParity, digester.digest(signed.cheque))
      if (!pub) return undefined
      const pubBuf = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength)
      for (const c of candidates) if (keys.get(c)?.equals(pubBuf)) return c
      const address = getAddress(`0x${keccak256(pub.subarray(1), 'hex').slice(-40)}`)
      // cache only expected signers: forged cheques must not fill the cache with random keys
      if (!keys.has(address) && candidates.includes(address)) remember(keys, maxCached, address, Buffer.from(pubBuf))
      return address
    },
    cached: () => keys.size,
  }
}

/** @noble/curves: verification against a cached wNAF table, full recovery on a miss. */
function jsRecoverer(digester: ReturnType<typeof createChequeDigester>, maxCached: number, windowSize: number): Recoverer {
  const keys = new Map<Address, Point>()
  const recoverFull = (digest: Uint8Array, sig: SignatureParts): { address: Address; point: Point } | undefined => {
    try {
      const point = new secp256k1.Signature(sig.r, sig.s).addRecoveryBit(sig.yParity).recoverPublicKey(digest)
      const address = publicKeyToAddress(`0x${point.toHex(false)}` as Hex)
      return { address, point }
    } catch {
      return undefined
    }
  }
  return {
    verifyCached(signed, signer) {
      const point = keys.get(signer)
      if (!point) return undefined
      const sig = parse(signed)
      return sig !== undefined && verifyWithPoint(point, digester.digest(signed.cheque), sig)
    },
    recover(signed, candidates = []) {
      const sig = parse(signed)
      if (!sig) return undefined
      const digest = digester.digest(signed.cheque)
      for (const c of candidates) {
        const point = keys.get(c)
        if (point && verifyWithPoint(point, digest, sig)) return c
      }
      const full = recoverFull(digest, sig)
      if (!full) return undefined
      if (!keys.has(full.address) && candidates.includes(full.address)) {
        secp256k1.utils.precompute(windowSize, full.point)
        remember(keys, maxCached, full.address, full.point)
      }
      return full.address
    },
    cached: () => keys.size,
  }
}

/**
 * ECDSA verification against a known (precomputed) public key, with `ecrecover`'s extra rules:
 * R = u1·G + u2·Q must have x = r exactly (v 27/28 only name x = r) and y of parity `yParity`
 * — a plain ECDSA check ignores v, but the escrow recovers a different key from the wrong v.
 */
function verifyWithPoint(Q: Point, digest: Uint8Array, sig: SignatureParts): boolean {
  const z = mod(BigInt(`0x${Buffer.from(digest).toString('hex')}`), N)
  const w = invert(sig.s, N)
  const u1 = mod(z * w, N)
  const u2 = mod(sig.r * w, N)
  const R = mulUnsafe(G, u1).add(mulUnsafe(Q, u2))
  if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false
  const { x, y } = R.toAffine()
  return x === sig.r && Number(y & 1n) === sig.yParity
}

const ENDO = secp256k1.CURVE.endo!

/**
 * k·P, variable time (fine: only public values are involved in verification), table-driven.
 * The scalar is split with the curve's endomorphism (GLV) into two ~128-bit halves, because a
 * cached point's wNAF table in @noble/curves 1.9 only covers half-width scalars: `multiplyUnsafe`
 * with a full 256-bit scalar on a cached point gives wrong results (our unit test caught it). ~1.3×
 * faster than the constant-time `multiply`.
 */
function mulUnsafe(P: Point, k: bigint): Point {
  const { k1neg, k1, k2neg, k2 } = ENDO.splitScalar(k)
  let a = k1 === 0n ? secp256k1.ProjectivePoint.ZERO : P.multiplyUnsafe(k1)
  if (k1neg) a = a.negate()
  let b = k2 === 0n ? secp256k1.ProjectivePoint.ZERO : P.multiplyUnsafe(k2)
  if (k2neg) b = b.negate()
  b = new secp256k1.ProjectivePoint(Fp.mul(b.px, ENDO.beta), b.py, b.pz)
  return a.add(b)
}
