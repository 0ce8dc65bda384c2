import { describe, expect, it } from 'vitest'
import { createStallWatchdog } from './stall-watchdog.js'

describe('stall watchdog', () => {
  it('fires only after the counter stood still for the whole timeout', () => {
    const w = createStallWatchdog(1000, 0)
    expect(w.stalled(0, 0)).toBe(false)
    expect(w.stalled(0, 900)).toBe(false)
    expect(w.stalled(10, 1500)).toBe(false) // moved: the clock restarts
    expect(w.stalled(10, 2400)).toBe(false)
    expect(w.stalled(10, 2600)).toBe(true)
  })
})
