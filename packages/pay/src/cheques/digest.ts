/**
 * The EIP-712 digest of a cheque, computed without viem's generic typed-data encoder: the domain
 * separator and the type hash are constant per deployment, so only the 160-byte struct encoding
 * and two keccaks remain per cheque. Equal to `hashTypedData` (a unit test checks it).
 *
 * The struct's first keccak block (136 bytes: type hash, payer, payee, token and the amount's top 8
 * bytes, zero for any uint128) is the same for every cheque of one payer → payee → token; the
 * sponge state after absorbing it is cached per triple, so a cheque costs two keccak
 * permutations instead of three (the seller's fast path hashes before it verifies).
 */
import { keccak_256 } from '@noble/hashes/sha3'
import { hashDomain, hexToBytes, keccak256, toBytes, type Hex } from 'viem'
import { typedDomain, type Cheque, type ChequeDomain } from './types.js'

const CHEQUE_TYPEHASH = keccak256(
  toBytes('Cheque(address payer,address payee,address token,uint128 cumulativeAmount)'),
  'bytes',
)

/** Keccak-256's rate: bytes absorbed per permutation. */
const KECCAK_RATE = 136
/** Amounts below this leave struct bytes 128..135 (the end of the first block) zero. */
const PREFIX_SAFE_BELOW = 1n << 192n

/** Computes cheque digests for one domain. */
export interface ChequeDigester {
  /** The 32-byte digest the payer signs. */
  digest(cheque: Cheque): Uint8Array
}

/**
 * Builds a digester with the domain separator computed once.
 * @example
 * const d = createChequeDigester({ chainId: 31337, verifyingContract: escrow })
 * const h = d.digest(cheque) // Uint8Array(32)
 */
export function createChequeDigester(domain: ChequeDomain): ChequeDigester {
  const separator = hexToBytes(
    hashDomain({
      domain: { ...typedDomain(domain), chainId: BigInt(domain.chainId) },
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'version', type: 'string' },
          { name: 'chainId', type: 'uint256' },
          { name: 'verifyingContract', type: 'address' },
        ],
      },
    }),
  )
  // reused buffers: one allocation per digester, not per cheque
  const struct = new Uint8Array(160)
  struct.set(CHEQUE_TYPEHASH, 0)
  const outer = new Uint8Array(66)
  outer[0] = 0x19
  outer[1] = 0x01
  outer.set(separator, 2)
  // the same few addresses recur in every cheque of a session: decode each once
  const addrBytes = new Map<string, Uint8Array>()
  const addr = (a: string): Uint8Array => {
    let b = addrBytes.get(a)
    if (!b) {
      if (addrBytes.size > 4096) addrBytes.clear()
      b = hexToBytes(a as Hex)
      addrBytes.set(a, b)
    }
    return b
  }
  type Hasher = ReturnType<typeof keccak_256.create>
  const prefixes = new Map<string, Hasher>()
  const prefixOf = (cheque: Cheque): Hasher => {
    const key = `${cheque.payer}${cheque.payee}${cheque.token}`
    let h = prefixes.get(key)
    if (!h) {
      if (prefixes.size > 4096) prefixes.clear()
      h = keccak_256.create().update(struct.subarray(0, KECCAK_RATE))
      prefixes.set(key, h)
    }
    return h
  }
  return {
    digest(cheque) {
      struct.fill(0, 32)
      struct.set(addr(cheque.payer), 32 + 12)
      struct.set(addr(cheque.payee), 64 + 12)
      struct.set(addr(cheque.token), 96 + 12)
      writeUint256(struct, 128, cheque.cumulativeAmount)
      const structHash =
        cheque.cumulativeAmount < PREFIX_SAFE_BELOW
          ? prefixOf(cheque).clone().update(struct.subarray(KECCAK_RATE)).digest()
          : keccak256(struct, 'bytes') // out of uint128 range anyway; hash it whole
      outer.set(structHash, 34)
      return keccak256(outer, 'bytes')
    },
  }
}

/** Writes `value` big-endian into 32 bytes at `offset`. */
function writeUint256(buf: Uint8Array, offset: number, value: bigint): void {
  let v = value
  for (let i = 31; i >= 0 && v > 0n; i--) {
    buf[offset + i] = Number(v & 0xffn)
    v >>= 8n
  }
}

/**
 * The digest as hex, for logs and comparisons with the escrow's `chequeDigest`.
 * @example chequeDigestHex(domain, cheque) // '0x…'
 */
export function chequeDigestHex(domain: ChequeDomain, cheque: Cheque): Hex {
  const bytes = createChequeDigester(domain).digest(cheque)
  return `0x${Buffer.from(bytes).toString('hex')}`
}
