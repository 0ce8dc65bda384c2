import { describe, expect, it } from 'vitest'
import { tokenUnits as u } from '@bitcdn/core'
import { BuyerCredit, collateralAvailable, creditAction, creditableIncrement, creditLimit, creditWindow, DEFAULT_FORGIVE_UNPAID_AFTER_MS, forgivable, sellerLossBound, writeOffBound, type BuyerCreditState } from './credit-rules.js'
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

  /**
   * The old per-window loop, as the reference for the closed form; 'f' writes the debt off (the
   * cap then shrinks by it, never below one piece).
   */
  function reference(p: bigint, max: bigint, ops: ['d' | 'p' | 'f', bigint][], lastActivityMs: number): BuyerCreditState {
    let delivered = 0n
    let paid = 0n
    let k = 0
    let start = 0n
    let writtenOff = 0n
    const w = (): bigint => {
      const cap = max - writtenOff > p ? max - writtenOff : p
      const x = p << BigInt(Math.min(k, 128))
      return x > cap ? cap : x
    }
    for (const [op, v] of ops) {
      if (op === 'd') delivered += v
      else if (op === 'f') {
        if (delivered > paid) {
          writtenOff += delivered - paid
          delivered = paid
          k = 0
          start = paid
        }
      } else {
        paid += v
        while (paid - start >= w()) {
          start += w()
          k++
        }
      }
    }
    return { delivered, paid, settledWindows: Math.min(k, 256), windowStartPaid: start, lastActivityMs, writtenOff }
  }

  it('the closed-form window walk matches the per-window loop on random histories, write-offs (a shrinking cap) included', () => {
    let seed = 7
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    let forgiven = 0
    for (let t = 0; t < 300; t++) {
      const p = BigInt(1 + rnd(50))
      const max = p * BigInt(1 + rnd(70))
      const ops: ['d' | 'p' | 'f', bigint][] = []
      for (let i = 0; i < 30; i++) ops.push([(['d', 'p', 'd', 'p', 'f'] as const)[rnd(5)]!, BigInt(rnd(Number(max) * 3 + 1))])
      const clock = { ms: 1_000 + t }
      const c = new BuyerCredit({ pieceValue: u(p), maxWindow: u(max), now: () => clock.ms, forgiveUnpaidAfterMs: 1 })
      let last = clock.ms
      for (const [op, v] of ops) {
        if (op === 'f') {
          clock.ms += 1
          if (c.forgiveIfIdle() > 0n) forgiven++
        } else {
          if (op === 'd') c.delivered(u(v))
          else c.paid(u(v))
          last = clock.ms
        }
      }
      const want = reference(p, max, ops, last)
      expect(c.state, `p=${p} max=${max} ops=${JSON.stringify(ops, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toEqual(want)
      expect(c.windowCap).toBe(max - want.writtenOff > p ? max - want.writtenOff : p)
    }
    expect(forgiven).toBeGreaterThan(100) // the write-offs were exercised
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
    // a damaged stored row (a written-off total out of range would move the window cap) is refused
    const row = { delivered: 0n, paid: 0n, settledWindows: 0, windowStartPaid: 0n, lastActivityMs: 1, writtenOff: -1n }
    expect(code(() => new BuyerCredit({ pieceValue: u(10n), state: row }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => new BuyerCredit({ pieceValue: u(10n), state: { ...row, writtenOff: 1n << 129n } }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
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

describe('forgiveness of a stale unpaid window', () => {
  const DAY = DEFAULT_FORGIVE_UNPAID_AFTER_MS
  /** A credit on a clock the test moves (ms). */
  const onClock = (init: { pieceValue?: bigint; maxWindow?: bigint; forgiveUnpaidAfterMs?: number; state?: BuyerCreditState } = {}) => {
    const clock = { ms: 1_700_000_000_000 }
    const seen: BuyerCreditState[] = []
    const c = new BuyerCredit({
      pieceValue: u(init.pieceValue ?? 10n),
      maxWindow: u(init.maxWindow ?? 160n),
      forgiveUnpaidAfterMs: init.forgiveUnpaidAfterMs,
      state: init.state,
      now: () => clock.ms,
      onChange: (s) => seen.push(s),
    })
    return { c, clock, seen }
  }

  it('the rule: something owed, forgiveness on, and a whole idle period since the last activity', () => {
    expect(forgivable(1n, 0, DAY, DAY)).toBe(true)
    expect(forgivable(1n, 0, DAY - 1, DAY)).toBe(false) // a millisecond early
    expect(forgivable(0n, 0, 10 * DAY, DAY)).toBe(false) // nothing owed
    expect(forgivable(1n, 0, 10 * DAY, 0)).toBe(false) // off
    expect(forgivable(1n, 5 * DAY, DAY, DAY)).toBe(false) // the clock went back: not before it caught up
  })

  it('attack: a payer that never pays is forgiven one period after its last delivery, not a moment before', () => {
    const { c, clock } = onClock()
    c.delivered(u(10n))
    expect(c.allows(u(1n), u(1000n))).toBe(false) // its one window is used up
    clock.ms += DAY - 1
    expect(c.forgiveIfIdle()).toBe(0n)
    expect(c.unpaid).toBe(10n)
    clock.ms += 1
    expect(c.forgiveIfIdle()).toBe(10n)
    expect(c.unpaid).toBe(0n)
    expect(c.prepaid).toBe(0n)
    expect(c.writtenOff).toBe(10n)
    // one first window more, and no more
    expect(c.allows(u(10n), u(1000n))).toBe(true)
    expect(c.allows(u(11n), u(1000n))).toBe(false)
    expect(c.forgiveIfIdle()).toBe(0n) // nothing owed: nothing to forgive twice
  })

  it('a delivery or a credited cheque restarts the period', () => {
    const { c, clock } = onClock()
    c.delivered(u(5n))
    clock.ms += DAY - 10
    c.delivered(u(5n)) // activity: the period starts again
    clock.ms += DAY - 10
    expect(c.forgiveIfIdle()).toBe(0n)
    c.paid(u(1n)) // a cheque too (even one that pays little)
    clock.ms += DAY - 1
    expect(c.forgiveIfIdle()).toBe(0n)
    expect(c.lastActivityMs).toBe(clock.ms - (DAY - 1))
    clock.ms += 1
    expect(c.forgiveIfIdle()).toBe(9n)
    // an unbacked cheque (credited 0) is still the payer's activity
    c.delivered(u(3n))
    clock.ms += DAY
    c.paid(u(0n))
    expect(c.forgiveIfIdle()).toBe(0n)
  })

  it('attack: a payer that grew its window then stopped paying gets the first window back, not the grown one', () => {
    const { c, clock } = onClock({ pieceValue: 10n, maxWindow: 160n })
    for (let i = 0; i < 6; i++) {
      c.delivered(c.window)
      c.paid(c.window)
    }
    expect(c.window).toBe(160n)
    c.delivered(u(160n)) // takes a grown window and leaves
    const paid = c.state.paid
    clock.ms += DAY
    expect(c.forgiveIfIdle()).toBe(160n)
    expect(c.window).toBe(10n)
    expect(c.settledWindows).toBe(0)
    expect(c.state).toMatchObject({ delivered: paid, paid, windowStartPaid: paid, writtenOff: 160n })
    expect(c.allows(u(10n), u(10_000n))).toBe(true)
    expect(c.allows(u(11n), u(10_000n))).toBe(false)
    // the whole maxWindow was written off: its cap is one piece now — still served, never more
    expect(c.windowCap).toBe(10n)
    for (let i = 0; i < 8; i++) {
      c.delivered(u(10n))
      c.paid(u(10n))
    }
    expect(c.window).toBe(10n)
    expect(c.allows(u(10n), u(10_000n))).toBe(true)
  })

  it('a written-off payer regrows its window as it pays again, up to maxWindow less what was written off (never below one piece)', () => {
    const { c, clock } = onClock({ pieceValue: 10n, maxWindow: 320n })
    expect(c.windowCap).toBe(320n)
    c.delivered(u(10n))
    c.paid(u(10n))
    c.delivered(u(20n)) // a window it never pays (say a relay kept the blocks)
    clock.ms += DAY
    expect(c.forgiveIfIdle()).toBe(20n)
    expect(c.windowCap).toBe(300n)
    expect(c.window).toBe(10n)
    for (let i = 0; i < 10; i++) {
      const v = c.window
      c.delivered(v)
      c.paid(v)
    }
    expect(c.window).toBe(300n) // 10, 20, …, 160, then the cap: not 320
    // a window's worth paid at the cap leaves it at the cap; a restart keeps the cap (writtenOff is stored)
    c.delivered(u(300n))
    c.paid(u(300n))
    expect(c.window).toBe(300n)
    const r = onClock({ pieceValue: 10n, maxWindow: 320n, state: c.state })
    expect(r.c.windowCap).toBe(300n)
    expect(r.c.window).toBe(300n)
    // a payer written off more than maxWindow in total keeps one piece
    const poor = onClock({ pieceValue: 10n, maxWindow: 320n, state: { ...c.state, writtenOff: 10n ** 30n } })
    expect(poor.c.windowCap).toBe(10n)
    expect(poor.c.window).toBe(10n)
    expect(poor.c.allows(u(10n), u(10_000n))).toBe(true)
  })

  it('attack: regrow-and-default cannot take more than W + n·p over many periods', () => {
    // the payer pays to regrow its window as far as it will go, takes a full window unpaid, idles a
    // period, is forgiven, and does it again. With the whole cap: W per period for paying ~W − p
    // (half price, for ever); with the cap shrunk by what was written off: W + n·p in all.
    const p = 10n
    const W = 160n
    const { c, clock } = onClock({ pieceValue: p, maxWindow: W })
    const rich = u(10n ** 12n)
    let seed = 11
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    let n = 0
    let paid = 0n
    let taken = 0n
    const periods = 200
    for (let cycle = 0; cycle < periods; cycle++) {
      for (let i = 0; i < 64 && c.window < c.windowCap; i++) {
        const v = c.window
        c.delivered(v)
        c.paid(v)
        paid += v
      }
      // default: take all the credit it has (a full window), or — some cycles — only part of it,
      // to keep more cap for later
      const limit = c.window - c.unpaid
      const v = rnd(3) === 0 ? 1n + BigInt(rnd(Number(limit))) : limit
      expect(c.allows(u(v), rich)).toBe(true)
      c.delivered(u(v))
      if (v === limit) expect(c.allows(u(1n), rich)).toBe(false)
      clock.ms += DAY
      const f = c.forgiveIfIdle()
      expect(f).toBe(v)
      taken += f
      n++
      // at every step: the lifetime bounds
      expect(c.writtenOff).toBe(taken)
      expect(c.writtenOff).toBeLessThanOrEqual(W + BigInt(n - 1) * p)
      expect(c.writtenOff).toBeLessThanOrEqual(writeOffBound({ maxWindow: W, softAllowance: p, hardCollateral: rich, writeOffs: n, firstWindow: p }))
      expect(c.writtenOff + c.window).toBeLessThanOrEqual(W + BigInt(n) * p) // written off and what it could owe now
      expect(c.writtenOff + c.window).toBeLessThanOrEqual(sellerLossBound({ maxWindow: W, softAllowance: p, hardCollateral: rich, writeOffs: n, firstWindow: p }))
      expect(c.windowCap).toBeGreaterThanOrEqual(p) // still served
    }
    expect(n).toBe(periods)
    expect(taken).toBeLessThanOrEqual(W + BigInt(n) * p)
    // the attack no longer pays: beyond the one first window per period any non-payer gets, it took
    // at most one W in all — not the W per period (for ~W − p paid) the whole cap would give
    expect(taken - BigInt(n) * p).toBeLessThanOrEqual(W)
    expect(taken).toBeLessThan(BigInt(periods) * W / 4n)
    expect(paid).toBeGreaterThan(0n) // it did pay to regrow
    expect(c.windowCap).toBe(p)
    expect(c.allows(u(p), rich)).toBe(true) // one piece at a time, as a payer that never paid
  })

  it('the written-off total accumulates over periods; all delivered = delivered + writtenOff', () => {
    const { c, clock } = onClock()
    let all = 0n
    for (let i = 1; i <= 4; i++) {
      c.delivered(u(BigInt(i)))
      all += BigInt(i)
      clock.ms += DAY
      expect(c.forgiveIfIdle()).toBe(BigInt(i))
    }
    expect(c.writtenOff).toBe(10n)
    expect(c.state.delivered + c.writtenOff).toBe(all)
  })

  it('a prepaid or paid-up payer is never forgiven (its window stays)', () => {
    const { c, clock } = onClock()
    c.delivered(u(10n))
    c.paid(u(15n))
    const window = c.window
    clock.ms += 10 * DAY
    expect(c.forgiveIfIdle()).toBe(0n)
    expect(c.prepaid).toBe(5n)
    expect(c.window).toBe(window)
    expect(c.writtenOff).toBe(0n)
  })

  it('disabled when the period is 0; a bad period is refused', () => {
    const { c, clock } = onClock({ forgiveUnpaidAfterMs: 0 })
    c.delivered(u(10n))
    clock.ms += 1000 * DAY
    expect(c.forgiveIfIdle()).toBe(0n)
    expect(c.unpaid).toBe(10n)
    expect(code(() => new BuyerCredit({ pieceValue: u(1n), forgiveUnpaidAfterMs: -1 }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => new BuyerCredit({ pieceValue: u(1n), forgiveUnpaidAfterMs: Number.NaN }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
    expect(code(() => new BuyerCredit({ pieceValue: u(1n), forgiveUnpaidAfterMs: Number.POSITIVE_INFINITY }))).toBe('BITCDN_ERR_AMOUNT_RANGE')
  })

  it('the loss bound grows by one first window per write-off for a payer that paid nothing; for one that did, by maxWindow once over its life', () => {
    const base = { maxWindow: 160n, softAllowance: 10n }
    expect(sellerLossBound(base)).toBe(10n)
    expect(sellerLossBound({ ...base, writeOffs: 0, firstWindow: 10n, paidBeforeWriteOffs: 0n })).toBe(10n)
    expect(sellerLossBound({ ...base, writeOffs: 3, firstWindow: 10n, paidBeforeWriteOffs: 0n })).toBe(40n)
    // with an allocation: a write-off forgives at most the window, regrown only by what was paid
    const rich = { ...base, hardCollateral: 1_000n }
    expect(sellerLossBound(rich)).toBe(160n)
    expect(sellerLossBound({ ...rich, writeOffs: 2, firstWindow: 10n, paidBeforeWriteOffs: 0n })).toBe(160n + 20n)
    // however much it paid to regrow: the cap shrinks by what was written off, W + n·p in all
    expect(sellerLossBound({ ...rich, writeOffs: 2, firstWindow: 10n, paidBeforeWriteOffs: 150n })).toBe(160n + 20n)
    expect(sellerLossBound({ ...rich, writeOffs: 2, firstWindow: 10n, paidBeforeWriteOffs: 10n ** 9n })).toBe(160n + 20n)
    expect(sellerLossBound({ ...rich, writeOffs: 2, firstWindow: 10n })).toBe(160n + 20n)
    expect(sellerLossBound({ ...rich, writeOffs: 100, firstWindow: 10n })).toBe(160n + 1_000n) // not 100 · 160
    expect(writeOffBound({ ...rich, writeOffs: 100, firstWindow: 10n })).toBe(160n + 990n) // W + (n − 1)·p forgiven
    expect(sellerLossBound({ ...rich, writeOffs: 2 })).toBe(160n + 320n) // the first window unknown: the cap per write-off
    // collateral below the window: each write-off forgives at most hard + soft until W is used up
    const some = { ...base, hardCollateral: 30n, firstWindow: 10n } // C = 40
    expect(writeOffBound({ ...some, writeOffs: 3 })).toBe(120n)
    expect(writeOffBound({ ...some, writeOffs: 4 })).toBe(160n)
    expect(writeOffBound({ ...some, writeOffs: 10 })).toBe(160n + 60n)
    expect(sellerLossBound({ ...some, writeOffs: 3 })).toBe(160n) // g(4)
    expect(sellerLossBound({ ...some, writeOffs: 10 })).toBe(160n + 70n) // g(11)
    // what was paid before, when known, bounds a payer that paid little: once + n·p + paid
    expect(sellerLossBound({ ...some, writeOffs: 3, paidBeforeWriteOffs: 0n })).toBe(40n + 30n)
    expect(writeOffBound({ ...some, writeOffs: 3, paidBeforeWriteOffs: 0n })).toBe(30n)
    expect(sellerLossBound({ ...some, writeOffs: 3, paidBeforeWriteOffs: 10n ** 9n })).toBe(160n) // the lifetime bound then
    // a soft allowance above the first window: the E > A case, g(n) + S
    expect(sellerLossBound({ maxWindow: 160n, softAllowance: 50n, writeOffs: 4, firstWindow: 10n })).toBe(160n + 50n) // g(4) = 50·3 + 10
    expect(writeOffBound({ maxWindow: 160n, softAllowance: 50n, writeOffs: 4, firstWindow: 10n })).toBe(160n)
    // nothing to lose
    expect(sellerLossBound({ maxWindow: 160n, softAllowance: 0n, writeOffs: 5, firstWindow: 10n })).toBe(0n)
  })

  it('the closed-form write-off bound is the greedy maximum of F_i ≤ min(A + S, max(p, W − Σ F_j))', () => {
    let seed = 3
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let t = 0; t < 500; t++) {
      const p = BigInt(1 + rnd(20))
      const W = p * BigInt(1 + rnd(40))
      const hard = BigInt(rnd(3) === 0 ? 0 : rnd(Number(W) * 2))
      const soft = BigInt(rnd(Number(p) * 3))
      const n = rnd(60)
      const C = hard + soft
      let g = 0n
      const gs = [0n]
      for (let i = 0; i <= n; i++) {
        const cap = W - g > p ? W - g : p
        g += C < cap ? C : cap
        gs.push(g)
      }
      const params = { maxWindow: W, softAllowance: soft, hardCollateral: hard, writeOffs: n, firstWindow: p }
      const msg = JSON.stringify(params, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
      expect(writeOffBound(params), msg).toBe(gs[n])
      const withHard = W < C ? W : C
      const once = withHard > soft ? withHard : soft
      const want = n === 0 ? once : gs[n + 1]! > gs[n]! + soft ? gs[n + 1]! : gs[n]! + soft
      expect(sellerLossBound(params), msg).toBe(want)
      if (n > 0) expect(writeOffBound(params)).toBeLessThanOrEqual(W + BigInt(n - 1) * p)
    }
  })

  it('the write-off is one reported state change; a resumed credit keeps the last activity (a restart does not start the period again)', () => {
    const { c, clock, seen } = onClock()
    c.delivered(u(10n))
    const stored = seen.at(-1)!
    expect(stored.lastActivityMs).toBe(clock.ms)
    // "restart": a new credit from the stored state, half a period later
    clock.ms += DAY / 2
    const r = onClock({ state: stored })
    r.clock.ms = clock.ms
    expect(r.c.forgiveIfIdle()).toBe(0n) // not early
    r.clock.ms += DAY / 2
    expect(r.c.forgiveIfIdle()).toBe(10n) // and not later than the period since the real last delivery
    expect(r.seen).toHaveLength(1)
    expect(r.seen[0]).toMatchObject({ delivered: 0n, paid: 0n, writtenOff: 10n, lastActivityMs: stored.lastActivityMs })
  })
})
