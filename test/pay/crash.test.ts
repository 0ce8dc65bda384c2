/**
 * Crash safety with real processes and SIGKILL at random points:
 * - the payer never signs a cumulative lower than (or equal to) one it signed before a crash, and
 *   its stored cumulative is ≥ every cheque it ever emitted;
 * - the payee never loses a cheque it acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner, signedChequeToJson, type SignedCheque } from '@bitcdn/pay'
import { spawnTs } from './fixtures/run-ts.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address
const payerKey = generatePrivateKey()
const payer = privateKeyToAccount(payerKey).address
const payee = privateKeyToAccount(generatePrivateKey()).address
const ROUNDS = 4

/** Collects a child's stdout lines; SIGKILLs it once `killAfter(lines)` says so; resolves on exit. */
function runUntilKilled(child: ChildProcess, killAfter: (lines: string[]) => boolean): Promise<string[]> {
  const lines: string[] = []
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l)
    if (child.exitCode === null && !child.killed && killAfter(lines)) child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) =>
    child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(lines) : reject(new Error(`child exited: ${stderr}`)))),
  )
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo))

describe('crash safety (SIGKILL)', () => {
  // the two tests share nothing (their own databases and child processes), so they run side by
  // side: each spends its time starting its children, one after the other
  it.concurrent('a killed payer never signs a lower cumulative after restart; its store covers every emitted cheque', { timeout: 300_000 }, async ({ expect }) => {
    const dbPath = join(dir, 'payer.db')
    const cfg = JSON.stringify({ dbPath, payerKey, payer, domain, token, payee })
    const emitted: bigint[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const stopAt = rand(5, 300)
      const lines = await runUntilKilled(spawnTs('payer-crash.ts', [cfg]), (ls) => ls.length > stopAt)
      const ready = BigInt(lines[0]!.split(' ')[1]!)
      const signed = lines.filter((l) => l.startsWith('SIGNED')).map((l) => BigInt(l.split(' ')[1]!))
      // the restarted wallet resumes at or above everything emitted before
      if (emitted.length) expect(ready >= emitted[emitted.length - 1]!).toBe(true)
      emitted.push(...signed)
      const w = createPayerWallet({ dbPath, signer: createPrivateKeyChequeSigner(payerKey, domain), payer, domain })
      expect(w.cumulative(payee, token) >= emitted[emitted.length - 1]!).toBe(true)
      w.close()
    }
    // strictly increasing across all runs: never a lower or repeated cumulative
    for (let i = 1; i < emitted.length; i++) expect(emitted[i]! > emitted[i - 1]!).toBe(true)
    expect(emitted.length).toBeGreaterThan(ROUNDS)
  })

  it.concurrent('a killed payee keeps every cheque it acknowledged', { timeout: 300_000 }, async ({ expect }) => {
    const dbPath = join(dir, 'payee.db')
    const cfg = JSON.stringify({ dbPath, payee, domain })
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer2.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer, domain })
    const cheques: SignedCheque[] = []
    for (let i = 0; i < 1500; i++) cheques.push(await wallet.pay(payee, token, tokenUnits(BigInt(1 + (i % 7)))))
    wallet.close()
    const acked = new Set<bigint>()
    let next = 0
    for (let round = 0; round < ROUNDS && next < cheques.length; round++) {
      const child = spawnTs('payee-crash.ts', [cfg])
      const stopAt = rand(5, 300)
      const lines = runUntilKilled(child, (ls) => ls.length > stopAt)
      // feed everything from where the ledger stands; it NACKs what it already has
      for (let i = Math.max(0, next - 10); i < cheques.length; i++) child.stdin!.write(`${JSON.stringify(signedChequeToJson(cheques[i]!))}\n`)
      child.stdin!.on('error', () => {}) // EPIPE after the kill
      const out = await lines
      for (const l of out) if (l.startsWith('ACK ')) acked.add(BigInt(l.slice(4)))
      const ledger = createPayeeLedger({ dbPath, payee, domain })
      const best = ledger.best(payer, token)!.cheque.cumulativeAmount
      const history = new Set<bigint>(ledger.history(payer, token).map((h) => h.cumulative))
      for (const a of acked) expect(history.has(a)).toBe(true)
      expect(best >= [...acked].reduce((m, a) => (a > m ? a : m), 0n)).toBe(true)
      next = cheques.findIndex((c) => c.cheque.cumulativeAmount > best)
      if (next < 0) next = cheques.length
      ledger.close()
    }
    expect(acked.size).toBeGreaterThan(ROUNDS)
  })
})
