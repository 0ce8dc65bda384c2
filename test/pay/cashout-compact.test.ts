/**
 * The cash-out claims through claimCompact: one transaction per token (the entry point takes one
 * payee and one token), 100-byte rows, and the paid amounts it records come from the lean
 * ChequePaid rows matched to their CompactClaimed batch.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeFunctionData, getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { compactPaid, createCashout, createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner, decodeCompactRows, escrowAbi, testTokenAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-cashout-compact-'))
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('cash-out through claimCompact', () => {
  it('sends one claimCompact per token with 100-byte rows and records what each row paid', async () => {
    const { deployment, accounts, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const usdt = deployment.tokens.USDT!
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payee = accounts[2]!.address
    const payers = [accounts[3]!, accounts[4]!]
    for (const p of payers) {
      await chain.deposit(p.privateKey, 10_000_000n)
      const w = chain.wallet(p.privateKey)
      await publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: usdt, abi: testTokenAbi, functionName: 'approve', args: [deployment.escrow, 10_000_000n] }) })
      await publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'deposit', args: [usdt, 10_000_000n] }) })
    }
    const ledger = createPayeeLedger({ dbPath: join(dir, 'payee.db'), payee, domain, tokens: [usdc, usdt] })
    const owed = new Map<string, bigint>()
    for (const [i, p] of payers.entries()) {
      const wallet = createPayerWallet({ dbPath: join(dir, `payer${i}.db`), signer: createPrivateKeyChequeSigner(p.privateKey, domain), payer: p.address, domain })
      for (const [token, amount] of [[usdc, 1_000_000n + BigInt(i)], [usdt, 2_000_000n + BigInt(i)]] as const) {
        ledger.accept(await wallet.pay(payee, token, tokenUnits(amount)))
        owed.set(`${getAddress(p.address)}:${getAddress(token)}`, amount)
      }
      wallet.close()
    }
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, confirmations: 1, watchWithdrawals: false })({
      ledger,
      walletClient: chain.wallet(accounts[2]!.privateKey),
      publicClient,
    })
    const t = await cashout.tick()
    expect(t.sent).toHaveLength(2)
    const tokensClaimed = new Set<string>()
    const paid = new Map<string, bigint>()
    for (const hash of t.sent) {
      const tx = await publicClient.getTransaction({ hash })
      const call = decodeFunctionData({ abi: escrowAbi, data: tx.input })
      expect(call.functionName).toBe('claimCompact')
      const [to, token, rows] = call.args as [string, string, `0x${string}`]
      expect(getAddress(to)).toBe(getAddress(payee))
      tokensClaimed.add(getAddress(token))
      expect((rows.length - 2) / 2).toBe(2 * 100)
      expect(decodeCompactRows(rows).map((r) => r.payer).sort()).toEqual(payers.map((p) => getAddress(p.address)).sort())
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      for (const [k, v] of compactPaid(receipt.logs, deployment.escrow, getAddress(payee))) paid.set(k, v)
    }
    expect(tokensClaimed).toEqual(new Set([getAddress(usdc), getAddress(usdt)]))
    expect(paid).toEqual(owed)
    // confirmed at the next pass: the ledger's settled amounts equal the chain's paidOut
    await chain.testClient.mine({ blocks: 1 })
    const t2 = await cashout.tick()
    expect(t2.confirmed.sort()).toEqual([...t.sent].sort())
    for (const p of payers) {
      for (const token of [usdc, usdt]) expect(ledger.entry(p.address, token)?.settled).toBe(owed.get(`${getAddress(p.address)}:${getAddress(token)}`))
    }
    ledger.close()
  })
})
