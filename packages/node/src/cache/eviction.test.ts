import { describe, expect, it } from 'vitest'
import { planEviction, type EvictionCandidate } from './eviction.js'

const c = (infoHash: string, o: Partial<EvictionCandidate> = {}): EvictionCandidate => ({
  infoHash,
  bytes: 100,
  pinned: false,
  inPlace: false,
  bytesServed: 0,
  earnedUnits: 0n,
  lastServedAtMs: 0,
  ...o,
})

describe('planEviction', () => {
  it('evicts nothing while everything fits', () => {
    expect(planEviction([c('a'), c('b')], 300, 100)).toEqual([])
  })

  it('never evicts pinned or in-place content; in-place data does not count', () => {
    const rows = [c('pin', { pinned: true }), c('here', { inPlace: true, bytes: 10_000 }), c('cached')]
    expect(planEviction(rows, 150, 0)).toEqual(['cached'])
    expect(planEviction([c('pin', { pinned: true })], 150, 100)).toBeUndefined()
  })

  it('evicts the least earned per byte first, then least served per byte, then oldest served', () => {
    const rows = [
      c('rich', { earnedUnits: 50n }),
      c('big-earner-but-huge', { earnedUnits: 60n, bytes: 1000 }), // 0.06/byte < 0.5/byte
      c('popular', { bytesServed: 5000 }),
      c('stale', { bytesServed: 5000, lastServedAtMs: 1 }),
      c('idle'),
    ]
    // 1400 stored + 500 incoming in a quota of 900: 1000 must go
    expect(planEviction(rows, 900, 500)).toEqual(['idle', 'popular', 'stale', 'big-earner-but-huge'])
  })

  it('stops as soon as there is room', () => {
    expect(planEviction([c('a'), c('b', { bytesServed: 1 }), c('c', { bytesServed: 2 })], 250, 50)).toEqual(['a'])
  })
})
