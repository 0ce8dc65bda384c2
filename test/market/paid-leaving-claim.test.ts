/**
 * Attack review (session 5): the market's own urgent claim of a cheque accepted while the payer's
 * funds are leaving was removed as redundant — the settlement is said to claim such a payer on
 * its notice's deadline. The attack: a payer requests a withdrawal (or a decrease of its
 * allocation to this seller), lets the watcher's urgent claim of the cheques held then go, and
 * keeps paying with new cheques; if those waited for the ordinary cash-out (threshold, max age:
 * a day here) the notice would mature first and they would be worth nothing. Real anvil and
 * escrow; cheques enter through the market's payments adapter (`settlementPayments.receive`),
 * exactly as the paid seller hands them over.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { settlementPayments } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { newActor, paidOut, startSeller, until } from '../pay/seller-harness.js'

let chain: PayChain
let dir: string

beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: 600 })
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-leaving-'))
})
afterAll(async () => {
  await chain?.anvil.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('attack: cheques paid after a withdrawal or deallocation notice', () => {
  for (const notice of ['withdrawal', 'deallocation'] as const) {
    it(`a cheque accepted after a ${notice} notice (the notice's own urgent claim already landed) is claimed on chain before the notice matures`, async () => {
      const usdc = chain.deployment.tokens.USDC
      const payee = await newActor(chain)
      const buyer = await newActor(chain, 10_000_000n)
      await buyer.escrow('deposit', [usdc, 10_000_000n])
      if (notice === 'deallocation') await buyer.escrow('allocate', [payee.address, usdc, 5_000_000n])
      const seller = await startSeller(chain, dir, `leaving-${notice}`, payee, tokenUnits(1_000n), { softAllowance: 2_000_000n })
      const payments = settlementPayments(seller)
      try {
        const first = await payments.receive(await buyer.cheque(payee.address, 1_000n), '127.0.0.1:40001')
        expect(first.accepted?.cumulative).toBe(1_000n)

        if (notice === 'withdrawal') await buyer.escrow('requestWithdraw', [usdc, 10_000_000n])
        else await buyer.escrow('requestDeallocate', [payee.address, usdc, 5_000_000n])
        await until('the watcher sees the notice', () => {
          const f = seller.watcher.funds(buyer.address, usdc)
          return f !== undefined && (notice === 'withdrawal' ? f.pendingWithdrawal > 0n : f.pendingDeallocation > 0n)
        })
        const f = seller.watcher.funds(buyer.address, usdc)!
        const readyAt = notice === 'withdrawal' ? f.withdrawReadyAt : f.deallocationReadyAt
        expect(readyAt).toBeGreaterThan(0n)
        // the cheques held when the notice came: the watcher's urgent claim
        await until('the held cheque is claimed', async () => {
          await chain.testClient.mine({ blocks: 1 })
          return (await paidOut(chain, buyer.address, payee.address)) >= 1_000n
        })
        // the payer keeps paying after the notice; the ordinary cash-out would wait a day for it
        const second = await payments.receive(await buyer.cheque(payee.address, 3_000n), '127.0.0.1:40001')
        expect(second.accepted?.cumulative).toBe(3_000n)
        await until(
          'the cheque accepted after the notice is claimed',
          async () => {
            await chain.testClient.mine({ blocks: 1 })
            return (await paidOut(chain, buyer.address, payee.address)) >= 3_000n
          },
          30_000,
        )
        const block = await chain.publicClient.getBlock({ blockTag: 'latest' })
        expect(block.timestamp).toBeLessThan(readyAt)
      } finally {
        await seller.stop()
      }
    }, 120_000)
  }
})
