import { describe, expect, it } from 'vitest'
import { randomInt } from 'node:crypto'
import { tokenUnits } from '@bitcdn/core'
import { bytesValue, bytesWithin } from './price.js'

describe('bytesWithin', () => {
  it('is the exact inverse of bytesValue: n ≤ bytesWithin(v) ⇔ bytesValue(n) ≤ v', () => {
    const prices = [1n, 7n, 1_000_000n, 2_000_000n, 4_000_000n, 999_999_937n, (1n << 30n) - 1n, 1n << 30n, 3n << 30n, 10n ** 12n]
    for (const p of prices) {
      const price = tokenUnits(p)
      for (let i = 0; i < 2000; i++) {
        const v = BigInt(randomInt(0, 2 ** 40))
        const n = bytesWithin(v, price)
        if (n < Number.MAX_SAFE_INTEGER) {
          expect(bytesValue(n, price) <= v).toBe(true)
          expect(bytesValue(n + 1, price) > v).toBe(true)
        } else {
          expect(bytesValue(Number.MAX_SAFE_INTEGER, price) <= v).toBe(true)
        }
      }
      // the edges: nothing allowed, and the first unit
      expect(bytesValue(bytesWithin(0n, price), price)).toBe(0n)
      expect(bytesValue(bytesWithin(0n, price) + 1, price) > 0n).toBe(true)
    }
  })

  it('a zero price allows any count; a negative value none', () => {
    expect(bytesWithin(0n, tokenUnits(0n))).toBe(Number.MAX_SAFE_INTEGER)
    expect(bytesWithin(-1n, tokenUnits(1_000_000n))).toBe(-1)
  })
})
