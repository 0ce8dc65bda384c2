/**
 * Forgiveness of a stale unpaid window (pay's `forgiveUnpaidAfterMs`, one day by default): a
 * payer's unpaid debt is written off once it has had no delivery and no accepted cheque at the
 * seller for the period, and its window starts again at one piece. That ends the lock-out of a
 * payer charged for blocks it never received (test/market/paid-relay.test.ts), and costs the
 * seller at most one *first* window per period to a buyer that never pays — these tests show it
 * gets no more than that. Real TCP, anvil, escrow, seller and buyers; the seller's clock is moved
 * (`movableClock`), not slept on. The soft allowance is about one window, so the market seller's
 * own per-payer account (its debt against collateral) binds as well as pay's window: both must
 * let the debt go. A payer that pays to regrow its window and defaults again ("regrow and
 * default") finds its cap lowered by what was written off: the grown window once, then a first
 * window per period.
 */
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { bytesValue, sellerCreditInit } from '@bitcdn/market'
import { createPayerWallet } from '@bitcdn/pay'
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

  it('attack: regrow and default — pay until the window is grown, take it unpaid, come back after the period, repeat — takes the grown window once, then a first window per period', async () => {
    const data = testData(24 * MiB, 'regrow')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const clock = movableClock()
    // a small cap (4 first windows) so the window is grown in a few cheques
    const base = sellerCreditInit(price, MiB)
    const creditInit = (payer: `0x${string}`, token: `0x${string}`) => {
      const c = base(payer, token)
      return { ...c, maxWindow: tokenUnits(c.pieceValue * 4n) }
    }
    const s = await mk.seller(chain.accounts[4]!, m, await filledStore(m, data), { pricePerGiB: price, clock, forgiveUnpaidAfterMs: DAY, creditInit })
    const attacker = chain.accounts[8]!
    await chain.deposit(attacker.privateKey, 1_000_000n)
    const first = base(attacker.address, mk.usdc).pieceValue
    const W = first * 4n
    const credit = () => s.settlement.credit(attacker.address, mk.usdc)
    // one wallet for all its connections (its cumulative per payee), paying only while the window
    // can still grow: once it is at the payer's cap, no cheque more
    const real = createPayerWallet({ dbPath: join(await mk.tempDir('bitcdn-regrow-'), 'wallet.sqlite'), signer: privateKeyToAccount(attacker.privateKey), payer: attacker.address, domain: mk.domain })
    const wallet = {
      pay: (payee: `0x${string}`, token: `0x${string}`, amount: ReturnType<typeof tokenUnits>) =>
        credit().window < credit().windowCap ? real.pay(payee, token, amount) : new Promise<never>(() => {}),
    }
    const taken: bigint[] = []
    try {
      for (let cycle = 0; cycle < 3; cycle++) {
        const before = credit().writtenOff + credit().unpaid
        const b = await mk.buyer(attacker, m, [s.addr], { wallet })
        await expect.poll(() => b.buyer.sellers().some((v) => v.payee === s.payee), { timeout: 20_000 }).toBe(true)
        await untilSellerStill(s.seller, 1500, 30_000)
        await b.client.stop()
        await sleep(300) // the last batch recorded, the connection released
        const owed = credit().unpaid
        expect(credit().window).toBe(credit().windowCap) // it defaulted with its window at the cap
        expect(owed).toBeGreaterThan(credit().windowCap - 2n * piece) // a full window (to within a piece or two: in flight, rounding)
        expect(owed).toBeLessThanOrEqual(credit().windowCap)
        clock.advance(DAY)
        const c = credit()
        expect(c.unpaid).toBe(0n)
        expect(c.writtenOff - before).toBe(owed)
        taken.push(owed)
        // the lifetime bound, at every period: maxWindow once, a first window per write-off more
        expect(c.writtenOff).toBeLessThanOrEqual(W + BigInt(cycle) * first)
      }
      console.log(`regrow and default over 3 periods: written off ${taken.join(' + ')} (first window ${first}, maxWindow ${W}); paid ${real.cumulative?.(s.payee, mk.usdc) ?? '?'}`)
      // the first default took the grown window; the cap is then one first window: so is every later take
      expect(taken[0]).toBeGreaterThan(W - 2n * piece)
      for (const t of taken.slice(1)) expect(t).toBeLessThanOrEqual(first)
      expect(credit().windowCap).toBe(W - taken[0]! > first ? W - taken[0]! : first)
      // with the whole cap each period it would have been ~3 · W
      expect(credit().writtenOff).toBeLessThanOrEqual(W + 2n * first)
    } finally {
      real.close()
    }
  }, 240_000)
})
