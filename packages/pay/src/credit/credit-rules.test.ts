import { describe, expect, it } from 'vitest'
import { tokenUnits as u } from '@bitcdn/core'
import { BuyerCredit, collateralAvailable, creditAction, creditLimit, creditWindow } from './credit-rules.js'

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
  it('a zero limit serves nothing on credit', () => {
    expect(creditAction(u(0n), u(0n))).toBe('serve')
    expect(creditAction(u(1n), u(0n))).toBe('choke')
  })
})

describe('credit window and collateral', () => {
  it('starts at one piece and doubles per settled window, capped', () => {
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 0, maxWindow: u(100n) })).toBe(5n)
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 3, maxWindow: u(100n) })).toBe(40n)
    expect(creditWindow({ pieceValue: u(5n), settledWindows: 10, maxWindow: u(100n) })).toBe(100n)
  })
  it('collateral is free minus pending withdrawal plus allocation minus our exposure, floored at 0', () => {
    expect(collateralAvailable({ free: 100n, pendingWithdrawal: 30n, allocatedToUs: 0n, ourExposure: 20n })).toBe(50n)
    expect(collateralAvailable({ free: 100n, pendingWithdrawal: 130n, allocatedToUs: 10n, ourExposure: 0n })).toBe(10n)
    expect(collateralAvailable({ free: 0n, pendingWithdrawal: 0n, allocatedToUs: 0n, ourExposure: 5n })).toBe(0n)
    expect(creditLimit(u(40n), u(25n))).toBe(25n)
    expect(creditLimit(u(40n), u(250n))).toBe(40n)
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
  })
})
