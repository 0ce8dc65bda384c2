/**
 * End to end on a real anvil: one payer deposits; three payees each receive 10,000 cheques from the
 * payer wallet, verify them through the fast path into their ledgers; four more payers pay each
 * payee too, so each claim is a batch (one row per payer); the payees cash out twice (first claims,
 * then repeat claims of the same pairs); the chain's paid-out and withdrawn amounts equal the best
 * cheques to the unit.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import {
  CHEQUE_WIRE_BYTES,
  decodeCheque,
  createCashout,
  createChequeVerifier,
  createPayeeLedger,
  createPayerWallet,
  createPrivateKeyChequeSigner,
  escrowAbi,
  testTokenAbi,
  type SignedCheque,
} from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'
import { spawnTs } from './fixtures/run-ts.js'

const CHEQUES_PER_PAYEE = 10_000
let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-e2e-'))
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('settlement end to end', () => {
  it('3 payees × 10,000 cheques: on-chain earnings and withdrawals equal the best cheques to the unit', { timeout: 600_000 }, async () => {
    const { deployment, accounts, publicClient, testClient } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payerKey = accounts[1]!.privateKey
    const payer = accounts[1]!.address
    await chain.deposit(payerKey, 100_000_000_000n) // 100,000 USDC
    const payees = [accounts[2]!, accounts[3]!, accounts[4]!]
    const tokenBefore = await Promise.all(
      payees.map((p) => publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [p.address] })),
    )
    const verifier = createChequeVerifier(domain) // shared: one cached key table for the payer
    const ledgers = payees.map((p, i) => createPayeeLedger({ dbPath: join(dir, `payee-${i}.db`), payee: p.address, domain, tokens: [usdc], verifier }))
    const index = new Map(payees.map((p, i) => [p.address, i]))

    // the payer is its own process (signing on one core) streaming the 140-byte wire form; this
    // process takes each chunk as a burst and verifies the newest cheque per payee through the
    // fast path (ledger.acceptNewest), recording it in the three ledgers (the other core)
    const t0 = performance.now()
    const payerDb = join(dir, 'payer.db')
    const child = spawnTs('payer-stream.ts', [
      JSON.stringify({ dbPath: payerDb, payerKey, payer, domain, token: usdc, payees: payees.map((p) => p.address), count: CHEQUES_PER_PAYEE }),
    ])
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const expected = [0n, 0n, 0n]
    let received = 0
    let pending = Buffer.alloc(0)
    for await (const data of child.stdout!) {
      pending = Buffer.concat([pending, data as Buffer])
      let off = 0
      const burst: SignedCheque[][] = [[], [], []]
      for (; off + CHEQUE_WIRE_BYTES <= pending.length; off += CHEQUE_WIRE_BYTES) {
        const signed = decodeCheque(pending.subarray(off, off + CHEQUE_WIRE_BYTES))
        burst[index.get(signed.cheque.payee)!]!.push(signed)
        received++
      }
      // the seller path: per burst, only the newest cheque of the payer is verified and stored
      for (let i = 0; i < 3; i++) {
        if (burst[i]!.length === 0) continue
        const r = ledgers[i]!.acceptNewest(burst[i]!)
        expect(r.rejected).toEqual([])
        for (const a of r.accepted) expected[i]! += a.increment
      }
      pending = pending.subarray(off)
    }
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)))
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(received).toBe(3 * CHEQUES_PER_PAYEE)
    const ms = performance.now() - t0
    console.log(`e2e: ${received} cheques signed (child) + received, newest per burst verified + recorded, in ${ms.toFixed(0)} ms (${(received / (ms / 1000)).toFixed(0)}/s)`)
    // the amounts are 4..6 units in a fixed pattern: recompute what the payer meant to pay
    const meant = [0n, 0n, 0n]
    for (let n = 0; n < CHEQUES_PER_PAYEE; n++) for (let i = 0; i < 3; i++) meant[i]! += BigInt(4 + ((n * 7 + i) % 3))
    expect(expected).toEqual(meant)
    const wallet = createPayerWallet({ dbPath: payerDb, signer: createPrivateKeyChequeSigner(payerKey, domain), payer, domain })

    for (let i = 0; i < payees.length; i++) {
      expect(ledgers[i]!.best(payer, usdc)?.cheque.cumulativeAmount).toBe(expected[i])
      expect(wallet.cumulative(payees[i]!.address, usdc)).toBe(expected[i])
    }
    // more payers, so that each payee's claim is a batch of 5 rows
    const extras = [accounts[5]!, accounts[6]!, accounts[7]!, accounts[8]!]
    for (const e of extras) await chain.deposit(e.privateKey, 1_000_000_000n)
    const extraWallets = extras.map((e, j) =>
      createPayerWallet({ dbPath: join(dir, `extra-${j}.db`), signer: createPrivateKeyChequeSigner(e.privateKey, domain), payer: e.address, domain }),
    )
    const totals = [...expected]
    const payExtras = async (rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++) {
        for (const [j, w] of extraWallets.entries()) {
          for (let i = 0; i < payees.length; i++) totals[i]! += ledgers[i]!.accept(await w.pay(payees[i]!.address, usdc, tokenUnits(BigInt(100 + j + r)))).increment
        }
      }
    }
    const cashouts = payees.map((p, i) =>
      createCashout({ escrow: deployment.escrow, thresholdUnits: 1n, confirmations: 2, batchSize: 100, watchWithdrawals: false })({
        ledger: ledgers[i]!,
        walletClient: chain.wallet(p.privateKey),
        publicClient,
      }),
    )
    /** Claims and withdraws everything payee i is owed; returns what was withdrawn and the claim batch sizes. */
    const cashOut = async (i: number): Promise<{ withdrawn: bigint; batches: number[] }> => {
      let withdrawn = 0n
      const batches: number[] = []
      for (let k = 0; k < 10 && (ledgers[i]!.unsettled().length > 0 || withdrawn === 0n); k++) {
        const rows = ledgers[i]!.unsettled().filter((e) => !e.pending).length
        const t = await cashouts[i]!.tick()
        if (t.sent.length > 0) batches.push(rows)
        withdrawn += t.withdrawn.reduce((s, w) => s + w.amount, 0n)
        await testClient.mine({ blocks: 1 })
      }
      return { withdrawn, batches }
    }
    const withdrawnTotal = [0n, 0n, 0n]
    for (const round of [0, 1]) {
      await payExtras(5) // round 0: first claims of every pair; round 1: repeat claims
      for (let i = 0; i < payees.length; i++) {
        const r = await cashOut(i)
        expect(r.batches).toEqual([round === 0 ? 5 : 4]) // one claim tx; round 1: the main payer owes nothing new
        withdrawnTotal[i]! += r.withdrawn
        expect(withdrawnTotal[i]).toBe(totals[i])
      }
    }
    for (let i = 0; i < payees.length; i++) {
      const paidOut = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, payees[i]!.address, usdc] })
      expect(paidOut).toBe(expected[i])
      expect(ledgers[i]!.entry(payer, usdc)?.settled).toBe(expected[i])
      let bestSum = 0n
      for (const p of [payer, ...extras.map((e) => e.address)]) {
        const best = ledgers[i]!.best(p, usdc)!.cheque.cumulativeAmount
        bestSum += best
        expect(await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [p, payees[i]!.address, usdc] })).toBe(best)
      }
      expect(bestSum).toBe(totals[i])
      const after = await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payees[i]!.address] })
      expect(after - tokenBefore[i]!).toBe(totals[i])
    }
    for (const w of extraWallets) w.close()
    const free = await publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, usdc] })
    expect(free).toBe(100_000_000_000n - expected.reduce((a, b) => a + b, 0n))
    wallet.close()
    for (const l of ledgers) l.close()
  })
})
