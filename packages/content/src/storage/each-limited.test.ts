import { describe, expect, it } from 'vitest'
import { eachLimited } from './each-limited.js'

describe('eachLimited', () => {
  it('visits every item with at most `limit` in flight', async () => {
    let inFlight = 0
    let peak = 0
    const seen: number[] = []
    await eachLimited([...Array(50).keys()], 7, async (i) => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((r) => setTimeout(r, i % 3))
      seen.push(i)
      inFlight--
    })
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()])
    expect(peak).toBe(7)
  })

  it('rejects with the first error only after every started call settled', async () => {
    const settled: number[] = []
    const err = await eachLimited([0, 1, 2, 3, 4, 5], 3, async (i) => {
      await new Promise((r) => setTimeout(r, i === 0 ? 1 : 20))
      settled.push(i)
      if (i === 0) throw new Error('boom')
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('boom')
    expect(settled.sort()).toEqual([0, 1, 2]) // 1 and 2 were in flight and finished; 3.. never started
  })
})
