/**
 * Gas of `claim` per cheque at batch sizes 1, 10 and 100, for first claims (new payer/payee pairs:
 * paidOut and earnings slots go from zero) and repeat claims (pairs that claimed before), in the two
 * shapes a batch takes in practice:
 *  - fan-out: one gateway (payer, hot signer) pays many nodes (payees);
 *  - fan-in: one node (payee) cashes the cheques of many gateways (payers, each with a hot signer).
 * Target: ≤ 30,000 gas per cheque for repeat claims at batch 100 (total tx gas / cheques, including
 * the 21,000 base and calldata). Figures print as a table and go to
 * test/pay/contracts/.gas-report.json (untracked) for the report.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import type { Account, Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { claim, setup, signCheque, write, type Fixture, type SignedCheque } from './fixture.js'

const BATCHES = [1, 10, 100] as const
const PAYERS = 100

describe('claim gas', () => {
  let f: Fixture
  let payers: Account[]
  let signers: Account[]
  const results: Record<string, Record<string, { total: number; perCheque: number }>> = {}

  beforeAll(async () => {
    // 100 dev accounts act as gateways (payers); each names a fresh hot signer.
    f = await setup({ accounts: PAYERS + 2, withdrawDelaySeconds: 3600, fund: 0n })
    payers = f.accounts.slice(2, 2 + PAYERS)
    signers = payers.map(() => privateKeyToAccount(generatePrivateKey()))
    const funder = f.wallet(0)
    const total = 10n ** 15n
    await write(f, funder, { address: f.usdc, abi: testTokenAbi, functionName: 'mint', args: [funder.account.address, total] })
    await write(f, funder, { address: f.usdc, abi: testTokenAbi, functionName: 'approve', args: [f.escrow, total] })
    for (let i = 0; i < PAYERS; i++) {
      await write(f, funder, {
        address: f.escrow,
        abi: escrowAbi,
        functionName: 'depositFor',
        args: [payers[i]!.address, f.usdc, total / BigInt(PAYERS)],
      })
      await write(f, f.wallet(payers[i]!), {
        address: f.escrow,
        abi: escrowAbi,
        functionName: 'setSigner',
        args: [signers[i]!.address],
      })
    }
  }, 240_000)

  afterAll(async () => {
    await f?.stop()
    const rows = Object.entries(results).flatMap(([shape, r]) =>
      Object.entries(r).map(([k, v]) => ({ shape, case: k, totalGas: v.total, gasPerCheque: v.perCheque })),
    )
    console.table(rows)
    writeFileSync(join(import.meta.dirname, '.gas-report.json'), `${JSON.stringify(results, null, 2)}\n`)
  })

  const randomPayees = (n: number): Address[] => Array.from({ length: n }, () => privateKeyToAccount(generatePrivateKey()).address)

  async function measure(shape: string, label: string, cheques: SignedCheque[]): Promise<number> {
    const { receipt, events } = await claim(f, 1, cheques, 15_000_000n)
    expect(events.filter((e) => e.eventName === 'ChequeClaimed')).toHaveLength(cheques.length)
    const total = Number(receipt.gasUsed)
    const perCheque = Math.round(total / cheques.length)
    ;(results[shape] ??= {})[label] = { total, perCheque }
    return perCheque
  }

  for (const n of BATCHES) {
    it(`fan-out (1 payer → ${n} payees): first and repeat claim`, async () => {
      const payer = payers[0]!
      const signer = signers[0]!
      const payees = randomPayees(n)
      const first = await Promise.all(
        payees.map((payee) => signCheque(f, signer, { payer: payer.address, payee, token: f.usdc, cumulativeAmount: 1_000n })),
      )
      await measure('fan-out', `batch ${n} first`, first)
      const repeat = await Promise.all(
        payees.map((payee) => signCheque(f, signer, { payer: payer.address, payee, token: f.usdc, cumulativeAmount: 2_500n })),
      )
      const perCheque = await measure('fan-out', `batch ${n} repeat`, repeat)
      if (n === 100) expect(perCheque).toBeLessThanOrEqual(30_000)
    })

    it(`fan-in (${n} payers → 1 payee): first and repeat claim`, async () => {
      const payee = randomPayees(1)[0]!
      const first = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          signCheque(f, signers[i]!, { payer: payers[i]!.address, payee, token: f.usdc, cumulativeAmount: 1_000n }),
        ),
      )
      await measure('fan-in', `batch ${n} first`, first)
      const repeat = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          signCheque(f, signers[i]!, { payer: payers[i]!.address, payee, token: f.usdc, cumulativeAmount: 2_500n }),
        ),
      )
      const perCheque = await measure('fan-in', `batch ${n} repeat`, repeat)
      if (n === 100) expect(perCheque).toBeLessThanOrEqual(30_000)
    })
  }
})
