import { describe, expect, it } from 'vitest'
import { createPeerBudget } from './peer-budget.js'

describe('peer budget (signature checks per connection)', () => {
  it('allows the burst, then the refill rate, per peer', () => {
    let now = 0
    const b = createPeerBudget({ burst: 3, perSecond: 2 }, () => now)
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false])
    expect(b.take('b')).toBe(true) // another peer has its own bucket
    now += 500 // one check regained
    expect([b.take('a'), b.take('a')]).toEqual([true, false])
    now += 10_000 // never more than the burst
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false])
  })
  it('keeps at most maxPeers buckets; a forgotten peer starts full', () => {
    const now = 0
    const b = createPeerBudget({ burst: 1, perSecond: 0, maxPeers: 2 }, () => now)
    expect(b.take('a')).toBe(true)
    expect(b.take('a')).toBe(false)
    b.forget('a')
    expect(b.take('a')).toBe(true)
    b.take('b')
    b.take('c') // evicts the least recently used ('a')
    expect(b.take('c')).toBe(false)
  })
})
