import { describe, expect, it } from 'vitest'
import { unchokeSort, type ChokePeer } from './choker.js'
import { RateLimiter } from './rate-limit.js'

const peer = (id: string, down: number, up = 0, interested = true): ChokePeer => ({
  id, interested, downloadRate: down, uploadRate: up, unchoked: false,
})

describe('unchokeSort', () => {
  it('unchokes the interested peers that give us most, plus one optimistic', () => {
    const peers = [peer('a', 10), peer('b', 30), peer('c', 20), peer('d', 0, 0, false), peer('e', 5)]
    const d = unchokeSort(peers, { slots: 2, seeding: false, now: 0, random: () => 0 })
    expect([...d.unchoke].sort()).toEqual(['a', 'b', 'c'])
    expect([...d.optimistic.keys()]).toEqual(['a'])
    expect(d.unchoke.has('d')).toBe(false)
  })

  it('ranks by upload rate while seeding', () => {
    const peers = [peer('a', 100, 1), peer('b', 0, 50)]
    const d = unchokeSort(peers, { slots: 1, optimisticSlots: 0, seeding: true, now: 0 })
    expect([...d.unchoke]).toEqual(['b'])
  })

  it('keeps the optimistic peer for 30 s, then rotates to one that had no turn', () => {
    const peers = [peer('a', 9), peer('b', 1), peer('c', 1)]
    const first = unchokeSort(peers, { slots: 1, seeding: false, now: 0, random: () => 0 })
    const opt = [...first.optimistic.keys()][0]!
    const kept = unchokeSort(peers, { slots: 1, seeding: false, now: 10_000, optimistic: first.optimistic })
    expect([...kept.optimistic.keys()]).toEqual([opt])
    const marked = peers.map((p) => (p.id === opt ? { ...p, optimisticAt: 0 } : p))
    const rotated = unchokeSort(marked, { slots: 1, seeding: false, now: 31_000, optimistic: first.optimistic })
    expect([...rotated.optimistic.keys()]).not.toEqual([opt])
  })
})

describe('RateLimiter', () => {
  it('lets a burst through, then refills at the rate', () => {
    let now = 0
    const rl = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 1000 }, { now: () => now })
    expect(rl.take(1000)).toBe(true)
    expect(rl.take(1)).toBe(false)
    expect(rl.waitMs(500)).toBe(500)
    now = 500
    expect(rl.take(500)).toBe(true)
  })
  it('never blocks when unlimited', () => {
    const rl = new RateLimiter({ bytesPerSecond: 0 })
    expect(rl.take(1e12)).toBe(true)
  })
})
