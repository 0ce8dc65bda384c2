/** The escrow watcher follows a payer's funds and signers from chain events (real anvil). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collateralAvailable, createEscrowWatcher, escrowAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

async function until(check: () => boolean): Promise<void> {
  // event-driven refresh: wait for it, bounded by the test timeout, no timing assumptions
  while (!check()) await new Promise((r) => setTimeout(r, 50))
}

describe('escrow watcher', () => {
  it('refreshes funds on Deposited/WithdrawRequested, reports withdrawal requests and signer changes', async () => {
    const { deployment, accounts, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const payer = accounts[1]!
    const payee = accounts[2]!.address
    const watcher = createEscrowWatcher({ escrow: deployment.escrow, payee, pollingIntervalMs: 50 })({ publicClient })
    await watcher.start()
    try {
      expect(await watcher.track(payer.address, usdc)).toMatchObject({ free: 0n, pendingWithdrawal: 0n })
      const requests: bigint[] = []
      watcher.onWithdrawRequested((p, t, amount) => {
        if (p === payer.address && t === usdc) requests.push(amount)
      })
      await chain.deposit(payer.privateKey, 7_000_000n)
      await until(() => watcher.funds(payer.address, usdc)?.free === 7_000_000n)
      const w = chain.wallet(payer.privateKey)
      const h = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdc, 2_000_000n] })
      await publicClient.waitForTransactionReceipt({ hash: h })
      await until(() => requests.length > 0 && watcher.funds(payer.address, usdc)?.pendingWithdrawal === 2_000_000n)
      expect(requests).toEqual([2_000_000n])
      const f = watcher.funds(payer.address, usdc)!
      // whatever the contract counts as free, credit excludes the pending withdrawal
      expect(collateralAvailable({ ...f, ourExposure: 1_000_000n })).toBe(f.free - 2_000_000n - 1_000_000n)
      const delegate = accounts[5]!.address
      const s = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'setSigner', args: [delegate] })
      await publicClient.waitForTransactionReceipt({ hash: s })
      await until(() => watcher.signersOf(payer.address).includes(delegate))
    } finally {
      await watcher.stop()
    }
  })
})
