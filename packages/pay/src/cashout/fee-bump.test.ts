import { describe, expect, it } from 'vitest'
import { bumped, nextFees, repriceIntervalMs } from './fee-bump.js'

const gwei = 1_000_000_000n

describe('fee bump (replacement-by-fee)', () => {
  it('raises both EIP-1559 fees by at least the replacement rule, and the fee cap to what the base fee needs', () => {
    const old = { maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: gwei }
    const quiet = nextFees({ fees: old, baseFeePerGas: gwei / 2n, gasPrice: 0n })!
    expect(quiet.maxFeePerGas).toBe(2_250_000_000n) // +12.5%
    expect(quiet.maxPriorityFeePerGas).toBe(1_125_000_000n)
    // both at least +10%: what geth and anvil require of a replacement
    expect(quiet.maxFeePerGas! * 10n >= old.maxFeePerGas * 11n && quiet.maxPriorityFeePerGas! * 10n >= old.maxPriorityFeePerGas * 11n).toBe(true)
    const busy = nextFees({ fees: old, baseFeePerGas: 30n * gwei, gasPrice: 0n })!
    expect(busy.maxFeePerGas).toBe(60n * gwei + 1_125_000_000n)
    expect(bumped(0n, 125)).toBe(1n) // a zero tip still rises
    expect(nextFees({ fees: old, baseFeePerGas: 0n, gasPrice: 0n, bumpPermille: 50 })!.maxFeePerGas).toBe(2_200_000_000n) // never below 10%
  })

  it('a claim without a deadline stops at the gas cap; one that cannot bump validly under it waits', () => {
    const old = { maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: gwei }
    expect(nextFees({ fees: old, baseFeePerGas: 30n * gwei, gasPrice: 0n, capWei: 5n * gwei })).toEqual({ maxFeePerGas: 5n * gwei, maxPriorityFeePerGas: 1_125_000_000n })
    expect(nextFees({ fees: old, baseFeePerGas: 30n * gwei, gasPrice: 0n, capWei: 2_100_000_000n })).toBeUndefined()
  })

  it('legacy transactions bump the gas price, to the node’s current price if that is higher', () => {
    expect(nextFees({ fees: { gasPrice: 10n } , gasPrice: 5n })).toEqual({ gasPrice: 12n })
    expect(nextFees({ fees: { gasPrice: 10n }, gasPrice: 50n })).toEqual({ gasPrice: 50n })
    expect(nextFees({ fees: { gasPrice: 10n }, gasPrice: 50n, capWei: 11n })).toBeUndefined()
  })

  it('reprices sooner as a deadline nears', () => {
    expect(repriceIntervalMs(60_000, 1_000n)).toBe(60_000)
    expect(repriceIntervalMs(60_000, 1_000n, 1_000n + 3_600n)).toBe(60_000)
    expect(repriceIntervalMs(60_000, 1_000n, 1_040n)).toBe(10_000)
    expect(repriceIntervalMs(60_000, 1_000n, 1_002n)).toBe(1_000)
    expect(repriceIntervalMs(60_000, 1_000n, 900n)).toBe(1_000) // past it: keep trying, 1 s apart
  })
})
