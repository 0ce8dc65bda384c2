/**
 * The seller's settlement service on a real anvil: ledger + escrow watcher + cash-out wired.
 * - A buyer's withdrawal request makes the seller claim at once, inside the notice period, so the
 *   seller is paid in full even though the buyer then finalizes its withdrawal.
 * - Attack: a forged newest cheque in a burst — rejected; the older valid one stays the best on
 *   disk; credit grows only by verified value.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner, createSellerSettlement, escrowAbi, testTokenAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-seller-'))
beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: 60 })
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Polls `check`, failing after `limitMs` (a bound on a hang, not a performance assertion). */
async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('seller settlement (ledger + watcher + cash-out) on anvil', () => {
  it('claims below the threshold at once when the buyer requests a withdrawal; paid in full though the buyer finalizes', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[1]!
    const payee = accounts[2]!
    const read = (functionName: 'paidOut' | 'balanceOf', args: readonly unknown[]) =>
      publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName, args } as never) as Promise<bigint>
    await chain.deposit(payer.privateKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const seller = createSellerSettlement({
      ledgerPath: join(dir, 'seller.db'),
      payee: payee.address,
      domain,
      tokens: [usdc],
      pollingIntervalMs: 50,
      // the whole free balance counts here: this test is about the urgent claim, not soft credit
      softAllowance: 10n ** 12n,
      // far above what is owed, and never old: only the withdrawal request can trigger a claim
      cashout: { thresholdUnits: 1_000_000_000n, maxAgeMs: 86_400_000, confirmations: 1, pollIntervalMs: 3_600_000 },
    })({ publicClient, walletClient: chain.wallet(payee.privateKey) })
    await seller.start()
    try {
      // the payee's own token balance before (the chain funds every account): earnings are measured against it
      const payeeStart = await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payee.address] })
      const burst = []
      for (let i = 0; i < 5; i++) burst.push(await wallet.pay(payee.address, usdc, tokenUnits(800_000n)))
      // collateralVersion (what the market seller keys its per-block byte limit on) moves with every
      // change of collateral(): a cheque stored, a request the watcher sees; and holds otherwise
      seller.collateral(payer.address, usdc)
      const v0 = seller.collateralVersion()
      expect(seller.collateralVersion()).toBe(v0)
      const r = await seller.receive(burst)
      expect(r.accepted.map((a) => a.cumulative)).toEqual([4_000_000n])
      expect((await seller.cashout.tick()).waiting).toBe('below-threshold')
      expect(seller.collateral(payer.address, usdc)).toBe(6_000_000n) // 10 free − 4 ours
      const v1 = seller.collateralVersion()
      expect(v1).not.toBe(v0)

      // the buyer tries to take everything back
      const w = chain.wallet(payer.privateKey)
      const req = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdc, 10_000_000n] })
      await publicClient.waitForTransactionReceipt({ hash: req })
      const [, readyAt] = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [payer.address, usdc] })

      // no tick from the test: the watcher → cash-out wiring sends the claim by itself
      await until('the urgent claim to be mined', async () => (await read('paidOut', [payer.address, payee.address, usdc])) === 4_000_000n)
      const claimBlock = await publicClient.getBlock()
      expect(claimBlock.timestamp).toBeLessThan(BigInt(readyAt)) // landed inside the notice
      // pending withdrawals cut credit at once
      await until('the watcher to see the request', () => seller.collateral(payer.address, usdc) === 0n)
      expect(seller.collateralVersion()).not.toBe(v1)

      // confirm the claim in the ledger
      await testClient.mine({ blocks: 1 })
      await seller.cashout.tick()
      expect(seller.ledger.entry(payer.address, usdc)).toMatchObject({ settled: 4_000_000n, exposure: 0n })

      // the buyer finalizes after the notice: it gets only what the claim left
      await testClient.increaseTime({ seconds: 61 })
      await testClient.mine({ blocks: 1 })
      const before = await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payer.address] })
      const fin = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'finalizeWithdraw', args: [usdc] })
      expect((await publicClient.waitForTransactionReceipt({ hash: fin })).status).toBe('success')
      const after = await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payer.address] })
      expect(after - before).toBe(6_000_000n)
      expect(await read('balanceOf', [payer.address, usdc])).toBe(0n)
      // the seller was paid in full: claimed earnings are the payee's, whatever the buyer did
      const earned = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'earnings', args: [payee.address, usdc] })
      const withdrawn = await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payee.address] })
      expect(earned + (withdrawn - payeeStart)).toBe(4_000_000n)
      expect(await read('paidOut', [payer.address, payee.address, usdc])).toBe(4_000_000n)
    } finally {
      await seller.stop()
      wallet.close()
    }
  })

  it('attack: a forged newest cheque in a burst is rejected, the older valid one stays best on disk, credit counts only verified value', async () => {
    const { deployment, accounts, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[3]!
    const payee = accounts[4]!
    await chain.deposit(payer.privateKey, 100_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer2.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const ledgerPath = join(dir, 'seller2.db')
    const piece = tokenUnits(1_000_000n)
    const seller = createSellerSettlement(
      { ledgerPath, payee: payee.address, domain, tokens: [usdc], pollingIntervalMs: 50, softAllowance: 10n ** 12n, cashout: { thresholdUnits: 10n ** 12n, pollIntervalMs: 3_600_000 } },
      () => ({ pieceValue: piece }),
    )({ publicClient, walletClient: chain.wallet(payee.privateKey) })
    await seller.start()
    try {
      const credit = seller.credit(payer.address, usdc)
      credit.delivered(piece)
      credit.delivered(piece)
      const c1 = await wallet.pay(payee.address, usdc, piece)
      const c2 = await wallet.pay(payee.address, usdc, piece)
      // the forger claims a much larger cumulative in the payer's name, signed by another key
      const forgedCheque = { ...c2.cheque, cumulativeAmount: tokenUnits(50_000_000n) }
      const forged = { cheque: forgedCheque, signature: await createPrivateKeyChequeSigner(generatePrivateKey(), domain).sign(forgedCheque) }
      const r = await seller.receive([c1, forged, c2])
      expect(r.rejected.map((x) => (x.error as { code?: string }).code)).toEqual(['BITCDN_ERR_CHEQUE_SIGNATURE'])
      expect(r.accepted.map((a) => a.cumulative)).toEqual([2_000_000n])
      // credit: exactly the verified 2 pieces paid, nothing from the forgery
      expect(credit.unpaid).toBe(0n)
      credit.delivered(piece)
      expect(credit.unpaid).toBe(piece)
      // a forged cheque alone pays nothing
      const forged2 = { cheque: { ...c2.cheque, cumulativeAmount: tokenUnits(60_000_000n) }, signature: forged.signature }
      const r2 = await seller.receive([forged2])
      expect(r2.accepted).toEqual([])
      expect(credit.unpaid).toBe(piece)
      expect(seller.ledger.exposure(usdc, payer.address)).toBe(2_000_000n)
    } finally {
      await seller.stop()
      wallet.close()
    }
    // on disk, after close: the best is the valid c2
    const reopened = createPayeeLedger({ dbPath: ledgerPath, payee: payee.address, domain })
    try {
      expect(reopened.best(payer.address, usdc)?.cheque.cumulativeAmount).toBe(2_000_000n)
      expect(reopened.history(payer.address, usdc).map((h) => h.cumulative)).toEqual([2_000_000n])
    } finally {
      reopened.close()
    }
  })

  it('a cheque accepted after the withdrawal request (its urgent claim already confirmed) is claimed at once too, inside the notice', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[5]!
    const payee = accounts[6]!
    const paidOut = () => publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer.address, payee.address, usdc] })
    await chain.deposit(payer.privateKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer5.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const seller = createSellerSettlement({
      ledgerPath: join(dir, 'seller5.db'),
      payee: payee.address,
      domain,
      tokens: [usdc],
      pollingIntervalMs: 50,
      softAllowance: 10n ** 12n,
      // nothing but a deadline claims here: the threshold is never reached, nothing gets old, no timer pass
      cashout: { thresholdUnits: 1_000_000_000n, maxAgeMs: 86_400_000, confirmations: 1, pollIntervalMs: 3_600_000 },
    })({ publicClient, walletClient: chain.wallet(payee.privateKey) })
    await seller.start()
    try {
      expect((await seller.receive([await wallet.pay(payee.address, usdc, tokenUnits(2_000_000n))])).accepted.length).toBe(1)
      const w = chain.wallet(payer.privateKey)
      await publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdc, 10_000_000n] }) })
      const [, readyAt] = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [payer.address, usdc] })
      await until('the first urgent claim', async () => (await paidOut()) === 2_000_000n)
      await testClient.mine({ blocks: 1 })
      await seller.cashout.tick()
      expect(seller.ledger.entry(payer.address, usdc)).toMatchObject({ settled: 2_000_000n, exposure: 0n })

      // the buyer still pays during the notice (bytes it got before the cut-off): that cheque is on the same deadline
      const later = await seller.receive([await wallet.pay(payee.address, usdc, tokenUnits(1_000_000n))])
      expect(later.accepted.map((a) => a.cumulative)).toEqual([3_000_000n])
      // no tick from the test: receive() itself starts the urgent claim
      await until('the later cheque to be claimed', async () => (await paidOut()) === 3_000_000n)
      expect((await publicClient.getBlock()).timestamp).toBeLessThan(BigInt(readyAt))
    } finally {
      await seller.stop()
      wallet.close()
    }
  })
})
