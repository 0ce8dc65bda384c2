import { describe, expect, it } from 'vitest'
import { formatTokenAmount, parseTokenAmount } from './amount.js'

describe('token amounts', () => {
  it.each([
    ['12.5', 12_500_000n],
    ['0.000001', 1n],
    ['1', 1_000_000n],
    ['100000', 100_000_000_000n],
  ])('parses %s', (text, units) => {
    expect(parseTokenAmount(text, 6)).toBe(units)
    expect(parseTokenAmount(formatTokenAmount(units, 6), 6)).toBe(units)
  })
  it.each(['1.0000001', '-1', '1e6', '', 'abc', '0', '1.'])('rejects %j', (text) => {
    expect(() => parseTokenAmount(text, 6)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_AMOUNT_INVALID' }))
  })
  it('formats', () => {
    expect(formatTokenAmount(12_500_000n)).toBe('12.5')
    expect(formatTokenAmount(0n)).toBe('0')
  })
})
