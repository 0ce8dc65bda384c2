/**
 * The EIP-712 digest of a cheque, computed without viem's generic typed-data encoder: the domain
 * separator and the type hash are constant per deployment, so only the 160-byte struct encoding
 * and two keccaks remain per cheque. Equal to `hashTypedData` (a unit test checks it).
 *
 * Keccak is js-sha3's: on the seller's fast path the digest is hashed before every verification,
 * and js-sha3's unrolled 32-bit permutation measured ~3× faster than @noble/hashes' here
 * (160 + 66 bytes: ~13 µs vs ~40 µs CPU, even with noble resuming a cached sponge state for the
 * struct's first block), which is a third of the whole verification's budget at 10,000/s.
 */
import jsSha3 from 'js-sha3'
import { hashDomain, hexToBytes, keccak256, toBytes, type Hex } from 'viem'
import { typedDomain, type Cheque, type ChequeDomain } from './types.js'

const CHEQUE_TYPEHASH = keccak256(
  toBytes('Cheque(address payer,address payee,address token,uint128 cumulativeAmount)'),
  'bytes',
)

const keccak = (bytes: Uint8Array): Uint8Array => new Uint8Array(jsSha3.keccak256.arrayBuffer(bytes))

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
  return {
    digest(cheque) {
      struct.fill(0, 32)
      struct.set(addr(cheque.payer), 32 + 12)
      struct.set(addr(cheque.payee), 64 + 12)
      struct.set(addr(cheque.token), 96 + 12)
      writeUint256(struct, 128, cheque.cumulativeAmount)
      outer.set(keccak(struct), 34)
      return keccak(outer)
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
