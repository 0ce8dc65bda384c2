/**
 * Forgiveness of a stale unpaid window (pay's `forgiveUnpaidAfterMs`, one day by default): a
 * payer's unpaid debt is written off once it has had no delivery and no accepted cheque at the
 * seller for the period, and its window starts again at one piece. That ends the lock-out of a
 * payer charged for blocks it never received (test/market/paid-relay.test.ts), and costs the
 * seller at most one *first* window per period to a buyer that never pays — these tests show it
 * gets no more than that. Real TCP, anvil, escrow, seller and buyers; the seller's clock is moved
 * (`movableClock`), not slept on. The soft allowance is about one window, so the market seller's
 * own per-payer account (its debt against collateral) binds as well as pay's window: both must
 * let the debt go.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { bytesValue, sellerCreditInit } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, movableClock, type TestSeller, untilSellerStill } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const DAY = 86_400_000
const price = tokenUnits(1_000_000n)
/** A window is used up to less than one piece (64 KiB) short: the seller commits a piece whole. */
const piece = bytesValue(64 * 1024, price)

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

/** A buyer whose wallet never signs a cheque (a payer that never pays). */
const neverPays = {
  wallet: { pay: () => new Promise<never>(() => {}) } as never,
}

describe('attack: forgiveness gives a non-payer one first window per period, no more', () => {
  it('attack: a buyer that never pays gets at most the initial window per forgiveness period', async () => {
    const data = testData(8 * MiB, 'forgive')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const clock = movableClock()
    const s: TestSeller = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: price, softAllowance: tokenUnits(1_000n), clock, forgiveUnpaidAfterMs: DAY })
    const cheapskate = chain.accounts[6]!
    await chain.deposit(cheapskate.privateKey, 1_000_000n)
    const initial = sellerCreditInit(price, MiB)(cheapskate.address, mk.usdc).pieceValue
    /** One connection of the non-payer: what the seller served it before it went still. */
    const visit = async (): Promise<number> => {
      const before = s.seller.stats().paidBytes
      const b = await mk.buyer(cheapskate, m, [s.addr], { ...neverPays, swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }) })
      await expect.poll(() => b.buyer.sellers().some((v) => v.payee === s.payee), { timeout: 20_000 }).toBe(true)
      await untilSellerStill(s.seller, 1500, 30_000)
      await b.client.stop()
      await sleep(300) // the seller records the last batch (≤ 100 ms) and releases the connection
      return s.seller.stats().paidBytes - before
    }
    const credit = () => s.settlement.credit(cheapskate.address, mk.usdc)

    const first = await visit()
    const debt = credit().unpaid
    expect(first).toBeGreaterThan(0)
    expect(debt).toBe(bytesValue(first, price))
    expect(debt).toBeLessThanOrEqual(initial)
    expect(debt).toBeGreaterThan(initial - piece)

    // reconnecting within the period: nothing more (the debt is still its own)
    clock.advance(DAY - 60_000)
    expect(await visit()).toBe(0)
    expect(credit().writtenOff).toBe(0n)

    // the period has passed since its last block: the debt is written off, one first window more
    clock.advance(60_000)
    const second = await visit()
    expect(credit().writtenOff).toBe(debt)
    // a whole first window (to within a piece): neither pay's window nor the seller's own account still holds the old debt
    expect(bytesValue(second, price)).toBeGreaterThan(initial - piece)
    expect(bytesValue(second, price)).toBeLessThanOrEqual(initial)
    expect(credit().window).toBe(initial)
    expect(credit().unpaid).toBe(bytesValue(first + second, price) - debt)

    // and reconnecting at once after that: nothing (the new debt is fresh)
    expect(await visit()).toBe(0)
    console.log(`a non-payer over two forgiveness periods: served ${first} + ${second} B (first window ${initial} units), written off ${credit().writtenOff}, owes ${credit().unpaid}`)
    // what the seller lost in all: one first window per period begun, no more
    expect(bytesValue(first + second, price)).toBeLessThanOrEqual(2n * initial)
    expect(s.settlement.ledger.best(cheapskate.address, mk.usdc)).toBeUndefined()
  }, 180_000)

  it('attack: a non-payer that stays connected is forgiven in place after the period — one first window more, no more', async () => {
    const data = testData(8 * MiB, 'forgive-connected')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const clock = movableClock()
    const s = await mk.seller(chain.accounts[3]!, m, await filledStore(m, data), { pricePerGiB: price, softAllowance: tokenUnits(1_000n), clock, forgiveUnpaidAfterMs: DAY })
    const cheapskate = chain.accounts[7]!
    await chain.deposit(cheapskate.privateKey, 1_000_000n)
    const initial = sellerCreditInit(price, MiB)(cheapskate.address, mk.usdc).pieceValue
    const b = await mk.buyer(cheapskate, m, [s.addr], neverPays)
    await expect.poll(() => s.seller.stats().paidBytes, { timeout: 20_000 }).toBeGreaterThan(0)
    await untilSellerStill(s.seller, 1500, 30_000)
    const first = s.seller.stats().paidBytes
    await sleep(300)
    const debt = s.settlement.credit(cheapskate.address, mk.usdc).unpaid
    expect(debt).toBe(bytesValue(first, price))
    // the same connection, a period later: the seller's credit check forgives it and announces the new credit
    clock.advance(DAY)
    await expect.poll(() => s.seller.stats().paidBytes, { timeout: 20_000 }).toBeGreaterThan(first)
    await untilSellerStill(s.seller, 1500, 30_000)
    const second = s.seller.stats().paidBytes - first
    await sleep(300)
    const c = s.settlement.credit(cheapskate.address, mk.usdc)
    console.log(`a connected non-payer: served ${first} B, then ${second} B after the period (first window ${initial} units); written off ${c.writtenOff}`)
    expect(c.writtenOff).toBe(debt)
    expect(bytesValue(second, price)).toBeGreaterThan(initial - piece)
    expect(bytesValue(second, price)).toBeLessThanOrEqual(initial)
    expect(c.unpaid).toBe(bytesValue(first + second, price) - debt)
    expect(s.seller.account(cheapskate.address)?.banned).toBe(false)
    expect(b.torrent.done).toBe(false)
    await b.client.stop()
  }, 120_000)
})
