/**
 * Payee binding (review F9): the seller proves, on each connection, that it holds the key of the
 * payee its terms name. The buyer's hello carries a fresh 32-byte nonce; the seller answers with
 * an EIP-712 signature by the payee key over its terms, the torrent and that nonce, under the
 * escrow's domain (so chain id and escrow are bound too). The buyer downloads on the connection and
 * joins it to that payee's account only once the signature recovers to the payee.
 *
 * What this stops: a peer naming another node's payee (it cannot sign), terms and proofs replayed
 * from another connection (another nonce), a proof made for another chain, escrow, token, price or
 * torrent. What it cannot stop without channel binding: a peer relaying a live connection to the
 * real payee (it gets the real payee to sign this nonce) — a proxy of the real seller's terms; the
 * buyer then pays the real payee for verified bytes, and that payee refuses cheques above what it
 * served (docs/security.md).
 *
 * Signing attacker-chosen nonces is safe for the payee key: the digest is an EIP-712 struct hash of
 * its own type (`PayeeTerms`), never a cheque (`Cheque`) nor an EIP-191 message (registrations).
 */
import { recoverTypedDataAddress, bytesToHex, getAddress, type Address, type Hex, type LocalAccount } from 'viem'
import { parseSignatureBytes, toCompact64, toSignature65, typedDomain, type ChequeDomain } from '@bitcdn/pay'
import type { TokenUnits } from '@bitcdn/core'
import { marketError } from '../errors.js'
import { checkProofBinding } from './codec.js'

/** EIP-712 type of the proof (the domain is the escrow's: name, version, chain id, escrow). */
export const payeeProofTypes = {
  PayeeTerms: [
    { name: 'payee', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'pricePerGiB', type: 'uint128' },
    { name: 'softAllowance', type: 'uint128' },
    { name: 'infoHash', type: 'bytes20' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

/** What one connection's proof covers. */
export interface PayeeProofFields {
  /** Chain id and escrow (the EIP-712 domain). */
  domain: ChequeDomain
  payee: Address
  token: Address
  pricePerGiB: TokenUnits
  softAllowance: TokenUnits
  /** The torrent of this connection, 40 hex characters. */
  infoHash: string
  /** The buyer's nonce from its hello. */
  nonce: Uint8Array
}

/** The payee key as the seller holds it (a viem `LocalAccount` is one). */
export type PayeeKey = Pick<LocalAccount, 'address' | 'signTypedData'>

function typed(f: PayeeProofFields) {
  checkProofBinding(f.infoHash, f.nonce)
  return {
    domain: typedDomain({ chainId: f.domain.chainId, verifyingContract: getAddress(f.domain.verifyingContract) }),
    types: payeeProofTypes,
    primaryType: 'PayeeTerms' as const,
    message: {
      payee: getAddress(f.payee),
      token: getAddress(f.token),
      pricePerGiB: f.pricePerGiB,
      softAllowance: f.softAllowance,
      infoHash: `0x${f.infoHash.toLowerCase()}` as Hex,
      nonce: bytesToHex(f.nonce),
    },
  }
}

/**
 * Sign one connection's proof with the payee key: the 64-byte compact signature the `proof` message carries.
 * @example ch.send({ type: 'proof', signature: await signPayeeProof(payeeKey, { domain, payee, token, pricePerGiB, softAllowance, infoHash, nonce }) })
 */
export async function signPayeeProof(key: PayeeKey, fields: PayeeProofFields): Promise<Uint8Array> {
  const sig = await key.signTypedData(typed(fields))
  return toCompact64(parseSignatureBytes(Buffer.from(sig.slice(2), 'hex')))
}

/**
 * Check a proof: it must recover to `fields.payee` for exactly these terms, torrent and nonce, on
 * the buyer's own chain and escrow.
 * @throws BitcdnError `BITCDN_ERR_PAY_PAYEE_UNPROVEN` for a malformed signature or another signer
 * @example await verifyPayeeProof(msg.signature, { domain: ourDomain, ...terms, infoHash, nonce })
 */
export async function verifyPayeeProof(signature: Uint8Array, fields: PayeeProofFields): Promise<void> {
  let signer: Address
  try {
    signer = await recoverTypedDataAddress({ ...typed(fields), signature: toSignature65(parseSignatureBytes(signature)) })
  } catch (cause) {
    throw marketError('payeeUnproven', `payee proof of ${fields.payee} is not a valid signature`, { payee: fields.payee }, cause)
  }
  if (signer !== getAddress(fields.payee)) {
    throw marketError('payeeUnproven', `payee proof is signed by ${signer}, not the payee ${fields.payee} the terms name (terms replayed, another node's payee, or another chain or escrow)`, {
      payee: fields.payee,
      signer,
    })
  }
}
