/**
 * The range check every amount gets at the edge of the seller's money path: a token amount the
 * escrow can hold is an integer in 0..2^128−1 (`uint128`). Anything else — negative, larger, not a
 * bigint — is refused with a code before any arithmetic or storage sees it, so no later loop,
 * shift or SQL column can be sized by a hostile number.
 */
import { PayError } from '../cheques/errors.js'

/** 2^128 − 1: the escrow's amount limit. */
export const MAX_UINT128 = (1n << 128n) - 1n

/**
 * Returns `value` when it is a bigint in 0..uint128, else throws.
 * @throws {PayError} BITCDN_ERR_AMOUNT_RANGE
 * @example checkUint128(5n, 'delivered value') // 5n
 */
export function checkUint128(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_UINT128) {
    const shown = typeof value === 'bigint' ? value.toString() : typeof value
    throw new PayError('BITCDN_ERR_AMOUNT_RANGE', `${what} is not an amount within 0..2^128−1 (got ${shown.length > 48 ? shown.slice(0, 48) + '…' : shown})`)
  }
  return value
}
