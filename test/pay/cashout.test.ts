import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createCashout, createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner, escrowAbi, testTokenAbi } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-cashout-'))
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('cash-out service on anvil', () => {
  it('a withdrawal being mined does not hold up the next pass: a claim goes out while the withdrawal waits in the mempool', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const payer = accounts[7]!
    // a payee of its own (the pair and the earnings are this test's alone), with gas
    const payeeKey = generatePrivateKey()
    const payee = { address: privateKeyToAccount(payeeKey).address, privateKey: payeeKey }
    await testClient.setBalance({ address: payee.address, value: 10n ** 20n })
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    await chain.deposit(payer.privateKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer-w.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'payee-w.db'), payee: payee.address, domain, tokens: [usdc] })
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, confirmations: 1, watchWithdrawals: false })({ ledger, walletClient: chain.wallet(payee.privateKey), publicClient })
    try {
      // a claim, confirmed: earnings to withdraw
      ledger.accept(await wallet.pay(payee.address, usdc, tokenUnits(500_000n)))
      expect((await cashout.tick()).sent).toHaveLength(1)
      await testClient.mine({ blocks: 2 })
      await testClient.setAutomine(false)
      // this pass confirms the claim and sends the withdrawal, which now sits in the mempool
      let withdrawReport: Awaited<ReturnType<typeof cashout.tick>> | undefined
      const withdrawing = cashout.tick().then((r) => (withdrawReport = r))
      await expect.poll(async () => (await publicClient.getBlock({ blockTag: 'pending', includeTransactions: false })).transactions.length, { timeout: 10_000 }).toBe(1)
      // a new cheque (an urgent one, say): the next pass sends its claim without waiting for that receipt
      ledger.accept(await wallet.pay(payee.address, usdc, tokenUnits(300_000n)))
      const next = await cashout.tick()
      expect(next.sent).toHaveLength(1)
      expect(withdrawReport).toBeUndefined() // the withdrawal is still not mined
      await testClient.setAutomine(true)
      await testClient.mine({ blocks: 1 })
      await withdrawing
      expect(withdrawReport!.withdrawn).toEqual([expect.objectContaining({ token: usdc, amount: 500_000n })])
    } finally {
      await testClient.setAutomine(true)
      wallet.close()
      ledger.close()
    }
  })

  it('claims above threshold, waits for confirmations, re-queues a claim dropped by a reorg, then withdraws', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const payerKey = accounts[1]!.privateKey
    const payer = accounts[1]!.address
    const payeeKey = accounts[2]!.privateKey
    const payee = accounts[2]!.address
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    await chain.deposit(payerKey, 50_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer, domain })
    let now = 1_000_000
    const clock = { now: () => now }
    const ledger = createPayeeLedger({ dbPath: join(dir, 'payee.db'), payee, domain, tokens: [usdc], now: clock.now })
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1_000_000n, confirmations: 2, maxAgeMs: 60_000, watchWithdrawals: false })({
      ledger,
      walletClient: chain.wallet(payeeKey),
      publicClient,
      clock,
    })

    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(400_000n)))
    expect((await cashout.tick()).waiting).toBe('below-threshold')
    now += 61_000 // age trigger
    const snap = await testClient.snapshot()
    const t1 = await cashout.tick()
    expect(t1.sent).toHaveLength(1)
    expect(ledger.pendingTxs()).toEqual(t1.sent)
    // reorg: the block with the claim disappears
    await testClient.revert({ id: snap })
    const t2 = await cashout.tick()
    expect(t2.requeued).toEqual(t1.sent)
    expect(t2.sent).toHaveLength(1) // claimed again at once (still old)

    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(900_000n))) // 1.3 USDC owed ≥ threshold
    const t3 = await cashout.tick()
    expect(t3.confirmed).toEqual([]) // 1 confirmation only
    expect(t3.sent).toHaveLength(0) // the pair is pending: its new best waits for the next pass
    // mine until the claims are confirmations-deep and the new best is claimed and confirmed too
    const ticks: Awaited<ReturnType<typeof cashout.tick>>[] = []
    for (let i = 0; i < 10 && (ledger.unsettled().length > 0 || ticks.every((t) => t.withdrawn.length === 0)); i++) {
      await testClient.mine({ blocks: 1 })
      ticks.push(await cashout.tick())
    }
    expect(ticks.flatMap((t) => t.confirmed).length).toBeGreaterThanOrEqual(1)
    expect(ledger.unsettled()).toEqual([])
    expect(ledger.entry(payer, usdc)?.settled).toBe(1_300_000n)
    const paidOut = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, payee, usdc] })
    expect(paidOut).toBe(1_300_000n)
    const withdrawn = ticks.flatMap((t) => t.withdrawn).reduce((s, w) => s + w.amount, 0n)
    expect(withdrawn).toBe(1_300_000n)
    expect(await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'earnings', args: [payee, usdc] })).toBe(0n)
    void testTokenAbi
    wallet.close()
    ledger.close()
  })

  it('waits instead of paying a gas price above the cap, except for a payer on a deadline', async () => {
    const { deployment, accounts, publicClient } = chain
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payerKey = accounts[3]!.privateKey
    await chain.deposit(payerKey, 5_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'p2.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer: accounts[3]!.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l2.db'), payee: accounts[4]!.address, domain })
    ledger.accept(await wallet.pay(accounts[4]!.address, deployment.tokens.USDC, tokenUnits(2_000_000n)))
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, gasPriceCapWei: 1n, watchWithdrawals: false })({
      ledger,
      walletClient: chain.wallet(accounts[4]!.privateKey),
      publicClient,
    })
    expect((await cashout.tick()).waiting).toBe('gas-price')
    expect(ledger.pendingTxs()).toEqual([])
    // a payer on a deadline (its money is about to leave) is claimed whatever gas costs
    cashout.urgent(accounts[3]!.address)
    expect((await cashout.tick()).sent).toHaveLength(1)
    expect(ledger.pendingTxs()).toHaveLength(1)
    wallet.close()
    ledger.close()
  })

  it('a bounced claim records the partial payment and is not re-sent until the cheque grows', async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const usdc = deployment.tokens.USDC
    const payerKey = accounts[5]!.privateKey
    const payer = accounts[5]!.address
    const payee = accounts[6]!.address
    await chain.deposit(payerKey, 1_000_000n) // 1 USDC, owes 2.5
    const wallet = createPayerWallet({ dbPath: join(dir, 'p3.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l3.db'), payee, domain })
    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(2_500_000n)))
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, confirmations: 1, watchWithdrawals: false })({
      ledger,
      walletClient: chain.wallet(accounts[6]!.privateKey),
      publicClient,
    })
    expect((await cashout.tick()).sent).toHaveLength(1)
    await testClient.mine({ blocks: 1 })
    const t = await cashout.tick()
    expect(t.confirmed).toHaveLength(1)
    expect(ledger.entry(payer, usdc)).toMatchObject({ settled: 1_000_000n, exposure: 1_500_000n })
    expect((await cashout.tick()).sent).toHaveLength(0) // parked: the escrow is empty
    await chain.deposit(payerKey, 5_000_000n)
    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(1n))) // the cheque grows → claim again
    expect((await cashout.tick()).sent).toHaveLength(1)
    await testClient.mine({ blocks: 1 })
    await cashout.tick()
    expect(ledger.entry(payer, usdc)).toMatchObject({ settled: 2_500_001n, exposure: 0n })
    wallet.close()
    ledger.close()
  })

  it('default threshold: 100 × the cost of the claim it would send (tx overhead + per cheque) at the current gas price', async () => {
    const { deployment, accounts, publicClient } = chain
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const usdc = deployment.tokens.USDC
    const payerKey = accounts[7]!.privateKey
    const payee = accounts[8]!.address
    await chain.deposit(payerKey, 100_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'p4.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer: accounts[7]!.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l4.db'), payee, domain })
    // 1 USDC per ETH keeps the threshold small enough to cross in a test
    const nativePriceUnits = 1_000_000n
    const cashout = createCashout({ escrow: deployment.escrow, nativePriceUnits, watchWithdrawals: false })({ ledger, walletClient: chain.wallet(accounts[8]!.privateKey), publicClient })
    const gasPrice = await publicClient.getGasPrice()
    const threshold = (100n * (50_000n + 40_000n) * gasPrice * nativePriceUnits) / 10n ** 18n
    expect(threshold).toBeGreaterThan(1n)
    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(threshold - 1n)))
    expect((await cashout.tick()).waiting).toBe('below-threshold')
    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(1n)))
    expect((await cashout.tick()).sent).toHaveLength(1)
    wallet.close()
    ledger.close()
  })

  it('retries a failed claim after a backoff that doubles per failure', async () => {
    const { deployment, accounts, publicClient } = chain
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const usdc = deployment.tokens.USDC
    const payerKey = accounts[9]!.privateKey
    const payee = accounts[0]!.address
    await chain.deposit(payerKey, 5_000_000n)
    const wallet = createPayerWallet({ dbPath: join(dir, 'p5.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer: accounts[9]!.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l5.db'), payee, domain })
    ledger.accept(await wallet.pay(payee, usdc, tokenUnits(1_000_000n)))
    const real = chain.wallet(accounts[0]!.privateKey)
    let failuresLeft = 2
    const flaky = {
      ...real,
      writeContract: ((req: Parameters<typeof real.writeContract>[0]) => {
        if (failuresLeft-- > 0) return Promise.reject(new Error('RPC unavailable'))
        return real.writeContract(req)
      }) as typeof real.writeContract,
    }
    let now = 0
    const cashout = createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, retryBaseMs: 1_000, confirmations: 1, watchWithdrawals: false })({
      ledger,
      walletClient: flaky,
      publicClient,
      clock: { now: () => now },
    })
    expect((await cashout.tick()).sent).toEqual([]) // failure 1 → retry after 1 s
    expect((await cashout.tick()).waiting).toBe('backoff')
    now += 1_000
    expect((await cashout.tick()).sent).toEqual([]) // failure 2 → retry after 2 s
    now += 1_999
    expect((await cashout.tick()).waiting).toBe('backoff')
    now += 1
    expect((await cashout.tick()).sent).toHaveLength(1)
    expect(ledger.pendingTxs()).toHaveLength(1)
    wallet.close()
    ledger.close()
  })
})
