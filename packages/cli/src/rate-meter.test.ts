import { describe, expect, it } from 'vitest'
import { createRateMeter } from './rate-meter.js'

describe('rate meter', () => {
  it('measures bytes per second over its window and forgets older samples', () => {
    const meter = createRateMeter(2000)
    expect(meter.sample(0, 0)).toBe(0)
    expect(meter.sample(1000, 1000)).toBe(1000)
    expect(meter.sample(3000, 2000)).toBe(1500)
    // the 0 ms sample is out of the window now: (7000 - 1000) / 2 s
    expect(meter.sample(7000, 3000)).toBe(3000)
    // a stall shows as a falling rate, not a frozen one
    expect(meter.sample(7000, 5000)).toBe(0)
  })
})
