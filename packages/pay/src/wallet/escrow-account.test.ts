import { createPublicClient, createTestClient, createWalletClient, http, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest'
import { escrowAbi, testTokenAbi } from '../contracts/index.js'
import { anvilAccounts, startAnvil, type AnvilInstance } from '../chain/anvil.js'
import { deployLocal } from '../chain/deploy.js'
import type { Deployment } from '../chain/deployment.js'
import { createEscrowAccount, type EscrowAccount } from './escrow-account.js'

const DELAY = 600

describe('escrow account (payer owner key) on anvil', () => {
  let anvil: AnvilInstance
  let d: Deployment
  let publicClient: PublicClient
  let testClient: ReturnType<typeof createTestClient>
  let account: EscrowAccount
  let snap: `0x${string}`
  const [, payerDev, payeeDev] = anvilAccounts(3)
  const payee = payeeDev!.address
  const allocation = async () =>
    publicClient.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'allocation', args: [payerDev!.address, payee, d.tokens.USDC] })

  beforeAll(async () => {
    anvil = await startAnvil({ accounts: 3 })
    d = await deployLocal({ rpcUrl: anvil.rpcUrl, withdrawDelaySeconds: DELAY, fund: { accounts: [payerDev!.address], amount: 100_000_000n } })
    publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient
    testClient = createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) })
    const walletClient = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(payerDev!.privateKey), pollingInterval: 50 })
    for (const [functionName, address, args] of [
      ['approve', d.tokens.USDC, [d.escrow, 100_000_000n]],
      ['deposit', d.escrow, [d.tokens.USDC, 100_000_000n]],
    ] as const) {
      const hash = await walletClient.writeContract({ address, abi: functionName === 'approve' ? testTokenAbi : escrowAbi, functionName, args } as never)
      await publicClient.waitForTransactionReceipt({ hash })
    }
    account = createEscrowAccount({ escrow: d.escrow, token: d.tokens.USDC })({ walletClient, publicClient })
  })
  afterAll(async () => {
    await anvil?.stop()
  })
  beforeEach(async () => {
    snap = await testClient.snapshot()
  })
  afterEach(async () => {
    await testClient.revert({ id: snap })
  })

  it('ensureAllocation tops up only the difference, and sends nothing when the allocation suffices', async () => {
    const first = await account.ensureAllocation(payee, 10_000_000n)
    expect(first.actions.map((a) => a.action)).toEqual(['allocate'])
    expect((await allocation())[0]).toBe(10_000_000n)
    const grow = await account.ensureAllocation(payee, 25_000_000n)
    expect(grow).toMatchObject({ allocated: 25_000_000n, pendingDecrease: 0n })
    expect((await allocation())[0]).toBe(25_000_000n)
    expect(await publicClient.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payerDev!.address, d.tokens.USDC] })).toBe(75_000_000n)
    expect((await account.ensureAllocation(payee, 20_000_000n)).actions).toEqual([])
  })

  it('ensureAllocation cancels a pending decrease that would take the allocation below the target', async () => {
    await account.ensureAllocation(payee, 30_000_000n)
    const walletClient = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(payerDev!.privateKey) })
    await publicClient.waitForTransactionReceipt({ hash: await walletClient.writeContract({ address: d.escrow, abi: escrowAbi, functionName: 'requestDeallocate', args: [payee, d.tokens.USDC, 20_000_000n] }) })
    // 30 − 20 pending = 10 would stay: below 40 → cancel, then allocate 10 more
    const r = await account.ensureAllocation(payee, 40_000_000n)
    expect(r.actions.map((a) => a.action)).toEqual(['cancelDeallocate', 'allocate'])
    expect(await allocation()).toEqual([40_000_000n, 0n, 0n])
  })

  it('reverts come back as the custom error in words (BITCDN_ERR_ESCROW_REVERTED), before any gas is spent', async () => {
    await expect(account.ensureAllocation(payee, 500_000_000n)).rejects.toMatchObject({
      code: 'BITCDN_ERR_ESCROW_REVERTED',
      message: expect.stringMatching(/^allocate of 500000000 base units exceeds 0x[0-9a-fA-F]{40}'s free escrow balance of 100000000 base units \(InsufficientBalance\)$/),
      details: { errorName: 'InsufficientBalance', args: { balance: '100000000', needed: '500000000' } },
    })
    await expect(account.cancelDeallocate(payee)).rejects.toMatchObject({ code: 'BITCDN_ERR_ESCROW_REVERTED', details: { errorName: 'NoPendingDeallocation' } })
    await expect(account.revokeSigner()).rejects.toMatchObject({ code: 'BITCDN_ERR_ESCROW_REVERTED', details: { errorName: 'NoSignerToRevoke' } })
    await expect(account.setSignerCap(1n, 1)).rejects.toMatchObject({ code: 'BITCDN_ERR_ESCROW_REVERTED', message: expect.stringContaining('cap period 1 s is outside 60..31536000 s') })
  })

  it('setSignerCap announces a first cap (in effect after the delay); signerCap reads it; revokeSigner revokes', async () => {
    await account.setSignerCap(5_000_000n, 3600)
    expect((await account.signerCap()).capPerPeriod).toBe(0n)
    await testClient.increaseTime({ seconds: DELAY })
    await testClient.mine({ blocks: 1 })
    expect(await account.signerCap()).toMatchObject({ capPerPeriod: 5_000_000n, periodSeconds: 3600n, spentThisPeriod: 0n })
    const walletClient = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(payerDev!.privateKey) })
    const hot = privateKeyToAccount(`0x${'11'.repeat(32)}`).address
    await publicClient.waitForTransactionReceipt({ hash: await walletClient.writeContract({ address: d.escrow, abi: escrowAbi, functionName: 'setSigner', args: [hot] }) })
    const hash = await account.revokeSigner()
    const receipt = await publicClient.getTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    const [current, previous] = await publicClient.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'signerOf', args: [payerDev!.address] })
    expect([current, previous]).toEqual(['0x0000000000000000000000000000000000000000', hot])
  })

  it('an unreachable RPC is BITCDN_ERR_RPC_FAILED with one line', async () => {
    const dead = createEscrowAccount({ escrow: d.escrow, token: d.tokens.USDC })({
      walletClient: createWalletClient({ chain: foundry, transport: http('http://127.0.0.1:9', { retryCount: 0 }), account: privateKeyToAccount(payerDev!.privateKey) }),
      publicClient: createPublicClient({ chain: foundry, transport: http('http://127.0.0.1:9', { retryCount: 0 }) }) as PublicClient,
    })
    const err = await dead.ensureAllocation(payee, 1n).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BITCDN_ERR_RPC_FAILED' })
    expect((err as Error).message).not.toContain('\n')
  })
})
