import { describe, expect, it } from 'vitest'
import { RateMeter } from './rate-meter.js'

describe('RateMeter', () => {
  it('measures bytes per second over a window, the first window outright', () => {
    const m = new RateMeter({ windowMs: 250 }, 0)
    expect(m.add(1000, 100)).toBe(false)
    expect(m.add(1000, 250)).toBe(true)
    expect(m.rate(250)).toBe(8000)
  })

  it('averages later windows with weight one half', () => {
    const m = new RateMeter({ windowMs: 100 }, 0)
    m.add(1000, 100) // 10000 B/s
    m.add(0, 200) // 0 B/s
    expect(m.rate(200)).toBe(5000)
  })

  it('an idle source decays when read, unless fed on a fixed tick', () => {
    const idle = new RateMeter({ windowMs: 100 }, 0)
    idle.add(1000, 100)
    expect(idle.rate(1000)).toBe(5000)
    const ticked = new RateMeter({ windowMs: 1, idleDecay: false }, 0)
    ticked.add(1000, 1000)
    expect(ticked.rate(5000)).toBe(1000)
  })
})
