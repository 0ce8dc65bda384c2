import { describe, expect, it } from 'vitest'
import { TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('starts full, empties, refills at its rate up to the burst', () => {
    let t = 0
    const b = new TokenBucket({ ratePerSecond: 2, burst: 3 }, () => t)
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false])
    expect(b.waitMs()).toBe(500)
    t = 500
    expect(b.take()).toBe(true)
    t = 100_000
    expect([b.take(3), b.take()]).toEqual([true, false])
  })

  it('a rate of 0 never limits', () => {
    const b = new TokenBucket({ ratePerSecond: 0, burst: 0 })
    expect(b.unlimited).toBe(true)
    expect(b.take(1e12)).toBe(true)
    expect(b.waitMs(1e12)).toBe(0)
  })
})
