/**
 * Attack review (session 5): the seller reads the chain on demand (`lookAgain`, at most one
 * watcher poll per 250 ms) while a proven buyer has less than a piece of credit left — a buyer
 * that stops paying after one cheque keeps it asking every 250 ms check. The watcher runs one poll
 * at a time and queues every further `poll()` call behind it, so while the RPC answers slower than
 * 250 ms (a congested or hanging endpoint: viem waits up to 10 s per request) each call adds one
 * more queued poll, and when the RPC recovers the backlog runs back to back: an RPC flood that
 * grows with the length of the slowdown. Real anvil and escrow, the real settlement behind a
 * delaying JSON-RPC proxy; `lookAgain` is driven at the seller's check cadence (250 ms), as its
 * timer does for such a buyer.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { createSellerSettlement } from '@bitcdn/pay'
import { settlementPayments } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { startRpcProxy, type RpcProxy } from '../pay/rpc-proxy.js'

let chain: PayChain
let proxy: RpcProxy
const delay: { delayMs?: number } = {}
let dir: string
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  chain = await startPayChain()
  proxy = await startRpcProxy(chain.anvil.rpcUrl, delay)
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-lookagain-'))
})
afterAll(async () => {
  await proxy?.close()
  await chain?.anvil.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('attack: a buyer low on credit while the RPC is slow', () => {
  it('on-demand chain reads do not queue up behind a slow RPC and flood it once it recovers', async () => {
    const { deployment, accounts } = chain
    const payee = accounts[2]!
    const payer = accounts[5]!
    const usdc = deployment.tokens.USDC
    const settlement = createSellerSettlement({
      ledgerPath: join(dir, 'seller.db'),
      payee: payee.address,
      domain: { chainId: deployment.chainId, verifyingContract: deployment.escrow },
      tokens: [usdc],
      // the watcher's own loop stays out of the count: only on-demand reads poll during the test
      pollingIntervalMs: 3_600_000,
      watch: { rereadIntervalMs: 3_600_000 },
      cashout: { thresholdUnits: 1n << 120n, maxAgeMs: 86_400_000, pollIntervalMs: 3_600_000 },
    })({
      publicClient: createPublicClient({ chain: foundry, transport: http(proxy.url, { retryCount: 0, timeout: 30_000 }) }) as never,
      walletClient: createWalletClient({ chain: foundry, transport: http(proxy.url, { retryCount: 0 }), account: privateKeyToAccount(payee.privateKey) }) as never,
    })
    await settlement.start()
    const payments = settlementPayments(settlement)
    try {
      await sleep(500)
      // one fast on-demand read: how many requests a poll costs
      let before = proxy.requestTimes.length
      payments.lookAgain!(payer.address, usdc)
      await sleep(1_000)
      const perPoll = proxy.requestTimes.length - before
      expect(perPoll).toBeGreaterThan(0)

      // the RPC slows to 2 s per answer for 5 s, while the seller's 250 ms check keeps asking
      delay.delayMs = 2_000
      const slowFrom = Date.now()
      const slowUntil = slowFrom + 5_000
      let asked = 0
      while (Date.now() < slowUntil) {
        payments.lookAgain!(payer.address, usdc)
        asked++
        await sleep(260)
      }
      // the buyer is gone (nothing asks any more) and the RPC is fast again
      delay.delayMs = undefined
      const recoveredAt = Date.now()
      await sleep(3_000)
      const after = proxy.requestTimes.filter((t) => t >= recoveredAt).length
      console.log(`on-demand reads asked while slow: ${asked}; requests per poll: ${perPoll}; requests in the 3 s after recovery: ${after}`)
      // nothing asks any more: at most one more poll (the one asked last) may run, never a backlog
      expect(after).toBeLessThanOrEqual(perPoll)
    } finally {
      await settlement.stop()
    }
  }, 60_000)
})
