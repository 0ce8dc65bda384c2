import { describe, expect, it } from 'vitest'
import { sellerWeights } from './buyer-policy.js'

const s = (id: string, price: bigint, extra: Partial<{ throughput: number; good: number; bad: number }> = {}) => ({ id, pricePerGiB: price, throughput: 0, good: 0, bad: 0, ...extra })

describe('sellerWeights', () => {
  it('gives cheaper sellers deeper pipelines (price squared)', () => {
    const w = sellerWeights([s('a', 1_000n), s('b', 2_000n), s('c', 4_000n)])
    expect(w.get('a')).toBe(64)
    expect(w.get('b')).toBe(16)
    expect(w.get('c')).toBe(4)
  })

  it('keeps only maxSellers, the rest on standby at depth 0', () => {
    const w = sellerWeights([s('a', 1n), s('b', 2n), s('c', 3n)], { maxSellers: 2 })
    expect(w.get('c')).toBe(0)
    expect(w.get('a')).toBeGreaterThan(0)
  })

  it('an unreliable seller ranks below an equally priced reliable one', () => {
    const w = sellerWeights([s('good', 1n, { good: 10 }), s('bad', 1n, { good: 1, bad: 9 })])
    expect(w.get('good')!).toBeGreaterThan(w.get('bad')!)
  })

  it('a faster seller gets more requests at the same price, within a clamp', () => {
    const w = sellerWeights([s('fast', 1n, { throughput: 100 }), s('slow', 1n, { throughput: 10 }), s('mid', 1n, { throughput: 50 })])
    expect(w.get('fast')).toBe(64)
    expect(w.get('slow')!).toBeLessThan(w.get('mid')!)
    expect(w.get('slow')).toBe(Math.round(64 * 0.5 / 2))
  })

  it('never divides by a zero price or returns a negative depth', () => {
    const w = sellerWeights([s('free', 0n), s('paid', 5n)])
    for (const v of w.values()) expect(v).toBeGreaterThanOrEqual(0)
    expect(w.get('free')).toBe(64)
  })
})
