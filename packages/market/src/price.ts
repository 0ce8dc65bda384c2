/**
 * Prices are per GiB in token base units; the value of a byte count is rounded down, always on the
 * cumulative count (value(total) − value(paid so far)), so rounding never accumulates: a seller's
 * accepted cheques equal its verified bytes × price / 2^30 rounded down, within one base unit.
 */
import { tokenUnits, type TokenUnits } from '@bitcdn/core'

const GIB = 1n << 30n

/**
 * Value of `bytes` at `pricePerGiB`, rounded down.
 * @example bytesValue(512 * 1024 * 1024, tokenUnits(2_000_000n)) // 1_000_000n
 */
export function bytesValue(bytes: number, pricePerGiB: TokenUnits): TokenUnits {
  return tokenUnits((BigInt(bytes) * pricePerGiB) / GIB)
}
