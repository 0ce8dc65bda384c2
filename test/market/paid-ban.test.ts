/**
 * Attack: a buyer that stops paying and whose credit then shrinks under its debt (its payer asks to
 * withdraw everything) owes past 125% of its credit: the seller disconnects it and bans the payer —
 * no byte more, and a new connection naming that payer is refused at its hello — until the
 * seller's forgiveness period has passed without activity (pay's `forgiveUnpaidAfterMs`): then
 * the debt is written off and the ban goes with it. Real TCP, real anvil and escrow; the seller's
 * clock is moved (`movableClock`), not slept on.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { escrowAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, movableClock } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  await chain.deposit(chain.accounts[5]!.privateKey, 10_000_000n)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

describe('attack: debt past 125% of credit', () => {
  it('a buyer that stops paying and then withdraws its funds is disconnected and its payer banned; its next hello is refused until a forgiveness period has written the debt off', async () => {
    const data = testData(4 * MiB, 'ban')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const price = 1_000_000n
    const clock = movableClock()
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(price), softAllowance: tokenUnits(1_500n), clock, forgiveUnpaidAfterMs: 86_400_000 })
    const stingy = chain.accounts[5]!
    const banned: Address[] = []
    s.seller.on('banned', (p) => banned.push(p))
    // pays its first cheque, then never again
    let paidOnce = false
    const b = await mk.buyer(stingy, m, [s.addr], {
      wallet: {
        pay: (payee, token, amount) => {
          if (paidOnce) return new Promise<never>(() => {})
          paidOnce = true
          return real.pay(payee, token, amount)
        },
      },
      swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }),
    })
    const real = b.wallet
    const left: string[] = []
    b.buyer.on('left', (_id, err) => left.push(err.message))
    // it runs up debt to its credit (choked there, not yet banned)
    await expect.poll(() => s.seller.owed(stingy.address), { timeout: 20_000 }).toBeGreaterThan(0n)
    expect(banned).toEqual([])
    const owed = s.seller.owed(stingy.address)
    expect(owed * 100n).toBeLessThan(s.settlement.collateral(stingy.address, mk.usdc) * 125n)

    // its payer asks to withdraw everything: the credit falls to 0 under a debt > 0
    const w = chain.wallet(stingy.privateKey)
    await chain.publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [mk.usdc, 10_000_000n] }) })
    await expect.poll(() => banned, { timeout: 20_000 }).toEqual([stingy.address])
    expect(s.seller.account(stingy.address)?.banned).toBe(true)
    // the channel closes after its refusal is flushed, so the count may trail the ban a little
    await expect.poll(() => s.seller.stats().closed['BITCDN_ERR_CREDIT_EXCEEDED'] ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    await expect.poll(() => left.some((t) => /over 125% of its credit/.test(t)), { timeout: 10_000 }).toBe(true)
    // not a byte more after the ban
    const servedAtBan = s.seller.stats().paidBytes
    await new Promise((r) => setTimeout(r, 1500))
    expect(s.seller.stats().paidBytes).toBe(servedAtBan)

    // the same payer on a new connection: refused at its hello
    const again = await mk.buyer(stingy, m, [s.addr])
    const refused: string[] = []
    again.buyer.on('left', (_id, err) => refused.push(err.message))
    await expect.poll(() => refused.some((t) => /is banned/.test(t)), { timeout: 15_000 }).toBe(true)
    expect(s.seller.stats().paidBytes).toBe(servedAtBan)
    expect(again.torrent.stats().downloaded).toBe(0)
    await again.client.stop()

    // it keeps its funds after all, and a day passes with no delivery and no cheque: the debt is
    // written off and the ban lifted — the next hello is admitted and served within its credit again
    await chain.publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'cancelWithdraw', args: [mk.usdc] }) })
    await expect.poll(() => s.settlement.collateral(stingy.address, mk.usdc), { timeout: 20_000 }).toBeGreaterThan(0n)
    clock.advance(86_400_000)
    const later = await mk.buyer(stingy, m, [s.addr], { wallet: { pay: () => new Promise<never>(() => {}) } as never })
    await expect.poll(() => s.seller.stats().paidBytes, { timeout: 20_000 }).toBeGreaterThan(servedAtBan)
    expect(s.seller.account(stingy.address)?.banned).toBe(false)
    expect(s.settlement.credit(stingy.address, mk.usdc).writtenOff).toBeGreaterThan(0n)
    await later.client.stop()
  }, 120_000)
})
