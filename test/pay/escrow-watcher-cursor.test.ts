/**
 * The escrow watcher's log cursor on a real anvil, behind a JSON-RPC proxy that can be cut and
 * that refuses eth_getLogs over more than 5 blocks (as hosted RPCs do):
 * - an RPC outage while the buyer requests a withdrawal: once the RPC returns, the seller's credit
 *   for that buyer drops and the urgent claim lands before the notice matures;
 * - a seller restart reads on from its durable cursor;
 * - a reorg under the cursor is noticed and the payer re-read.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { tokenUnits } from '@bitcdn/core'
import { createEscrowWatcher, createPayerWallet, createPrivateKeyChequeSigner, createSellerSettlement, escrowAbi, openWatchCursor } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'
import { startRpcProxy, type RpcProxy } from './rpc-proxy.js'

let chain: PayChain
let proxy: RpcProxy
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-cursor-'))
beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: 600 })
  proxy = await startRpcProxy(chain.anvil.rpcUrl, { maxLogRange: 5 })
})
afterAll(async () => {
  await proxy?.close()
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Clients of the seller: everything through the proxy, no retries (an outage must show). */
const sellerClients = (pk: `0x${string}`) => ({
  publicClient: createPublicClient({ chain: foundry, transport: http(proxy.url, { retryCount: 0 }), pollingInterval: 50 }),
  walletClient: createWalletClient({ chain: foundry, transport: http(proxy.url, { retryCount: 0 }), account: privateKeyToAccount(pk) }),
})

describe('escrow watcher: durable log cursor, bounded catch-up, re-reads, reorgs', () => {
  it('an RPC outage while the buyer requests a withdrawal: once the RPC is back the buyer’s credit drops and the urgent claim lands in the notice', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[1]!
    const payee = accounts[2]!
    await chain.deposit(payer.privateKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer1.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const seller = createSellerSettlement({
      ledgerPath: join(dir, 'seller1.db'),
      payee: payee.address,
      domain,
      tokens: [usdc],
      pollingIntervalMs: 50,
      softAllowance: 5_000_000n,
      // no periodic re-read during the test: the cursor's catch-up and the outage re-read must do it
      watch: { rereadIntervalMs: 3_600_000 },
      cashout: { thresholdUnits: 10n ** 12n, maxAgeMs: 86_400_000, confirmations: 1, pollIntervalMs: 3_600_000 },
    })({ ...sellerClients(payee.privateKey) })
    await seller.start()
    try {
      await seller.follow(payer.address, usdc)
      const r = await seller.receive([await wallet.pay(payee.address, usdc, tokenUnits(1_000_000n))])
      expect(r.accepted).toHaveLength(1)
      expect(seller.collateral(payer.address, usdc)).toBe(4_000_000n) // min(5 soft, 10 free) − 1 ours

      proxy.down()
      await sleep(300) // the watcher's polls now fail
      const w = chain.wallet(payer.privateKey)
      await publicClient.waitForTransactionReceipt({
        hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdc, 10_000_000n] }),
      })
      const [, readyAt] = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [payer.address, usdc] })
      await testClient.mine({ blocks: 20 }) // the catch-up spans more than one 5-block range
      await sleep(500)
      expect(seller.collateral(payer.address, usdc)).toBe(4_000_000n) // blind while the RPC is down
      const refusedBefore = proxy.refusedRanges

      proxy.up()
      await until('the credit to drop', () => seller.collateral(payer.address, usdc) === 0n)
      await until('the urgent claim', async () => (await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer.address, payee.address, usdc] })) === 1_000_000n)
      expect((await publicClient.getBlock()).timestamp).toBeLessThan(BigInt(readyAt))
      // the catch-up was read in ranges the RPC takes (≤ 5 blocks), after halving past its refusals
      expect(proxy.refusedRanges).toBeGreaterThan(refusedBefore)
      expect(proxy.logRanges.every((x) => x.to - x.from + 1n <= 5n)).toBe(true)
      await until('the cursor at the head', async () => seller.watcher.cursor()?.block === (await publicClient.getBlockNumber()))
    } finally {
      proxy.up()
      await seller.stop()
      wallet.close()
    }
  })

  it('a seller restarted after a withdrawal request it did not see reads on from its durable cursor and claims in time', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[3]!
    const payee = accounts[4]!
    await chain.deposit(payer.privateKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer2.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const init = {
      ledgerPath: join(dir, 'seller2.db'),
      payee: payee.address,
      domain,
      tokens: [usdc],
      pollingIntervalMs: 50,
      softAllowance: 5_000_000n,
      cashout: { thresholdUnits: 10n ** 12n, maxAgeMs: 86_400_000, confirmations: 1, pollIntervalMs: 3_600_000 },
    }
    const first = createSellerSettlement(init)({ ...sellerClients(payee.privateKey) })
    await first.start()
    await first.follow(payer.address, usdc)
    expect((await first.receive([await wallet.pay(payee.address, usdc, tokenUnits(2_000_000n))])).accepted).toHaveLength(1)
    await until('the first cursor', () => first.watcher.cursor() !== undefined)
    await first.stop()
    const saved = openWatchCursor(init.ledgerPath, `${domain.chainId}:${deployment.escrow}:${payee.address}`)
    const stoppedAt = saved.get()!
    saved.close()

    // while the seller is down: a withdrawal request and some blocks
    const w = chain.wallet(payer.privateKey)
    const req = await publicClient.waitForTransactionReceipt({
      hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdc, 10_000_000n] }),
    })
    expect(req.blockNumber).toBeGreaterThan(stoppedAt.block)
    await testClient.mine({ blocks: 12 })
    const rangesBefore = proxy.logRanges.length
    const second = createSellerSettlement(init)({ ...sellerClients(payee.privateKey) })
    const reasons: string[] = []
    second.watcher.onUrgent((u) => reasons.push(u.reason))
    await second.start()
    try {
      // the restarted watcher's first log read starts right after the saved cursor
      expect(proxy.logRanges[rangesBefore]?.from).toBe(stoppedAt.block + 1n)
      expect(reasons).toContain('withdraw-requested')
      await until('the urgent claim', async () => (await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer.address, payee.address, usdc] })) === 2_000_000n)
      expect(second.collateral(payer.address, usdc)).toBe(0n)
    } finally {
      await second.stop()
      wallet.close()
    }
  })

  it('a reorg under the cursor is noticed: the payer is re-read and a deposit the reorg undid no longer counts', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const payer = accounts[5]!
    await chain.deposit(payer.privateKey, 3_000_000n)
    const cursor = openWatchCursor(join(dir, 'watch3.db'), 'reorg')
    // no periodic re-read: only the reorg check can correct the view
    const watcher = createEscrowWatcher({ escrow: deployment.escrow, payee: accounts[6]!.address, pollingIntervalMs: 50, rereadIntervalMs: 3_600_000 })({ publicClient, cursor })
    await watcher.track(payer.address, usdc)
    await watcher.start()
    try {
      const snap = await testClient.snapshot()
      await chain.deposit(payer.privateKey, 4_000_000n)
      await until('the deposit to count', () => watcher.funds(payer.address, usdc)?.free === 7_000_000n)
      const seen = watcher.cursor()!
      await testClient.revert({ id: snap }) // the deposit's blocks are gone
      await testClient.mine({ blocks: 5 }) // a longer chain without it: the cursor's block has another hash
      expect((await publicClient.getBlock({ blockNumber: seen.block })).hash).not.toBe(seen.hash)
      await until('the reorg to be noticed', () => watcher.funds(payer.address, usdc)?.free === 3_000_000n)
    } finally {
      await watcher.stop()
      cursor.close()
    }
  })
})
