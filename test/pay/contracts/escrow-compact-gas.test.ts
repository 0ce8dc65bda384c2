/**
 * Gas and calldata of `claimCompact` per cheque — one payee cashing the cheques of N payers
 * (each with a hot signer) in one token, the cash-out's only shape — at batch 1, 10 and 100, first
 * claims (new paidOut / earnings storage) and repeat claims, drawn from an allocation or from the
 * free balance. Gas is deterministic on anvil, so the targets are asserted: ≤ 16,000 gas per
 * repeat cheque at batch 100 from allocations, ≤ 140 calldata bytes per cheque. Printed as a table;
 * `npm run bench -- pay` records the same figures.
 */
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import type { Account } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { claimCompact, setup, signCheque, write, type Fixture } from './fixture.js'

const BATCHES = [1, 10, 100] as const
const PAYERS = 100

describe('claimCompact gas and calldata', () => {
  let f: Fixture
  let payers: Account[]
  let signers: Account[]
  const rows: Record<string, unknown>[] = []

  beforeAll(async () => {
    f = await setup({ accounts: PAYERS + 2, withdrawDelaySeconds: 3600, fund: 0n })
    payers = f.accounts.slice(2, 2 + PAYERS)
    signers = payers.map(() => privateKeyToAccount(generatePrivateKey()))
    const funder = f.wallet(0)
    const total = 10n ** 15n
    await write(f, funder, { address: f.usdc, abi: testTokenAbi, functionName: 'mint', args: [funder.account.address, total] })
    await write(f, funder, { address: f.usdc, abi: testTokenAbi, functionName: 'approve', args: [f.escrow, total] })
    for (let i = 0; i < PAYERS; i++) {
      await write(f, funder, { address: f.escrow, abi: escrowAbi, functionName: 'depositFor', args: [payers[i]!.address, f.usdc, total / BigInt(PAYERS)] })
      await write(f, f.wallet(payers[i]!), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [signers[i]!.address] })
    }
  }, 240_000)

  afterAll(async () => {
    await f?.stop()
    console.table(rows)
  })

  for (const backing of ['allocation', 'free balance'] as const) {
    for (const n of BATCHES) {
      it(`${n} payers → 1 payee from the ${backing}: first and repeat`, { timeout: 180_000 }, async () => {
        const payee = privateKeyToAccount(generatePrivateKey()).address
        if (backing === 'allocation') {
          for (let i = 0; i < n; i++) {
            await write(f, f.wallet(payers[i]!), { address: f.escrow, abi: escrowAbi, functionName: 'allocate', args: [payee, f.usdc, 1_000_000n] })
          }
        }
        for (const [kind, amount] of [['first', 1_000n], ['repeat', 2_500n]] as const) {
          const cheques = await Promise.all(
            Array.from({ length: n }, (_, i) => signCheque(f, signers[i]!, { payer: payers[i]!.address, payee, token: f.usdc, cumulativeAmount: amount })),
          )
          const { receipt, events, inputBytes } = await claimCompact(f, 1, payee, f.usdc, cheques, 15_000_000n)
          const paid = events.filter((e) => e.eventName === 'ChequePaid')
          expect(paid).toHaveLength(n)
          expect(events.filter((e) => e.eventName === 'ChequeBounced' || e.eventName === 'ChequeRejected')).toHaveLength(0)
          const batch = events.find((e) => e.eventName === 'CompactClaimed')
          expect(batch?.args).toMatchObject({ payee, token: f.usdc, rows: BigInt(n), totalPaid: BigInt(n) * (kind === 'first' ? 1_000n : 1_500n) })
          const gasPerCheque = Math.round(Number(receipt.gasUsed) / n)
          const bytesPerCheque = Math.round(inputBytes / n)
          rows.push({ backing, batch: n, kind, gasTotal: Number(receipt.gasUsed), gasPerCheque, calldataBytes: inputBytes, bytesPerCheque })
          if (n === 100) expect(bytesPerCheque).toBeLessThanOrEqual(140)
          if (n === 100 && kind === 'repeat' && backing === 'allocation') expect(gasPerCheque).toBeLessThanOrEqual(16_000)
        }
        // what the allocation-backed rows paid came out of the allocation, not the free balance
        if (backing === 'allocation') {
          const [left] = await f.publicClient.readContract({ address: f.escrow, abi: escrowAbi, functionName: 'allocation', args: [payers[0]!.address, payee, f.usdc] })
          expect(left).toBe(1_000_000n - 2_500n)
        }
      })
    }
  }
})
