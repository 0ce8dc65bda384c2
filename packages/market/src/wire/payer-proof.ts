/**
 * Payer binding (v3; review F2/F3 of session 5): the buyer proves, in its hello, that it holds the
 * key of the signer it names. The seller's terms carry a fresh 32-byte nonce; the hello carries an
 * EIP-712 signature by that signer over the payer, the seller's terms, the torrent and that nonce,
 * under the escrow's domain. The seller admits the hello (and looks the payer up on chain) only
 * once it recovers to the signer; from then on every byte on the connection is the payer's debt,
 * checked against its credit window like any other.
 *
 * What this replaced: in v2 a connection was unproven until its first accepted cheque and took an
 * allowance (256 KiB or two pieces) on its hello alone. A buyer naming someone else's payer took it
 * on every reconnection, and a proven payer took it again on every extra connection, beyond its
 * window (test/market/paid-many-connections.test.ts).
 *
 * What it stops: a hello naming a payer whose key the peer lacks (it cannot sign), a hello replayed
 * from another connection (another nonce) or to another seller (another payee). What it cannot stop
 * without channel binding: a peer relaying a live connection of the real buyer (the real buyer
 * signs this nonce) — then the seller serves the relay as that buyer, and the buyer pays only for
 * what verified on its side; the seller's loss is bounded by the payer's window. A relay that keeps
 * the blocks takes that window and leaves it as the buyer's unpaid debt, which locks the buyer out
 * of that seller (docs/security.md, test/market/paid-relay.test.ts).
 *
 * Signing a seller-chosen nonce is safe for the signer key: the digest is an EIP-712 struct of its
 * own type (`PayerHello`), never a cheque (`Cheque`) nor an EIP-191 message.
 */
import { bytesToHex, getAddress, hexToBytes, keccak256, toBytes, type Address, type Hex, type LocalAccount } from 'viem'
import { domainSeparator, keccak256Bytes, parseSignatureBytes, recoverDigestSigner, toCompact64, typedDomain, type ChequeDomain } from '@bitcdn/pay'
import type { TokenUnits } from '@bitcdn/core'
import { marketError } from '../errors.js'
import { checkProofBinding } from './codec.js'

/** EIP-712 type of the payer proof (the domain is the escrow's: name, version, chain id, escrow). */
export const payerProofTypes = {
  PayerHello: [
    { name: 'payer', type: 'address' },
    { name: 'signer', type: 'address' },
    { name: 'payee', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'pricePerGiB', type: 'uint128' },
    { name: 'infoHash', type: 'bytes20' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

/** What one hello's proof covers. */
export interface PayerProofFields {
  /** Chain id and escrow (the EIP-712 domain). */
  domain: ChequeDomain
  payer: Address
  signer: Address
  /** The seller's payee, token and price, from its terms. */
  payee: Address
  token: Address
  pricePerGiB: TokenUnits
  /** The torrent of this connection, 40 hex characters. */
  infoHash: string
  /** The seller's nonce from its terms. */
  nonce: Uint8Array
}

/** The signer key as the buyer holds it (a viem `LocalAccount` is one). */
export type PayerKey = Pick<LocalAccount, 'address' | 'signTypedData'>

function typed(f: PayerProofFields) {
  checkProofBinding(f.infoHash, f.nonce)
  return {
    domain: typedDomain({ chainId: f.domain.chainId, verifyingContract: getAddress(f.domain.verifyingContract) }),
    types: payerProofTypes,
    primaryType: 'PayerHello' as const,
    message: {
      payer: getAddress(f.payer),
      signer: getAddress(f.signer),
      payee: getAddress(f.payee),
      token: getAddress(f.token),
      pricePerGiB: f.pricePerGiB,
      infoHash: `0x${f.infoHash.toLowerCase()}` as Hex,
      nonce: bytesToHex(f.nonce),
    },
  }
}

const PAYER_HELLO_TYPEHASH = keccak256(toBytes('PayerHello(address payer,address signer,address payee,address token,uint128 pricePerGiB,bytes20 infoHash,bytes32 nonce)'), 'bytes')
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/**
 * The EIP-712 digest of one hello's proof, equal to viem's `hashTypedData` of the same struct (a
 * unit test checks it) but without its generic encoder: the seller hashes one per hello before
 * any lookup, and the generic path cost ~5× the key recovery.
 */
export function payerProofDigest(f: PayerProofFields): Uint8Array {
  checkProofBinding(f.infoHash, f.nonce)
  if (typeof f.pricePerGiB !== 'bigint' || f.pricePerGiB < 0n || f.pricePerGiB >> 128n !== 0n) throw marketError('messageInvalid', `price ${String(f.pricePerGiB)} is not a uint128`)
  const struct = Buffer.alloc(8 * 32)
  Buffer.from(PAYER_HELLO_TYPEHASH).copy(struct, 0)
  const addrs = [f.payer, f.signer, f.payee, f.token]
  for (let i = 0; i < 4; i++) {
    const a = addrs[i]!
    if (!ADDRESS.test(a)) throw marketError('messageInvalid', `address ${String(a)}`)
    // an address is its 20 bytes right-aligned in the word
    struct.write(a.slice(2), 32 * (i + 1) + 12, 'hex')
  }
  struct.writeBigUInt64BE(f.pricePerGiB >> 64n, 5 * 32 + 16)
  struct.writeBigUInt64BE(BigInt.asUintN(64, f.pricePerGiB), 5 * 32 + 24)
  // bytes20 is left-aligned (zero-padded on the right), bytes32 fills its word
  struct.write(f.infoHash, 6 * 32, 'hex')
  struct.set(f.nonce, 7 * 32)
  const outer = Buffer.alloc(66)
  outer[0] = 0x19
  outer[1] = 0x01
  outer.set(domainSeparator(f.domain), 2)
  outer.set(keccak256Bytes(struct), 34)
  return keccak256Bytes(outer)
}

/**
 * Sign one hello's proof with the signer key: the 64-byte compact signature the hello carries.
 * @example ch.send({ type: 'hello', payer, signer, nonce, signature: await signPayerProof(key, { domain, payer, signer, payee, token, pricePerGiB, infoHash, nonce: terms.nonce }) })
 */
export async function signPayerProof(key: PayerKey, fields: PayerProofFields): Promise<Uint8Array> {
  const sig = await key.signTypedData(typed(fields))
  return toCompact64(parseSignatureBytes(hexToBytes(sig)))
}

/**
 * Check a hello's proof: it must recover to `fields.signer` for exactly this payer, these terms,
 * torrent and nonce, on the seller's own chain and escrow. Synchronous: a fixed-layout digest and
 * one key recovery, native where libsecp256k1 loaded (183 µs CPU per hello measured at load 3.6; viem's generic encoder cost 439): it runs before any chain
 * lookup, so unsigned hellos cost little.
 * @throws BitcdnError `BITCDN_ERR_PAY_PAYER_UNPROVEN` for a malformed signature or another signer
 * @example verifyPayerProof(hello.signature, { domain, payer: hello.payer, signer: hello.signer, payee, token, pricePerGiB, infoHash, nonce })
 */
export function verifyPayerProof(signature: Uint8Array, fields: PayerProofFields): void {
  const who = recoverDigestSigner(payerProofDigest(fields), signature)
  if (who === undefined) throw marketError('payerUnproven', `the hello of payer ${fields.payer} carries no valid signature`, { payer: fields.payer })
  if (who !== getAddress(fields.signer)) {
    throw marketError('payerUnproven', `the hello of payer ${fields.payer} is signed by ${who}, not the signer ${fields.signer} it names (a payer it holds no key of, or a hello replayed from another connection or seller)`, {
      payer: fields.payer,
      signer: fields.signer,
    })
  }
}
