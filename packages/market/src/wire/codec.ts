/**
 * The `bitcdn_pay` message codec: the payload of a BEP 10 extended message (after its extension id
 * byte). Fixed layouts, big-endian, every field bounded, so decoding needs no allocation sized by
 * the peer and a wrong length is an error, never a misparse.
 *
 *   0 version  1   (PROTOCOL_VERSION; another version is refused, never guessed at)
 *   1 type     1
 *   2 body
 *
 *   terms   (1, seller → buyer)  chainId u64 | escrow 20 | token 20 | payee 20 | pricePerGiB u128 | softAllowance u128
 *                                | nonce 32 (fresh per connection, v3: the buyer's hello must sign it)                = 134 bytes
 *   hello   (2, buyer → seller)  payer 20 | signer 20 | nonce 32 (fresh per connection, v2)
 *                                | signature 64 (EIP-2098) by the signer over the payer, the seller's terms, the
 *                                  torrent and the terms' nonce (wire/payer-proof.ts, v3)                            = 138
 *   proof   (6, seller → buyer)  signature 64 (EIP-2098) by the payee key over the terms, the torrent and the nonce =  66
 *           (wire/payee-proof.ts; v2 — the buyer pays and downloads on a connection only once it verifies)
 *   cheque  (3, buyer → seller)  cumulativeAmount u128 | signature 64 (pay's session wire form)                       =  82
 *   ack     (4, seller → buyer)  cumulative u128 (accepted total) | credit u128 (value the seller still honours)    =  34
 *           (also sent unasked when the payer's credit changes: an allocation seen, a claim, a notice)
 *   refuse  (5, either)          reason u8 | text length u8 | text (UTF-8, ≤ 200 bytes): why the sender leaves        ≤ 204
 *
 * Versions: 1 had a 42-byte hello and no proof (no payee binding); 2 had no payer proof in the
 * hello, so a connection was unproven until its first cheque and got a per-connection allowance
 * that a buyer naming someone else's payer, or reconnecting, could take again and again (review
 * F2/F3 of session 5). `refuse` keeps one layout in
 * every version, so it is decoded whatever its version byte and a peer of another version is
 * refused in its own version (`encodeRefuse(…, version)`): an old peer gets a clean refusal it can
 * read, not a close without a word.
 */
import { bytesToHex, getAddress, hexToBytes, type Address } from 'viem'
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { CHEQUE_SESSION_WIRE_BYTES } from '@bitcdn/pay'
import { marketError } from '../errors.js'

/** The BEP 10 extension name (the key in the `m` dictionary). */
export const PAY_EXTENSION_NAME = 'bitcdn_pay'
/** The protocol version this codec speaks. */
export const PROTOCOL_VERSION = 3
/** Longest message of any type, bytes. */
export const MAX_PAY_MESSAGE_BYTES = 204
const MAX_REFUSE_TEXT = 200
const MAX_U128 = (1n << 128n) - 1n
const MAX_U64 = (1n << 64n) - 1n

/** What the seller asks: who to pay, on which escrow, at what price. */
export interface TermsMessage {
  type: 'terms'
  chainId: number
  escrow: Address
  token: Address
  payee: Address
  /** Token base units per 2^30 bytes. */
  pricePerGiB: TokenUnits
  /** Credit the seller grants against the payer's free escrow balance (beyond allocations). */
  softAllowance: TokenUnits
  /** 32 random bytes, new for each connection: the buyer's hello must sign them (its payer proof). */
  nonce: Uint8Array
}

/**
 * The buyer's answer: the escrow account that pays, the key that signs its cheques, a fresh nonce,
 * and its proof that it holds that key (a signature over the terms' nonce: wire/payer-proof.ts).
 */
export interface HelloMessage {
  type: 'hello'
  payer: Address
  signer: Address
  /** 32 random bytes, new for each connection: the seller's payee proof must sign them. */
  nonce: Uint8Array
  /** 64-byte EIP-2098 compact signature by `signer` over the payer, the terms, the torrent and the terms' nonce. */
  signature: Uint8Array
}

/** The seller's proof that it holds the payee key of its terms (wire/payee-proof.ts). */
export interface ProofMessage {
  type: 'proof'
  /** 64-byte EIP-2098 compact signature. */
  signature: Uint8Array
}

/** A cumulative cheque in the session form (payer, payee and token fixed by terms and hello). */
export interface ChequeMessage {
  type: 'cheque'
  /** The 80-byte session wire form (`encodeSessionCheque`). */
  cheque: Uint8Array
}

/** The seller stored a cheque (or admitted the hello): its accepted total and the credit left. */
export interface AckMessage {
  type: 'ack'
  cumulative: TokenUnits
  /**
   * Value the seller will still serve on credit as of this ack: its window and collateral left,
   * minus blocks granted or reserved.
   * Bytes the buyer receives after the ack, and its requests in flight, count against it.
   */
  credit: TokenUnits
}

/** Reasons carried by `refuse` (the text is for logs only). */
export const RefuseReason = {
  terms: 1,
  payer: 2,
  cheque: 3,
  credit: 4,
  protocol: 5,
  /** The seller's payee proof did not verify (v2). */
  proof: 6,
} as const
export type RefuseReason = (typeof RefuseReason)[keyof typeof RefuseReason]

export interface RefuseMessage {
  type: 'refuse'
  reason: RefuseReason
  text: string
}

export type PayMessage = TermsMessage | HelloMessage | ProofMessage | ChequeMessage | AckMessage | RefuseMessage

/** Bytes of the hello's nonce. */
export const HELLO_NONCE_BYTES = 32
/**
 * What both proofs bind a signature to (wire/payee-proof.ts, wire/payer-proof.ts): this
 * connection's torrent (40 hex characters) and a nonce of `HELLO_NONCE_BYTES`.
 * @throws BitcdnError `BITCDN_ERR_PAY_MESSAGE_INVALID`
 */
export function checkProofBinding(infoHash: string, nonce: Uint8Array): void {
  if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) throw marketError('messageInvalid', `info hash ${infoHash} is not 40 hex characters`)
  if (nonce.length !== HELLO_NONCE_BYTES) throw marketError('messageInvalid', `nonce of ${nonce.length} bytes`)
}

/** Bytes of the proof's compact signature. */
export const PROOF_SIGNATURE_BYTES = 64
const TYPE = { terms: 1, hello: 2, cheque: 3, ack: 4, refuse: 5, proof: 6 } as const
const SIZE: Record<number, number> = { 1: 102 + HELLO_NONCE_BYTES, 2: 42 + HELLO_NONCE_BYTES + PROOF_SIGNATURE_BYTES, 3: 2 + CHEQUE_SESSION_WIRE_BYTES, 4: 34, 6: 2 + PROOF_SIGNATURE_BYTES }
const MAX_REASON = 6

/**
 * Encode a message.
 * @throws BitcdnError `BITCDN_ERR_PAY_MESSAGE_INVALID` for a field out of range
 * @example wire.extended('bitcdn_pay', encodePayMessage({ type: 'hello', payer, signer, nonce, signature }))
 */
export function encodePayMessage(msg: PayMessage): Buffer {
  switch (msg.type) {
    case 'terms': {
      const b = head(msg.type)
      if (!Number.isSafeInteger(msg.chainId) || msg.chainId <= 0) throw invalid(`chainId ${msg.chainId}`)
      b.writeBigUInt64BE(BigInt(msg.chainId), 2)
      addr(b, 10, msg.escrow)
      addr(b, 30, msg.token)
      addr(b, 50, msg.payee)
      u128(b, 70, msg.pricePerGiB)
      u128(b, 86, msg.softAllowance)
      nonce(b, 102, msg.nonce, 'terms')
      return b
    }
    case 'hello': {
      const b = head(msg.type)
      addr(b, 2, msg.payer)
      addr(b, 22, msg.signer)
      nonce(b, 42, msg.nonce, 'hello')
      if (!(msg.signature instanceof Uint8Array) || msg.signature.length !== PROOF_SIGNATURE_BYTES) throw invalid(`hello signature of ${msg.signature?.length} bytes`)
      b.set(msg.signature, 42 + HELLO_NONCE_BYTES)
      return b
    }
    case 'proof': {
      if (!(msg.signature instanceof Uint8Array) || msg.signature.length !== PROOF_SIGNATURE_BYTES) throw invalid(`proof signature of ${msg.signature?.length} bytes`)
      const b = head(msg.type)
      b.set(msg.signature, 2)
      return b
    }
    case 'cheque': {
      if (msg.cheque.length !== CHEQUE_SESSION_WIRE_BYTES) throw invalid(`cheque of ${msg.cheque.length} bytes`)
      const b = head(msg.type)
      b.set(msg.cheque, 2)
      return b
    }
    case 'ack': {
      const b = head(msg.type)
      u128(b, 2, msg.cumulative)
      u128(b, 18, msg.credit)
      return b
    }
    case 'refuse':
      return encodeRefuse(msg)
  }
}

/**
 * Encode a `refuse` in any version (its layout is the same in all): how a peer of another
 * version is told why it is refused, in a message its own decoder reads. Text is cut to 200 bytes.
 * @example wire.extended('bitcdn_pay', encodeRefuse({ type: 'refuse', reason: RefuseReason.protocol, text }, 1))
 */
export function encodeRefuse(msg: RefuseMessage, version: number = PROTOCOL_VERSION): Buffer {
  if (!Number.isInteger(version) || version < 1 || version > 255) throw invalid(`version ${version}`)
  let text = Buffer.from(msg.text, 'utf8')
  if (text.length > MAX_REFUSE_TEXT) text = text.subarray(0, MAX_REFUSE_TEXT)
  const b = Buffer.alloc(4 + text.length)
  b[0] = version
  b[1] = TYPE.refuse
  b[2] = msg.reason
  b[3] = text.length
  b.set(text, 4)
  return b
}

/**
 * Decode a message; every length and field is checked.
 * @throws BitcdnError `BITCDN_ERR_PAY_VERSION` (another version; a `refuse` of any version decodes), `BITCDN_ERR_PAY_MESSAGE_INVALID`
 * @example const msg = decodePayMessage(buf) // { type: 'terms', chainId: 31337, ... }
 */
export function decodePayMessage(buf: Uint8Array): PayMessage {
  if (buf.length < 2) throw invalid(`message of ${buf.length} bytes`)
  if (buf.length > MAX_PAY_MESSAGE_BYTES) throw invalid(`message of ${buf.length} bytes exceeds ${MAX_PAY_MESSAGE_BYTES}`)
  // a refuse reads the same in every version: a peer of another version can still say why it leaves
  if (buf[0] !== PROTOCOL_VERSION && !(buf[1] === TYPE.refuse && buf[0] !== 0)) {
    throw marketError('versionUnsupported', `bitcdn_pay version ${buf[0]} is not supported (this node speaks ${PROTOCOL_VERSION})`, { version: buf[0] })
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const type = b[1]!
  const size = SIZE[type]
  if (size !== undefined && b.length !== size) throw invalid(`message type ${type} has ${b.length} bytes, expected ${size}`)
  switch (type) {
    case TYPE.terms: {
      const chainId = b.readBigUInt64BE(2)
      if (chainId === 0n || chainId > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`chainId ${chainId}`)
      return {
        type: 'terms',
        chainId: Number(chainId),
        escrow: readAddr(b, 10),
        token: readAddr(b, 30),
        payee: readAddr(b, 50),
        pricePerGiB: readU128(b, 70),
        softAllowance: readU128(b, 86),
        nonce: Uint8Array.from(b.subarray(102)),
      }
    }
    case TYPE.hello:
      return { type: 'hello', payer: readAddr(b, 2), signer: readAddr(b, 22), nonce: Uint8Array.from(b.subarray(42, 74)), signature: Uint8Array.from(b.subarray(74)) }
    case TYPE.proof:
      return { type: 'proof', signature: Uint8Array.from(b.subarray(2)) }
    case TYPE.cheque:
      return { type: 'cheque', cheque: Uint8Array.from(b.subarray(2)) }
    case TYPE.ack:
      return { type: 'ack', cumulative: readU128(b, 2), credit: readU128(b, 18) }
    case TYPE.refuse: {
      if (b.length < 4) throw invalid(`refuse message of ${b.length} bytes`)
      const reason = b[2]!
      if (reason < 1 || reason > MAX_REASON) throw invalid(`refuse reason ${reason}`)
      if (b[3] !== b.length - 4) throw invalid(`refuse text of ${b.length - 4} bytes, header says ${b[3]}`)
      return { type: 'refuse', reason: reason as RefuseReason, text: b.subarray(4).toString('utf8') }
    }
    default:
      throw invalid(`unknown message type ${type}`)
  }
}

function head(type: keyof typeof TYPE): Buffer {
  const b = Buffer.alloc(SIZE[TYPE[type]]!)
  b[0] = PROTOCOL_VERSION
  b[1] = TYPE[type]
  return b
}

function addr(b: Buffer, at: number, a: Address): void {
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(getAddress(a))
  } catch {
    throw invalid(`address ${String(a)}`)
  }
  b.set(bytes, at)
}

function nonce(b: Buffer, at: number, n: Uint8Array, what: string): void {
  if (!(n instanceof Uint8Array) || n.length !== HELLO_NONCE_BYTES) throw invalid(`${what} nonce of ${n?.length} bytes`)
  b.set(n, at)
}

function readAddr(b: Buffer, at: number): Address {
  return getAddress(bytesToHex(b.subarray(at, at + 20)))
}

function u128(b: Buffer, at: number, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U128) throw invalid(`amount ${String(v)}`)
  b.writeBigUInt64BE(v >> 64n, at)
  b.writeBigUInt64BE(v & MAX_U64, at + 8)
}

function readU128(b: Buffer, at: number): TokenUnits {
  return tokenUnits((b.readBigUInt64BE(at) << 64n) | b.readBigUInt64BE(at + 8))
}

function invalid(what: string) {
  return marketError('messageInvalid', `bad bitcdn_pay message: ${what}`)
}
