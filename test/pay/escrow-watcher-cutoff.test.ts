/**
 * The escrow watcher lowers a payer's funds the moment it reads a withdrawal or deallocation
 * request's log, not a refresh round trip later: a fast buyer downloads megabytes in that time
 * (real anvil, the real escrow).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { collateralAvailable, createEscrowWatcher, escrowAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

describe('escrow watcher cut-off', () => {
  it('attack: a payer requests a withdrawal and a deallocation mid-download — collateral drops as the poll that reads each log returns', async () => {
    const { deployment, accounts, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const payer = accounts[3]!
    const payee = accounts[4]!.address
    // the timer never fires during the test: every poll is this test's own
    const watcher = createEscrowWatcher({ escrow: deployment.escrow, payee, pollingIntervalMs: 600_000 })({ publicClient })
    await watcher.start()
    try {
      const w = chain.wallet(payer.privateKey)
      const send = async (functionName: 'allocate' | 'requestWithdraw' | 'requestDeallocate', args: readonly unknown[]) =>
        publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName, args: args as never }) })
      await chain.deposit(payer.privateKey, 5_000_000n)
      await send('allocate', [payee, usdc, 2_000_000n])
      await watcher.track(payer.address, usdc)
      const collateral = () => collateralAvailable({ ...watcher.funds(payer.address, usdc)!, softAllowance: tokenUnits(10n ** 18n), ourExposure: tokenUnits(0n) })
      expect(collateral()).toBe(5_000_000n)

      await send('requestWithdraw', [usdc, 3_000_000n])
      await watcher.poll()
      // read synchronously after the poll: the refresh it started has not answered yet
      expect(watcher.funds(payer.address, usdc)!.pendingWithdrawal).toBe(3_000_000n)
      expect(collateral()).toBe(2_000_000n)

      await send('requestDeallocate', [payee, usdc, 2_000_000n])
      await watcher.poll()
      expect(watcher.funds(payer.address, usdc)!.pendingDeallocation).toBe(2_000_000n)
      expect(collateral()).toBe(0n)

      // the refreshes the logs started agree with the chain and never bring the funds back
      await watcher.refresh(payer.address)
      expect(watcher.funds(payer.address, usdc)).toMatchObject({ pendingWithdrawal: 3_000_000n, pendingDeallocation: 2_000_000n })
      expect(collateral()).toBe(0n)
    } finally {
      await watcher.stop()
    }
  })
})
