/**
 * Binary wire forms of a signed cheque, for the paid BitTorrent extension. Big-endian, fixed size:
 *
 * Full form (140 bytes):
 *   0  payer             20
 *   20 payee             20
 *   40 token             20
 *   60 cumulativeAmount  16  (uint128)
 *   76 signature         64  (EIP-2098 compact: r ‖ yParity·2^255 + s)
 *
 * Session form (80 bytes): cumulativeAmount ‖ signature, when payer, payee and token were fixed by
 * the session handshake.
 */
import { bytesToHex, getAddress, hexToBytes, type Address } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { PayError } from './errors.js'
import { parseSignatureBytes, toCompact64, toSignature65 } from './signature.js'
import type { SignedCheque } from './types.js'

/** Bytes of the full wire form. */
export const CHEQUE_WIRE_BYTES = 140
/** Bytes of the session wire form. */
export const CHEQUE_SESSION_WIRE_BYTES = 80

/** What a session fixes, so the session form can omit it. */
export interface ChequeSession {
  payer: Address
  payee: Address
  token: Address
}

/**
 * Encodes the full 140-byte form.
 * @example const bytes = encodeCheque(signed) // Uint8Array(140)
 */
export function encodeCheque(signed: SignedCheque): Uint8Array {
  const out = new Uint8Array(CHEQUE_WIRE_BYTES)
  out.set(hexToBytes(signed.cheque.payer), 0)
  out.set(hexToBytes(signed.cheque.payee), 20)
  out.set(hexToBytes(signed.cheque.token), 40)
  writeTail(out, 60, signed)
  return out
}

/**
 * Decodes the full form.
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID on a wrong length or a malformed signature
 * @example const signed = decodeCheque(bytes)
 */
export function decodeCheque(bytes: Uint8Array): SignedCheque {
  if (bytes.length !== CHEQUE_WIRE_BYTES) {
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `wire cheque must be ${CHEQUE_WIRE_BYTES} bytes, got ${bytes.length}`)
  }
  return readTail(bytes, 60, {
    payer: getAddress(bytesToHex(bytes.subarray(0, 20))),
    payee: getAddress(bytesToHex(bytes.subarray(20, 40))),
    token: getAddress(bytesToHex(bytes.subarray(40, 60))),
  })
}

/**
 * Encodes the 80-byte session form.
 * @example const bytes = encodeSessionCheque(signed)
 */
export function encodeSessionCheque(signed: SignedCheque): Uint8Array {
  const out = new Uint8Array(CHEQUE_SESSION_WIRE_BYTES)
  writeTail(out, 0, signed)
  return out
}

/**
 * Decodes the session form with the session's payer, payee and token.
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID
 * @example const signed = decodeSessionCheque(bytes, { payer, payee, token })
 */
export function decodeSessionCheque(bytes: Uint8Array, session: ChequeSession): SignedCheque {
  if (bytes.length !== CHEQUE_SESSION_WIRE_BYTES) {
    throw new PayError(
      'BITCDN_ERR_CHEQUE_INVALID',
      `session cheque must be ${CHEQUE_SESSION_WIRE_BYTES} bytes, got ${bytes.length}`,
    )
  }
  return readTail(bytes, 0, session)
}

function writeTail(out: Uint8Array, at: number, signed: SignedCheque): void {
  const amountHex = signed.cheque.cumulativeAmount.toString(16).padStart(32, '0')
  if (amountHex.length > 32) throw new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cumulativeAmount exceeds uint128')
  out.set(Buffer.from(amountHex, 'hex'), at)
  out.set(toCompact64(parseSignatureBytes(hexToBytes(signed.signature))), at + 16)
}

function readTail(bytes: Uint8Array, at: number, who: ChequeSession): SignedCheque {
  const amount = BigInt(`0x${Buffer.from(bytes.subarray(at, at + 16)).toString('hex')}`)
  const signature = toSignature65(parseSignatureBytes(bytes.subarray(at + 16, at + 80)))
  return { cheque: { ...who, cumulativeAmount: tokenUnits(amount) }, signature }
}
