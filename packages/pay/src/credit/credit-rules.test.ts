import { describe, expect, it } from 'vitest'
import { tokenUnits as u } from '@bitcdn/core'
import { BuyerCredit, collateralAvailable, creditAction, creditableIncrement, creditLimit, creditWindow, type BuyerCreditState } from './credit-rules.js'
import { checkUint128, MAX_UINT128 } from './amount-range.js'

const code = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('creditAction thresholds', () => {
  const limit = u(1000n)
  it.each([
    [0n, 'serve'],
    [499n, 'serve'],
    [500n, 'request-payment'], // exactly 50%
    [999n, 'request-payment'],
    [1000n, 'choke'], // exactly 100%
    [1249n, 'choke'],
    [1250n, 'disconnect'], // exactly 125%
    [5000n, 'disconnect'],
  ] as const)('unpaid %s of 1000 → %s', (unpaid, action) => {
    expect(creditAction(u(unpaid), limit)).toBe(action)
  })
  it('a zero limit chokes even with nothing owed: no collateral, no credit', () => {
    expect(creditAction(u(0n), u(0n))).toBe('choke')
    expect(creditAction(u(1n), u(0n))).toBe('choke')
  })
})

describe('collateral', () => {
  it('is allocation minus pending decrease plus a soft allowance of the free balance, minus our unsettled cheques', () => {
    // hard 50, soft min(10, 100−30) = 10, minus 20 ours
    expect(collateralAvailable({ free: 100n, pendingWithdrawal: 30n, allocatedToUs: 50n, softAllowance: 10n, ourExposure: 20n })).toBe(40n)
    // a pending deallocation leaves the allocation at once
    expect(collateralAvailable({ free: 0n, pendingWithdrawal: 0n, allocatedToUs: 50n, pendingDeallocation: 50n, softAllowance: 10n, ourExposure: 0n })).toBe(0n)
    // a free balance counts only up to the soft allowance, however large
    expect(collateralAvailable({ free: 10n ** 30n, pendingWithdrawal: 0n, allocatedToUs: 0n, softAllowance: 7n, ourExposure: 0n })).toBe(7n)
    // a pending withdrawal of everything leaves no soft part
    expect(collateralAvailable({ free: 100n, pendingWithdrawal: 100n, allocatedToUs: 5n, softAllowance: 10n, ourExposure: 0n })).toBe(5n)
    // a signer cap bounds the soft part
    expect(collateralAvailable({ free: 100n, pendingWithdrawal: 0n, allocatedToUs: 0n, softAllowance: 10n, capRemaining: 3n, ourExposure: 0n })).toBe(3n)
    expect(collateralAvailable({ free: 0n, pendingWithdrawal: 0n, allocatedToUs: 0n, softAllowance: 10n, ourExposure: 5n })).toBe(0n)
    expect(creditLimit(u(40n), u(25n))).toBe(25n)
    expect(creditLimit(u(40n), u(250n))).toBe(40n)
  })
  it('credits an increment only up to the collateral; the rest is excess', () => {
    expect(creditableIncrement(u(1_000_000_000n), u(1n))).toEqual({ credited: 1n, excess: 999_999_999n })
    expect(creditableIncrement(u(5n), u(10n))).toEqual({ credited: 5n, excess: 0n })
    expect(creditableIncrement(u(5n), u(0n))).toEqual({ credited: 0n, excess: 5n })
  })
})

describe('credit window', () => {
  it('starts at one piece and doubles per settled window, capped', () => {
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 0, maxWindow: u(100n) })).toBe(5n)
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 3, maxWindow: u(100n) })).toBe(40n)
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 10, maxWindow: u(100n) })).toBe(100n)
  })

  it('BuyerCredit grows the window as the buyer pays and caps it by collateral', () => {
    const c = new BuyerCredit({ pieceValue: u(10n), maxWindow: u(80n) })
    const rich = u(1_000_000n)
    expect(c.action(rich)).toBe('serve')
    c.delivered(u(5n))
    expect(c.action(rich)).toBe('request-payment')
    c.delivered(u(5n))
    expect(c.action(rich)).toBe('choke')
    c.paid(u(10n))
    expect(c.settledWindows).toBe(1)
    expect(c.window).toBe(20n)
    c.delivered(u(25n))
    expect(c.action(rich)).toBe('disconnect') // 25 of 20 = 125%
    c.paid(u(25n))
    expect(c.window).toBe(40n)
    for (let i = 0; i < 10; i++) {
      c.delivered(c.window)
      c.paid(c.window)
    }
    expect(c.window).toBe(80n)
    c.delivered(u(40n))
    expect(c.action(rich)).toBe('request-payment')
    expect(c.action(u(40n))).toBe('choke') // payer's escrow only covers 40
    expect(c.action(u(0n))).toBe('choke')
  })

  it('a streaming buyer (always owing the piece in flight) grows its window as it pays, never past its bound', () => {
    const c = new BuyerCredit({ pieceValue: u(10n), maxWindow: u(640n) })
    const rich = u(1_000_000n)
    for (let i = 0; i < 40; i++) {
      // delivered up to the limit; the buyer pays for the older half while the rest is in flight
      const v = u(c.window - c.unpaid)
      expect(c.allows(v, rich)).toBe(true)
      expect(c.allows(u(v + 1n), rich)).toBe(false) // debt never exceeds the window
      c.delivered(v)
      c.paid(u((c.unpaid + 1n) / 2n))
      expect(c.unpaid).toBeGreaterThan(0n)
    }
    expect(c.window).toBe(640n)
    expect(c.allows(u(1n), u(0n))).toBe(false) // and never past the collateral
  })

  it('allows a delivery only while debt stays within the limit; prepaid value counts first', () => {
    const c = new BuyerCredit({ pieceValue: u(10n) })
    expect(c.allows(u(10n), u(10n))).toBe(true)
    expect(c.allows(u(10n), u(9n))).toBe(false) // collateral below one piece
    expect(c.allows(u(1n), u(0n))).toBe(false)
    c.paid(u(30n)) // an overpaying buyer
    expect(c.prepaid).toBe(30n)
    expect(c.allows(u(30n), u(0n))).toBe(true)
    expect(c.allows(u(31n), u(0n))).toBe(false)
  })

  /** The old per-window loop, as the reference for the closed form. */
  function reference(p: bigint, max: bigint, ops: ['d' | 'p', bigint][]): BuyerCreditState {
    let delivered = 0n
    let paid = 0n
    let k = 0
    let start = 0n
    const w = (): bigint => {
      const x = p << BigInt(Math.min(k, 128))
      return x > max ? max : x
    }
    for (const [op, v] of ops) {
      if (op === 'd') delivered += v
      else {
        paid += v
        while (paid - start >= w()) {
          start += w()
          k++
        }
      }
    }
    return { delivered, paid, settledWindows: Math.min(k, 256), windowStartPaid: start }
  }

  it('the closed-form window walk matches the per-window loop on random histories', () => {
    let seed = 7
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let t = 0; t < 300; t++) {
      const p = BigInt(1 + rnd(50))
      const max = p * BigInt(1 + rnd(70))
      const ops: ['d' | 'p', bigint][] = []
      for (let i = 0; i < 30; i++) ops.push([rnd(2) ? 'd' : 'p', BigInt(rnd(Number(max) * 3 + 1))])
      const c = new BuyerCredit({ pieceValue: u(p), maxWindow: u(max) })
      for (const [op, v] of ops) (op === 'd' ? c.delivered(u(v)) : c.paid(u(v)))
      const want = reference(p, max, ops)
      expect(c.state, `p=${p} max=${max} ops=${JSON.stringify(ops, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toEqual(want)
    }
  })

  it('attack: a cheque for ~2^100 units is one step of arithmetic, not 2^100 / window loop turns', () => {
    const c = new BuyerCredit({ pieceValue: u(1n), maxWindow: u(1n) })
    c.paid(u(1n << 100n))
    expect(c.state.windowStartPaid).toBe(1n << 100n)
    expect(c.window).toBe(1n)
    c.paid(u(MAX_UINT128 - (1n << 100n)))
    expect(c.state.paid).toBe(MAX_UINT128)
  })

  it('range-checks every amount to uint128 at the edge', () => {
    const c = new BuyerCredit({ pieceValue: u(1n) })
    expect(code(() => c.paid(u(MAX_UINT128 + 1n)))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => c.delivered(u(-1n)))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => c.delivered(5 as never))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    c.delivered(u(MAX_UINT128))
    expect(code(() => c.delivered(u(1n)))).toBe('BITCDN_ERR_AMOUNT_RANGE') // the running total too
    expect(code(() => new BuyerCredit({ pieceValue: u(0n) }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => new BuyerCredit({ pieceValue: u(1n << 130n) }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(checkUint128(MAX_UINT128, 'x')).toBe(MAX_UINT128)
  })

  it('resumes from a stored state and reports every change', () => {
    const seen: BuyerCreditState[] = []
    const a = new BuyerCredit({ pieceValue: u(10n), onChange: (s) => seen.push(s) })
    a.delivered(u(10n))
    a.paid(u(10n))
    a.delivered(u(15n))
    expect(seen).toHaveLength(3)
    const b = new BuyerCredit({ pieceValue: u(10n), state: seen.at(-1) })
    expect(b.unpaid).toBe(15n)
    expect(b.window).toBe(20n)
  })
})
