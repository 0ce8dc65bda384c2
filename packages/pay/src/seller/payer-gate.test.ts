import { describe, expect, it } from 'vitest'
import { createPayerGate } from './payer-gate.js'

describe('payer gate', () => {
  it('token bucket: burst, then refill at the rate', () => {
    let t = 0
    const gate = createPayerGate({ lookupBurst: 3, lookupsPerSecond: 2 }, () => t)
    expect([gate.tryLookup(), gate.tryLookup(), gate.tryLookup(), gate.tryLookup()]).toEqual([true, true, true, false])
    t += 499
    expect(gate.tryLookup()).toBe(false)
    t += 1
    expect(gate.tryLookup()).toBe(true)
    t += 60_000 // refills to the burst, not beyond
    expect([gate.tryLookup(), gate.tryLookup(), gate.tryLookup(), gate.tryLookup()]).toEqual([true, true, true, false])
    expect(gate.lookups).toBe(7)
    expect(gate.limited).toBe(3)
  })
  it('negative cache: expires after the TTL, drops the least recently used past its size', () => {
    let t = 0
    const gate = createPayerGate({ negativeCacheSize: 2, negativeTtlMs: 1000 }, () => t)
    gate.reject('a')
    gate.reject('b')
    expect(gate.isRejected('a')).toBe(true) // a is now the most recent
    gate.reject('c') // drops b
    expect([gate.isRejected('a'), gate.isRejected('b'), gate.isRejected('c')]).toEqual([true, false, true])
    t += 1000
    expect(gate.isRejected('a')).toBe(false)
  })
})
