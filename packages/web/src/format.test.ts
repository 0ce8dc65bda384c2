import { describe, expect, it } from 'vitest'
import { esc, formatBytes, formatUsdc } from './format.js'

describe('formatting', () => {
  it('formats token base units exactly (6 decimals, bigint), beyond float precision', () => {
    expect(formatUsdc('500000')).toBe('0.5 USDC')
    expect(formatUsdc('0')).toBe('0 USDC')
    expect(formatUsdc('123456789012345678901')).toBe('123456789012345.678901 USDC')
    expect(formatUsdc(undefined)).toBe('—')
  })
  it('formats bytes in binary units', () => {
    expect(formatBytes('512')).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.50 KiB')
    expect(formatBytes(String(4 * 2 ** 30))).toBe('4.00 GiB')
  })
  it('escapes markup from the API', () => {
    expect(esc('<img src=x onerror="a">')).toBe('&#60;img src=x onerror=&#34;a&#34;&#62;')
  })
})
