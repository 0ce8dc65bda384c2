/**
 * Attack review (session 5): the seller records deliveries in pay's credit in batches (1 MiB or
 * 100 ms) and counts what is not recorded yet in every window check. A payer with a large
 * allocation opens several connections (four buyer processes, one payer key and one cumulative),
 * proves each with one cheque, then stops paying on all of them: if the unrecorded allowance were
 * per connection it would get a window per connection. Also the unproven allowance (per connection,
 * pre-existing): two FINDING tests, marked `.fails`. Real TCP, anvil and escrow, the real seller.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import type { PayerWallet } from '@bitcdn/pay'
import { bytesValue } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, type TestBuyer, untilSellerStill } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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

/** Four connections of one payer, each proven by one cheque, then none pays: its unpaid debt and window. */
async function fourConnectionsPayOnce(unprovenBytes: number | undefined): Promise<{ unpaid: bigint; window: bigint }> {
  {
    const data = testData(24 * MiB, 'many-connections')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const price = tokenUnits(1_000_000n)
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price, softAllowance: tokenUnits(1_000n), ...(unprovenBytes !== undefined ? { unprovenBytes } : {}) })
    const rich = chain.accounts[5]!
    await chain.deposit(rich.privateKey, 10_000_000n)
    const allocation = tokenUnits(5_000_000n)
    await mk.allocator(rich).ensureAllocation(s.payee, mk.usdc, allocation)
    // one payer's wallet (one cumulative) behind every connection; each connection's first cheque
    // goes out, after that none
    let shared: PayerWallet | undefined
    const buyers: TestBuyer[] = []
    for (let i = 0; i < 4; i++) {
      let paidOnce = false
      const b = await mk.buyer(rich, m, [s.addr], {
        wallet: {
          pay: async (payee: Address, token: Address, amount: bigint) => {
            if (paidOnce) return new Promise<never>(() => {})
            paidOnce = true
            while (shared === undefined) await sleep(10)
            return shared.pay(payee, token, tokenUnits(amount))
          },
        } as never,
        swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }),
      })
      shared ??= b.wallet
      buyers.push(b)
      // the next connection opens once this one is proven (its cheque accepted), so each cumulative is higher
      await expect.poll(() => s.seller.stats().chequesAccepted, { timeout: 30_000 }).toBeGreaterThanOrEqual(i + 1)
    }
    // served until the payer's debt met its window, then nothing more on any connection
    await untilSellerStill(s.seller, 1000, 40_000)
    expect(s.seller.stats().chequesAccepted).toBe(4)
    // the collateral alone would have let it take everything
    expect(s.settlement.collateral(rich.address, mk.usdc)).toBeGreaterThan(bytesValue(data.length, price))
    const served = s.seller.stats().paidBytes
    const paid = s.settlement.ledger.best(rich.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n
    const credit = s.settlement.credit(rich.address, mk.usdc)
    const unpaid = bytesValue(served, price) - paid
    console.log(`unprovenBytes ${unprovenBytes ?? 'default'}: served ${served} B to 4 connections of one payer; paid ${paid}; unpaid ${unpaid}; window ${credit.window}`)
    expect(unpaid).toBeGreaterThan(0n)
    // pay's durable record has caught up with the batches (what a restart would see)
    await sleep(300)
    expect(credit.unpaid).toBe(unpaid)
    for (const b of buyers) expect(b.torrent.done).toBe(false)
    return { unpaid, window: credit.window }
  }
}

describe('attack: one payer, many connections', () => {
  it('a payer with a large allocation on four connections that each pay once then stop gets one credit window in all, not one per connection (unrecorded bytes are counted per payer)', async () => {
    // the unproven allowance at one piece: what each connection gets before its cheque is paid by it
    const { unpaid, window } = await fourConnectionsPayOnce(64 * 1024)
    expect(unpaid).toBeLessThanOrEqual(window)
  }, 180_000)

  // FINDING (pre-existing, not this session's batching): each new connection of a proven payer is
  // served `unprovenBytes` (default 256 KiB) without pay's window check, and charged to the payer
  // at its first accepted cheque; a cheque pays only the pieces it verified, so every connection
  // adds up to (unprovenBytes - one piece) of unpaid debt beyond the window: N connections, N times.
  // Measured: unpaid 1526 against a window of 977 with four connections.
  it.fails('FINDING: a proven payer opening more connections gets the unproven allowance of each on top of its window', async () => {
    const { unpaid, window } = await fourConnectionsPayOnce(undefined)
    expect(unpaid).toBeLessThanOrEqual(window)
  }, 180_000)

  // FINDING (pre-existing): the unproven allowance is per connection and forgotten at its close, so
  // a buyer that never pays reconnects and takes it again: three connections in turn, 3 × 256 KiB,
  // charged to no one. A fix: keep the unproven bytes per payer named (and per source address), in
  // total across its connections, for as long as the account is remembered.
  it.fails('FINDING: a buyer that never pays and reconnects gets the unproven allowance again on every connection', async () => {
    const data = testData(8 * MiB, 'churn')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const unproven = 256 * 1024
    const s = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n), softAllowance: tokenUnits(1_000n), unprovenBytes: unproven })
    const cheapskate = chain.accounts[6]!
    await chain.deposit(cheapskate.privateKey, 1_000_000n)
    for (let i = 0; i < 3; i++) {
      const b = await mk.buyer(cheapskate, m, [s.addr], {
        wallet: { pay: () => new Promise<never>(() => {}) } as never,
        swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }),
      })
      await expect.poll(() => b.torrent.stats().downloaded, { timeout: 20_000 }).toBeGreaterThan(128 * 1024)
      await sleep(1_500)
      await b.client.stop()
      await sleep(300)
    }
    const served = s.seller.stats().paidBytes
    console.log(`served ${served} B to a payer that never paid, over 3 connections in turn (unproven allowance ${unproven})`)
    expect(s.settlement.ledger.best(cheapskate.address, mk.usdc)).toBeUndefined()
    expect(served).toBeLessThanOrEqual(unproven)
  }, 120_000)
})
