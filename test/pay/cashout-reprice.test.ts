/**
 * Replacement-by-fee of claims stuck in the mempool, on a real anvil with automine off: a base-fee
 * spike leaves a claim unmineable; the cash-out re-sends the same nonce with higher fees so the
 * claim lands before the payer's withdrawal notice matures.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { createCashout, createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner, escrowAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-reprice-'))
beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: 60 })
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A payer that owes a seller `owed` by cheque, with its ledger and a cash-out on a test clock. */
async function setup(payerIx: number, payeeIx: number, owed: bigint, cashoutInit: { gasPriceCapWei?: bigint }, repriceAfterMs = 60_000) {
  const { deployment, accounts, publicClient } = chain
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
  const payer = accounts[payerIx]!
  const payee = accounts[payeeIx]!
  const usdc = deployment.tokens.USDC
  await chain.deposit(payer.privateKey, 10_000_000n)
  const wallet = createPayerWallet({ dbPath: join(dir, `p${payerIx}.db`), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
  let now = 1_000_000
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) }
  const ledger = createPayeeLedger({ dbPath: join(dir, `l${payeeIx}.db`), payee: payee.address, domain, tokens: [usdc], now: clock.now })
  ledger.accept(await wallet.pay(payee.address, usdc, tokenUnits(owed)))
  const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, confirmations: 1, repriceAfterMs,
    // earnings stay in the escrow: withdrawing would wait for a block that automine-off never mines
    withdrawMinUnits: 10n ** 30n, watchWithdrawals: false, ...cashoutInit })({
    ledger,
    walletClient: chain.wallet(payee.privateKey),
    publicClient,
    clock,
  })
  const paidOut = () => publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer.address, payee.address, usdc] })
  return { payer, payee, usdc, wallet, ledger, cashout, clock, paidOut }
}

const tx = (hash: Hex) => chain.publicClient.getTransaction({ hash })
const receipt = (hash: Hex) => chain.publicClient.getTransactionReceipt({ hash }).catch(() => undefined)

describe('claims stuck in the mempool are repriced (replacement-by-fee)', () => {
  // anvil evicts a transaction whose fee cap is below a mined block's base fee (geth keeps it
  // queued): "stuck" here is a claim left unmined with automine off; the base fee is raised only
  // for the block that decides which of the same-nonce transactions can be mined
  it('a claim on a withdrawal deadline is repriced as the deadline nears, above the gas cap, and lands before the notice matures', async () => {
    const { publicClient, testClient, deployment } = chain
    const s = await setup(1, 2, 2_000_000n, { gasPriceCapWei: 1n }, 600_000)
    // the payer announces a withdrawal of everything: after the notice (60 s) its money is gone
    const w = chain.wallet(s.payer.privateKey)
    await publicClient.waitForTransactionReceipt({
      hash: await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [s.usdc, 10_000_000n] }),
    })
    const [, readyAt] = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [s.payer.address, s.usdc] })
    await testClient.setAutomine(false)
    try {
      s.cashout.urgent(s.payer.address, BigInt(readyAt))
      const t1 = await s.cashout.tick()
      expect(t1.sent).toHaveLength(1) // above the 1-wei gas cap: a payer on a deadline is claimed anyway
      const a = await tx(t1.sent[0]!)
      s.clock.advance(5_000)
      expect((await s.cashout.tick()).repriced).toEqual([]) // not yet
      // ~60 s of notice left: repriced after a quarter of it (15 s), long before repriceAfterMs (10 min)
      s.clock.advance(11_000)
      const t2 = await s.cashout.tick()
      expect(t2.repriced).toHaveLength(1)
      expect(t2.repriced[0]).toMatchObject({ from: a.hash, deadlineS: BigInt(readyAt) })
      const b = await tx(t2.repriced[0]!.to)
      expect(b.nonce).toBe(a.nonce)
      expect(b.input).toBe(a.input)
      expect(b.maxFeePerGas! * 10n).toBeGreaterThanOrEqual(a.maxFeePerGas! * 11n)
      expect(b.maxPriorityFeePerGas! * 10n).toBeGreaterThanOrEqual(a.maxPriorityFeePerGas! * 11n)
      expect(s.ledger.pendingTxs()).toEqual([b.hash])
      // the next block's base fee is above what the original offered: only the replacement can land
      await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: a.maxFeePerGas! + 1n })
      await testClient.mine({ blocks: 1 })
      const rb = await receipt(b.hash)
      expect(rb?.status).toBe('success')
      expect(await receipt(a.hash)).toBeUndefined()
      const block = await publicClient.getBlock({ blockNumber: rb!.blockNumber })
      expect(block.timestamp).toBeLessThan(BigInt(readyAt)) // landed before the withdrawal can be finalized
      expect(await s.paidOut()).toBe(2_000_000n)
      const t3 = await s.cashout.tick()
      expect(t3.confirmed).toEqual([b.hash])
      expect(s.ledger.entry(s.payer.address, s.usdc)?.settled).toBe(2_000_000n)
    } finally {
      await testClient.setAutomine(true)
      s.wallet.close()
      s.ledger.close()
    }
  })

  it('without a deadline the reprice stops at the gas cap; once a deadline comes the claim is repriced past it and lands', async () => {
    const { publicClient, testClient } = chain
    const est = await publicClient.estimateFeesPerGas()
    const cap = (est.maxFeePerGas * 115n) / 100n // room for one 12.5% bump, not two
    const s = await setup(3, 4, 1_500_000n, { gasPriceCapWei: cap }, 60_000)
    await testClient.setAutomine(false)
    try {
      const t1 = await s.cashout.tick()
      expect(t1.sent).toHaveLength(1)
      const a = await tx(t1.sent[0]!)
      expect(a.maxFeePerGas!).toBeLessThanOrEqual(cap)
      expect((await s.cashout.tick()).repriced).toEqual([]) // not before repriceAfterMs
      s.clock.advance(61_000)
      const t2 = await s.cashout.tick()
      expect(t2.repriced).toHaveLength(1)
      const b = await tx(t2.repriced[0]!.to)
      expect(b.nonce).toBe(a.nonce)
      expect(b.maxFeePerGas!).toBeLessThanOrEqual(cap)
      expect(b.maxFeePerGas! * 10n).toBeGreaterThanOrEqual(a.maxFeePerGas! * 11n)
      // the cap leaves no room for another valid bump: it waits
      s.clock.advance(61_000)
      expect((await s.cashout.tick()).repriced).toEqual([])
      expect(s.ledger.pendingTxs()).toEqual([b.hash])
      // the payer's money goes on a deadline: the claim is repriced past the cap at once
      const head = await publicClient.getBlock({ blockTag: 'latest' })
      s.cashout.urgent(s.payer.address, head.timestamp + 600n)
      s.clock.advance(61_000)
      const t3 = await s.cashout.tick()
      expect(t3.repriced).toHaveLength(1)
      expect(t3.repriced[0]!.deadlineS).toBe(head.timestamp + 600n)
      const c = await tx(t3.repriced[0]!.to)
      expect(c.nonce).toBe(a.nonce)
      expect(c.maxFeePerGas!).toBeGreaterThan(cap)
      // a base fee above the cap: only the claim repriced for the deadline can land
      await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: cap + 1n })
      await testClient.mine({ blocks: 1 })
      expect((await receipt(c.hash))?.status).toBe('success')
      expect(await s.paidOut()).toBe(1_500_000n)
      expect((await s.cashout.tick()).confirmed).toEqual([c.hash])
    } finally {
      await testClient.setAutomine(true)
      s.wallet.close()
      s.ledger.close()
    }
  })

  it('when the replaced claim is the one mined, the ledger follows it (not a vanished claim)', async () => {
    const { testClient, publicClient } = chain
    const s = await setup(5, 6, 700_000n, {})
    await testClient.setAutomine(false)
    try {
      const t1 = await s.cashout.tick()
      const a = await tx(t1.sent[0]!)
      const rawA = await rawOf(a.hash)
      s.clock.advance(61_000)
      const t2 = await s.cashout.tick()
      expect(t2.repriced).toHaveLength(1)
      const b = t2.repriced[0]!.to
      expect(s.ledger.pendingTxs()).toEqual([b])
      // another node's mempool had the original: the replacement is forgotten, the original mined
      await testClient.dropTransaction({ hash: b })
      await publicClient.request({ method: 'eth_sendRawTransaction' as never, params: [rawA] as never })
      await testClient.mine({ blocks: 1 })
      expect((await receipt(a.hash))?.status).toBe('success')
      const t3 = await s.cashout.tick()
      expect(t3.requeued).toEqual([])
      expect(t3.confirmed).toEqual([a.hash])
      expect(s.ledger.pendingTxs()).toEqual([])
      expect(await s.paidOut()).toBe(700_000n)
    } finally {
      await testClient.setAutomine(true)
      s.wallet.close()
      s.ledger.close()
    }
  })
})

/** The signed raw form of a sent transaction (anvil's `eth_getRawTransactionByHash`). */
async function rawOf(hash: Hex): Promise<Hex> {
  return (await chain.publicClient.request({ method: 'eth_getRawTransactionByHash' as never, params: [hash] as never })) as Hex
}
