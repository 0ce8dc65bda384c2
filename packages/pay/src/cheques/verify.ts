/**
 * Cheque signature verification, two ways.
 *
 * - `verifyCheque`: full public-key recovery through viem (`recoverTypedDataAddress`). Needs
 *   nothing but the cheque; costs one recovery (≈ one verification plus a square root).
 * - `createChequeVerifier`: the seller's fast path. A payer's signer is the same key for
 *   thousands of cheques, so after the first recovery the public key is cached as a curve point
 *   with a wNAF precomputation table; each later cheque is a plain ECDSA verification against it
 *   (u1·G + u2·Q with both multiplications table-driven), and the digest reuses the cached domain
 *   separator. The bench (`npm run bench -- pay`) reports both rates.
 */
import { getAddress, hexToBytes, recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { secp256k1 } from '@noble/curves/secp256k1'
import { invert, mod } from '@noble/curves/abstract/modular'
import { createChequeDigester } from './digest.js'
import { PayError } from './errors.js'
import { parseSignatureBytes, type SignatureParts } from './signature.js'
import { chequeTypes, typedDomain, type ChequeDomain, type SignedCheque } from './types.js'

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

export interface ChequeVerifierInit {
  /**
   * wNAF window of each cached public key: larger is faster per verification but costs memory
   * (window 8 ≈ 2,200 cached points per signer).
   * @default 8
   */
  windowSize?: number
  /** Signers whose tables are kept; the oldest is dropped past this. @default 256 */
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
  /** Number of signers with cached tables. */
  readonly cachedSigners: number
}

/**
 * Builds a verifier for one escrow domain.
 * @example
 * const verifier = createChequeVerifier(domain)
 * if (!verifier.verify(signed, payer)) throw new Error('bad cheque')
 */
export function createChequeVerifier(domain: ChequeDomain, init: ChequeVerifierInit = {}): ChequeVerifier {
  const windowSize = init.windowSize ?? 8
  const maxCached = init.maxCachedSigners ?? 256
  const digester = createChequeDigester(domain)
  const keys = new Map<Address, Point>()

  const parse = (signed: SignedCheque): SignatureParts | undefined => {
    try {
      return parseSignatureBytes(hexToBytes(signed.signature))
    } catch {
      return undefined
    }
  }

  const remember = (address: Address, point: Point): void => {
    if (keys.size >= maxCached) keys.delete(keys.keys().next().value as Address)
    secp256k1.utils.precompute(windowSize, point)
    keys.set(address, point)
  }

  const recoverFull = (digest: Uint8Array, sig: SignatureParts): { address: Address; point: Point } | undefined => {
    try {
      const point = new secp256k1.Signature(sig.r, sig.s).addRecoveryBit(sig.yParity).recoverPublicKey(digest)
      const address = publicKeyToAddress(`0x${point.toHex(false)}` as Hex)
      return { address, point }
    } catch {
      return undefined
    }
  }

  const recoverSigner = (signed: SignedCheque, candidates: readonly Address[] = []): Address | undefined => {
    const sig = parse(signed)
    if (!sig) return undefined
    const digest = digester.digest(signed.cheque)
    for (const c of candidates) {
      const point = keys.get(c)
      if (point && verifyWithPoint(point, digest, sig)) return c
    }
    const full = recoverFull(digest, sig)
    if (!full) return undefined
    // cache only expected signers: a flood of forged cheques must not fill the cache with
    // random keys (each table costs a precomputation and memory)
    if (!keys.has(full.address) && candidates.includes(full.address)) remember(full.address, full.point)
    return full.address
  }

  return {
    recoverSigner,
    verify(signed, signer) {
      const s = getAddress(signer)
      return recoverSigner(signed, [s]) === s
    },
    get cachedSigners() {
      return keys.size
    },
  }
}

/** ECDSA verification against a known (precomputed) public key: u1·G + u2·Q, x mod n = r. */
function verifyWithPoint(Q: Point, digest: Uint8Array, sig: SignatureParts): boolean {
  const z = mod(BigInt(`0x${Buffer.from(digest).toString('hex')}`), N)
  const w = invert(sig.s, N)
  const u1 = mod(z * w, N)
  const u2 = mod(sig.r * w, N)
  const a = mulUnsafe(G, u1)
  const R = a.add(mulUnsafe(Q, u2))
  if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false
  // compare in projective coordinates (x = X/Z): X = r·Z, or (r+n)·Z when that is still below p
  // — saves the field inversion of toAffine()
  if (Fp.eql(R.px, Fp.mul(sig.r, R.pz))) return true
  const rn = sig.r + N
  return rn < Fp.ORDER && Fp.eql(R.px, Fp.mul(rn, R.pz))
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
