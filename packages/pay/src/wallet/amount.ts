/**
 * Human token amounts ("12.5" USDC) ⇄ base units (12_500_000n). Parsed as decimal strings, never
 * through floats, so every unit is exact; more decimals than the token has is an error, not a
 * silent rounding.
 */
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { PayError } from '../cheques/errors.js'

/**
 * Parses a positive decimal amount.
 * @throws {PayError} BITCDN_ERR_AMOUNT_INVALID
 * @example parseTokenAmount('12.5', 6) // 12_500_000n
 */
export function parseTokenAmount(text: string, decimals = 6, opts: { allowZero?: boolean } = {}): TokenUnits {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim())
  if (!m) throw new PayError('BITCDN_ERR_AMOUNT_INVALID', `'${text}' is not an amount; write e.g. 12.5`)
  const frac = m[2] ?? ''
  if (frac.length > decimals) {
    throw new PayError('BITCDN_ERR_AMOUNT_INVALID', `'${text}' has ${frac.length} decimals; the token has ${decimals}`)
  }
  const units = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0')
  if (units === 0n && !opts.allowZero) throw new PayError('BITCDN_ERR_AMOUNT_INVALID', 'amount must be more than zero')
  return tokenUnits(units)
}

/**
 * Formats base units as a decimal string without trailing zeros.
 * @example formatTokenAmount(12_500_000n, 6) // '12.5'
 */
export function formatTokenAmount(units: bigint, decimals = 6): string {
  const neg = units < 0n
  const v = neg ? -units : units
  const base = 10n ** BigInt(decimals)
  const frac = (v % base).toString().padStart(decimals, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${v / base}${frac ? `.${frac}` : ''}`
}
