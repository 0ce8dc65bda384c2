import { describe, expect, it } from 'vitest'
import { estimateEarnings, parseUsdc } from './estimate.js'

const GiB = 1 << 30

describe('earnings estimate', () => {
  it('shares the proven daily demand equally among the nodes online plus you, at your price', () => {
    // 4 GiB proven over 12 h → 8 GiB/day; 3 nodes + you → 2 GiB/day each; at 0.5 USDC/GiB → 1 USDC/day
    const proven = [{ at: 0, value: String(10 * GiB) }, { at: 6 * 3600_000, value: String(12 * GiB) }, { at: 12 * 3600_000, value: String(14 * GiB) }]
    const e = estimateEarnings({ proven, nodesOnline: 3, pricePerGiB: 500_000n })
    expect(e.networkBytesPerDay).toBe(8n * BigInt(GiB))
    expect(e.shareBytesPerDay).toBe(2n * BigInt(GiB))
    expect(e.perDay).toBe(1_000_000n)
    expect(e.reason).toBeUndefined()
  })

  it('is zero with a reason when nothing was proven, or the window is too short — never a guess', () => {
    const flat = estimateEarnings({ proven: [{ at: 0, value: '5' }, { at: 3600_000, value: '5' }], nodesOnline: 2, pricePerGiB: 1n })
    expect(flat.perDay).toBe(0n)
    expect(flat.reason).toMatch(/no bytes were proven/)
    const short = estimateEarnings({ proven: [{ at: 0, value: '0' }, { at: 1000, value: String(GiB) }], nodesOnline: 0, pricePerGiB: 1_000_000n })
    expect(short.perDay).toBe(0n)
    expect(short.reason).toMatch(/less than a minute/)
    const down = estimateEarnings({ proven: [{ at: 0, value: '100' }, { at: 3600_000, value: '10' }], nodesOnline: 1, pricePerGiB: 1n })
    expect(down.provenInWindow).toBe(0n)
  })

  it('parses USDC amounts exactly and refuses anything else', () => {
    expect(parseUsdc('0.50')).toBe(500_000n)
    expect(parseUsdc('2')).toBe(2_000_000n)
    expect(parseUsdc('1.0000001')).toBeUndefined()
    expect(parseUsdc('-1')).toBeUndefined()
    expect(parseUsdc('abc')).toBeUndefined()
  })
})
