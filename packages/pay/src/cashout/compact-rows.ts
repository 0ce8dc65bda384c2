/**
 * The calldata of the escrow's `claimCompact(payee, token, rows)`: cheques of many payers to one
 * payee in one token, 100 bytes a row — `payer(20) | cumulativeAmount(16, big-endian) | r(32) |
 * vs(32)`, where `r, vs` is the ERC-2098 compact signature (yParity in the top bit of s) over the
 * unchanged EIP-712 cheque digest. Against `claim(SignedCheque[])` (321 bytes a row with ABI
 * offsets, a 65-byte signature and the repeated payee and token) this is what makes a claim cheap.
 */
import { bytesToHex, getAddress, hexToBytes, type Address, type Hex } from 'viem'
import { PayError } from '../cheques/errors.js'
import { parseSignatureBytes, toCompact64 } from '../cheques/signature.js'
import { MAX_CUMULATIVE, type SignedCheque } from '../cheques/types.js'

/** Bytes per row, as the escrow's `COMPACT_ROW_BYTES`. */
export const COMPACT_ROW_BYTES = 100

/**
 * Packs cheques that all name `payee` and `token` into `claimCompact` rows, in order.
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID for a cheque to another payee or token, an amount
 *   outside uint128, or a malformed signature
 * @example
 * const rows = encodeCompactRows(payee, usdc, cheques)
 * await walletClient.writeContract({ address: escrow, abi: escrowAbi, functionName: 'claimCompact', args: [payee, usdc, rows] })
 */
export function encodeCompactRows(payee: Address, token: Address, cheques: readonly SignedCheque[]): Hex {
  const to = getAddress(payee)
  const tok = getAddress(token)
  const out = new Uint8Array(cheques.length * COMPACT_ROW_BYTES)
  cheques.forEach((sc, i) => {
    const c = sc.cheque
    if (getAddress(c.payee) !== to || getAddress(c.token) !== tok) {
      throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `compact row ${i} is for ${c.payee}/${c.token}, not ${to}/${tok}`)
    }
    if (typeof c.cumulativeAmount !== 'bigint' || c.cumulativeAmount <= 0n || c.cumulativeAmount > MAX_CUMULATIVE) {
      throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `compact row ${i}: cumulative amount outside uint128`)
    }
    const o = i * COMPACT_ROW_BYTES
    out.set(hexToBytes(getAddress(c.payer)), o)
    out.set(hexToBytes(`0x${c.cumulativeAmount.toString(16).padStart(32, '0')}`), o + 20)
    out.set(toCompact64(parseSignatureBytes(hexToBytes(sc.signature))), o + 36)
  })
  return bytesToHex(out)
}

/** One decoded row of {@link encodeCompactRows}. */
export interface CompactRow {
  payer: Address
  cumulativeAmount: bigint
  /** The 64-byte ERC-2098 signature (r ‖ vs). */
  signature: Hex
}

/**
 * Unpacks `claimCompact` rows (e.g. from a claim transaction's input).
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID if the length is not a whole number of rows
 * @example const [first] = decodeCompactRows(rows)
 */
export function decodeCompactRows(rows: Hex): CompactRow[] {
  const bytes = hexToBytes(rows)
  if (bytes.length % COMPACT_ROW_BYTES !== 0) {
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `compact rows must be a multiple of ${COMPACT_ROW_BYTES} bytes, got ${bytes.length}`)
  }
  const out: CompactRow[] = []
  for (let o = 0; o < bytes.length; o += COMPACT_ROW_BYTES) {
    out.push({
      payer: getAddress(bytesToHex(bytes.subarray(o, o + 20))),
      cumulativeAmount: BigInt(bytesToHex(bytes.subarray(o + 20, o + 36))),
      signature: bytesToHex(bytes.subarray(o + 36, o + 100)),
    })
  }
  return out
}
