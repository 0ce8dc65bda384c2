/** The escrow watcher follows a payer's funds and signers from chain events (real anvil). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEventLogs } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { collateralAvailable, createEscrowWatcher, createPrivateKeyChequeSigner, escrowAbi } from '@bitcdn/pay'
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
    const watcher = createEscrowWatcher({ escrow: deployment.escrow, payee, pollingIntervalMs: 50, signerMarginS: 0 })({ publicClient })
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
      expect(collateralAvailable({ ...f, softAllowance: 10n ** 18n, ourExposure: 1_000_000n })).toBe(f.free - 2_000_000n - 1_000_000n)
      const delegate = accounts[5]!.address
      const s = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'setSigner', args: [delegate] })
      await publicClient.waitForTransactionReceipt({ hash: s })
      await until(() => watcher.signersOf(payer.address).includes(delegate))
    } finally {
      await watcher.stop()
    }
  })

  it('drops a rotated-out signer when chain time (evm_increaseTime) passes its grace, agreeing with the escrow', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const payer = accounts[7]!
    const payee = accounts[8]!.address
    const oldKey = generatePrivateKey()
    const oldSigner = privateKeyToAccount(oldKey).address
    const newSigner = privateKeyToAccount(generatePrivateKey()).address
    const watcher = createEscrowWatcher({ escrow: deployment.escrow, payee, pollingIntervalMs: 50, signerMarginS: 0 })({ publicClient })
    await watcher.start()
    try {
      await chain.deposit(payer.privateKey, 3_000_000n)
      await watcher.track(payer.address, usdc)
      const w = chain.wallet(payer.privateKey)
      for (const s of [oldSigner, newSigner]) {
        const h = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'setSigner', args: [s] })
        await publicClient.waitForTransactionReceipt({ hash: h })
      }
      await until(() => watcher.signersOf(payer.address).includes(newSigner))
      expect(watcher.signersOf(payer.address)).toContain(oldSigner) // in grace
      const [, , validUntil] = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'signerOf', args: [payer.address] })

      // chain time jumps past the grace; wall-clock time does not
      await testClient.increaseTime({ seconds: 120 })
      await testClient.mine({ blocks: 1 })
      await until(() => watcher.chainTimeS() > BigInt(validUntil))
      expect(BigInt(Math.floor(Date.now() / 1000))).toBeLessThan(BigInt(validUntil))
      expect(watcher.signersOf(payer.address)).toEqual([newSigner])

      // the escrow agrees: the old signer's cheque is rejected as UnauthorizedSigner (4)
      const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
      const cheque = { payer: payer.address, payee, token: usdc, cumulativeAmount: tokenUnits(1_000_000n) }
      const signature = await createPrivateKeyChequeSigner(oldKey, domain).sign(cheque)
      const h = await chain.wallet(accounts[8]!.privateKey).writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'claim', args: [[{ cheque, signature }]] })
      const receipt = await publicClient.waitForTransactionReceipt({ hash: h })
      const rejected = parseEventLogs({ abi: escrowAbi, logs: receipt.logs, eventName: 'ChequeRejected' })
      expect(rejected.map((e) => e.args.reason)).toEqual([4])
    } finally {
      await watcher.stop()
    }
  })
})
