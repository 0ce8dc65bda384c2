import { describe, expect, it } from 'vitest'
import { overShare, sellerWeights } from './buyer-policy.js'

const s = (id: string, price: bigint, extra: Partial<{ throughput: number; good: number; bad: number }> = {}) => ({ id, pricePerGiB: price, throughput: 0, good: 0, bad: 0, ...extra })
const MiB = 1024 * 1024

describe('sellerWeights', () => {
  it('gives cheaper sellers deeper pipelines and larger shares (price squared)', () => {
    const w = sellerWeights([s('a', 1_000n), s('b', 2_000n), s('c', 4_000n)])
    expect(w.get('a')!.depth).toBe(500)
    expect(w.get('b')!.depth).toBe(125)
    expect(w.get('c')!.depth).toBe(31)
    // 1 : 1/4 : 1/16 of 21/16
    expect(w.get('a')!.share).toBeCloseTo(16 / 21, 6)
    expect(w.get('b')!.share).toBeCloseTo(4 / 21, 6)
    expect(w.get('c')!.share).toBeCloseTo(1 / 21, 6)
  })

  it('keeps only maxSellers, the rest on standby at depth 0 and share 0', () => {
    const w = sellerWeights([s('a', 1n), s('b', 2n), s('c', 3n)], { maxSellers: 2 })
    expect(w.get('c')).toEqual({ depth: 0, share: 0 })
    expect(w.get('a')!.depth).toBeGreaterThan(0)
    expect(w.get('a')!.share + w.get('b')!.share).toBeCloseTo(1, 9)
  })

  it('an unreliable seller ranks below an equally priced reliable one', () => {
    const w = sellerWeights([s('good', 1n, { good: 10 }), s('bad', 1n, { good: 1, bad: 9 })])
    expect(w.get('good')!.depth).toBeGreaterThan(w.get('bad')!.depth)
    expect(w.get('good')!.share).toBeGreaterThan(w.get('bad')!.share)
  })

  it('a faster seller gets more requests at the same price, within a clamp', () => {
    const w = sellerWeights([s('fast', 1n, { throughput: 100 }), s('slow', 1n, { throughput: 10 }), s('mid', 1n, { throughput: 50 })])
    expect(w.get('fast')!.depth).toBe(500)
    expect(w.get('slow')!.depth).toBeLessThan(w.get('mid')!.depth)
    expect(w.get('slow')!.depth).toBe(Math.round((500 * 0.5) / 2))
  })

  it('never divides by a zero price or returns a negative depth', () => {
    const w = sellerWeights([s('free', 0n), s('paid', 5n)])
    for (const v of w.values()) {
      expect(v.depth).toBeGreaterThanOrEqual(0)
      expect(v.share).toBeGreaterThanOrEqual(0)
    }
    expect(w.get('free')!.depth).toBe(500)
  })
})

describe('overShare', () => {
  const st = (id: string, share: number, mib: number, delivering = true) => ({ id, share, receivedBytes: mib * MiB, delivering })

  it('holds a dear seller that ran ahead of its share while a cheaper one behind its share delivers', () => {
    const standings = [st('cheap', 0.8, 60), st('dear', 0.2, 40)]
    expect(overShare('dear', standings, 4 * MiB)).toBe(true)
    expect(overShare('cheap', standings, 4 * MiB)).toBe(false)
  })

  it('lets a seller run ahead within the slack', () => {
    expect(overShare('dear', [st('cheap', 0.8, 80), st('dear', 0.2, 23)], 4 * MiB)).toBe(false)
  })

  it('a stalled cheaper seller holds nobody back', () => {
    expect(overShare('dear', [st('cheap', 0.8, 10, false), st('dear', 0.2, 90)], 4 * MiB)).toBe(false)
  })

  it('an unknown seller is never held', () => {
    expect(overShare('nobody', [st('cheap', 1, 10)], 0)).toBe(false)
  })
})
