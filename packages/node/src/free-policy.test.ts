import { describe, expect, it } from 'vitest'
import type { ChokePeer } from '@bitcdn/swarm'
import { freeChokePolicy, freePolicy } from './free-policy.js'

const peer = (id: string): ChokePeer => ({ id, interested: true, downloadRate: 0, uploadRate: 100, unchoked: false })

describe('free policy', () => {
  it('serves everything when enabled, else only listed or --free pins', () => {
    const pinnedFree = (h: string) => h === 'cc'.repeat(20)
    expect(freePolicy({ free: { enabled: true, infoHashes: [] } }, pinnedFree)('aa'.repeat(20))).toBe(true)
    const off = freePolicy({ free: { enabled: false, infoHashes: ['bb'.repeat(20)] } }, pinnedFree)
    expect(off('aa'.repeat(20))).toBe(false)
    expect(off('bb'.repeat(20))).toBe(true)
    expect(off('cc'.repeat(20))).toBe(true)
  })

  it('the choker unchokes interested peers of free torrents only', () => {
    const policy = freeChokePolicy((h) => h === 'ff'.repeat(20))
    const peers = [peer('a'), peer('b')]
    expect(policy.unchokeSort(peers, { slots: 4, seeding: true, now: 0, infoHash: 'ff'.repeat(20) }).unchoke.size).toBe(2)
    expect(policy.unchokeSort(peers, { slots: 4, seeding: true, now: 0, infoHash: '00'.repeat(20) }).unchoke.size).toBe(0)
    expect(policy.unchokeSort(peers, { slots: 4, seeding: true, now: 0 }).unchoke.size).toBe(0)
  })
})
