import { GiB, KiB, MiB } from '@bitcdn/core'
import { describe, expect, it } from 'vitest'
import { pieceLengthFor } from './piece-length.js'

describe('pieceLengthFor', () => {
  it.each([
    [1, 256 * KiB],
    [30 * MiB, 256 * KiB],
    [500 * MiB, 256 * KiB],
    [600 * MiB, 512 * KiB],
    [1 * GiB, 1 * MiB],
    [4 * GiB, 4 * MiB],
    [1024 * GiB, 16 * MiB],
  ])('%d bytes → %d-byte pieces', (total, expected) => {
    expect(pieceLengthFor(total)).toBe(expected)
  })

  it('keeps between 1000 and 2000 pieces between the clamps', () => {
    for (let total = 520 * MiB; total <= 16 * GiB; total = Math.floor(total * 1.37)) {
      const pieces = Math.ceil(total / pieceLengthFor(total))
      expect(pieces).toBeGreaterThan(1000)
      expect(pieces).toBeLessThanOrEqual(2000)
    }
  })
})
