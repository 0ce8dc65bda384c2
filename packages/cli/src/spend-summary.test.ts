import { describe, expect, it } from 'vitest'
import { spendSummary } from './spend-summary.js'

const A = '0x00000000000000000000000000000000000000aA' as const
const B = '0x00000000000000000000000000000000000000bB' as const
const MiB = 1024 * 1024

describe('spendSummary', () => {
  it('lists each seller by bytes served, with bytes, price and amount, and the total', () => {
    const lines = spendSummary({
      symbol: 'USDC',
      budget: 2_000_000n,
      sellers: [
        { payee: B, verifiedBytes: 10 * MiB, pricePerGiB: 3_000_000n, paid: 29_296n, acknowledged: true },
        { payee: A, verifiedBytes: 100 * MiB, pricePerGiB: 1_000_000n, paid: 97_656n, acknowledged: false },
      ],
      allocations: [{ payee: A, allocated: 500_000n, txHashes: ['0xabc'] }],
    })
    expect(lines[0]).toBe('paid 0.126952 USDC of a 2 USDC budget to 2 seller(s):')
    expect(lines[1]).toBe(`  ${A}  100.0 MiB (104857600 B) at 1 USDC/GiB: 0.097656 USDC  (last cheque not acknowledged yet; the next one to this node covers it)`)
    expect(lines[2]).toBe(`  ${B}  10.0 MiB (10485760 B) at 3 USDC/GiB: 0.029296 USDC`)
    expect(lines[3]).toMatch(/^allocated 0\.5 USDC to 0x0+aA \(tx 0xabc\): collateral .* not spent$/)
  })

  it('leaves out sellers that served nothing verified and were paid nothing', () => {
    const lines = spendSummary({ symbol: 'USDC', budget: 1n, sellers: [{ payee: A, verifiedBytes: 0, pricePerGiB: 1n, paid: 0n, acknowledged: true }], allocations: [] })
    expect(lines).toEqual(['paid 0 USDC of a 0.000001 USDC budget to 0 seller(s)'])
  })
})
