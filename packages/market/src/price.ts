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

/**
 * The largest byte count whose value at `pricePerGiB` (rounded down, as `bytesValue`) is at most
 * `value`: `bytesValue(n) ≤ value ⇔ n ≤ bytesWithin(value)`. Lets a hot path compare Numbers and
 * do the BigInt work only when `value` changes. Capped at `Number.MAX_SAFE_INTEGER` (also the
 * answer for a zero price); a negative `value` gives -1 (no count is worth less than nothing).
 * @example bytesWithin(tokenUnits(1_000_000n), tokenUnits(2_000_000n)) // 536_871_448 (one byte more is worth 1_000_001)
 */
export function bytesWithin(value: bigint, pricePerGiB: TokenUnits): number {
  if (value < 0n) return -1
  if (pricePerGiB <= 0n) return Number.MAX_SAFE_INTEGER
  // floor(n·p / G) ≤ v  ⇔  n·p < (v + 1)·G  ⇔  n ≤ floor(((v + 1)·G − 1) / p)
  const n = ((value + 1n) * GIB - 1n) / pricePerGiB
  return n >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n)
}
