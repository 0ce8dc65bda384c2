import { describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { budgetedAllocator } from './gateway-payment.js'

const A = '0x00000000000000000000000000000000000000a1' as Address
const B = '0x00000000000000000000000000000000000000b2' as Address
const T = '0x00000000000000000000000000000000000000c3' as Address

describe('budgetedAllocator', () => {
  it('never allocates more than the budget across all nodes, and never lowers a target', async () => {
    const sent: [string, bigint][] = []
    const a = budgetedAllocator(1000n, async (payee, amount) => void sent.push([payee, amount]))
    await a.ensureAllocation(A, T, tokenUnits(600n))
    await a.ensureAllocation(B, T, tokenUnits(600n)) // only 400 left beside A's 600
    await a.ensureAllocation(A, T, tokenUnits(500n)) // below A's target: nothing sent
    expect(sent.map(([p, n]) => [p.toLowerCase(), n])).toEqual([
      [A, 600n],
      [B, 400n],
    ])
    await a.ensureAllocation(B, T, tokenUnits(900n)) // the budget is spent: nothing more
    expect(sent).toHaveLength(2)
    expect([...a.targets().values()].reduce((s, x) => s + x, 0n)).toBe(1000n)
  })

  it('forgets a target whose transaction failed, so a later top-up retries it', async () => {
    let fail = true
    const sent: bigint[] = []
    const a = budgetedAllocator(1000n, async (_p, amount) => {
      if (fail) throw new Error('InsufficientBalance')
      sent.push(amount)
    })
    await expect(a.ensureAllocation(A, T, tokenUnits(300n))).rejects.toThrow('InsufficientBalance')
    fail = false
    await a.ensureAllocation(A, T, tokenUnits(300n))
    expect(sent).toEqual([300n])
  })
})
