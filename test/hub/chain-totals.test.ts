/**
 * The hub's chain totals on a real anvil and escrow: per-payee memory is bounded by what the chain
 * makes an attacker pay. Attack: `claimCompact` for random payees with no rows (anyone may call
 * it; it logs `CompactClaimed` with nothing paid) makes no entry; dust claims to fresh payees keep
 * only the most recent few; a payee that real money reached is kept through any dust flood.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getAddress, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createChainTotals } from '@bitcdn/hub'
import { encodeCompactRows, escrowAbi, signCheque } from '@bitcdn/pay'
import { startPayChain, type PayChain } from '../pay/helpers.js'

let chain: PayChain
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

describe('hub chain totals', () => {
  it('attack: zero-paid claims for random payees and a dust flood do not grow the hub; real payees stay', async () => {
    const { deployment, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = chain.accounts[1]!
    await chain.deposit(payer.privateKey, 10_000_000n)
    const caller = chain.wallet(chain.accounts[2]!.privateKey)
    const cumulative = new Map<Address, bigint>()
    /** One claim paying `amount` more to `payee` (anyone sends it: here account 2). */
    const claim = async (payee: Address, amount: bigint) => {
      const total = (cumulative.get(payee) ?? 0n) + amount
      cumulative.set(payee, total)
      const rows = amount === 0n ? '0x' : encodeCompactRows(payee, usdc, [await signCheque(privateKeyToAccount(payer.privateKey), { domain, cheque: { payer: payer.address, payee, token: usdc, cumulativeAmount: tokenUnits(total) } })])
      const hash = await caller.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'claimCompact', args: [payee, usdc, rows] })
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
    }
    const fresh = () => getAddress(privateKeyToAccount(generatePrivateKey()).address)
    const totals = createChainTotals({ rpcUrl: chain.anvil.rpcUrl, escrow: deployment.escrow, minTrackedUnits: 1_000n, maxDustPayees: 3 }, publicClient as never)

    const real = fresh()
    await claim(real, 5_000n)
    // the flood: empty claims for 20 random payees, then dust claims to 10 more
    for (let i = 0; i < 20; i++) await claim(fresh(), 0n)
    const dusty: Address[] = []
    for (let i = 0; i < 10; i++) {
      dusty.push(fresh())
      await claim(dusty.at(-1)!, 10n)
    }
    const snap = await totals.refresh()
    expect(snap.claimedByPayee.get(real)).toBe(5_000n)
    expect(snap.claimsByPayee.get(real)).toHaveLength(1)
    // one real payee plus the three most recent dust payees; nothing from the empty claims
    expect([...snap.claimedByPayee.keys()].sort()).toEqual([real, ...dusty.slice(-3)].sort())
    expect(snap.claimsByPayee.size).toBe(4)
    // the all-time total still counts every unit paid
    expect(snap.claimed).toBe(5_000n + 100n)
    // a dust payee that real money reaches is kept for good
    const grows = dusty.at(-1)!
    await claim(grows, 2_000n)
    for (let i = 0; i < 5; i++) await claim(fresh(), 10n)
    const after = await totals.refresh()
    expect(after.claimedByPayee.get(grows)).toBe(2_010n)
    expect(after.claimedByPayee.get(real)).toBe(5_000n)
    expect(after.claimedByPayee.size).toBe(2 + 3)
  }, 120_000)
})
