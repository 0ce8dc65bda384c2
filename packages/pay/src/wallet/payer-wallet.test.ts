import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createPrivateKeyChequeSigner, type ChequeSigner } from '../cheques/index.js'
import { createPayerWallet } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-wallet-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address

describe('payer wallet', () => {
  it('steps the stored cumulative back when signing fails (no signature exists at it)', async () => {
    const key = generatePrivateKey()
    const real = createPrivateKeyChequeSigner(key, domain)
    let fail = false
    const flaky: ChequeSigner = { address: real.address, sign: (c) => (fail ? Promise.reject(new Error('hsm offline')) : real.sign(c)) }
    const payee = privateKeyToAccount(generatePrivateKey()).address
    const w = createPayerWallet({ dbPath: join(dir, 'w.db'), signer: flaky, payer: real.address, domain })
    await w.pay(payee, token, tokenUnits(10n))
    fail = true
    await expect(w.pay(payee, token, tokenUnits(5n))).rejects.toThrow('hsm offline')
    expect(w.cumulative(payee, token)).toBe(10n)
    fail = false
    expect((await w.pay(payee, token, tokenUnits(5n))).cheque.cumulativeAmount).toBe(15n)
    w.close()
  })

  it('keeps totals per chain instance: a local chain replaced under the same chain id and escrow address starts from zero (no old cumulative for the new chain to claim)', async () => {
    const signer = createPrivateKeyChequeSigner(generatePrivateKey(), domain)
    const payee = privateKeyToAccount(generatePrivateKey()).address
    const dbPath = join(dir, 'w-instance.db')
    const A = `0x${'a1'.repeat(32)}` as const
    const B = `0x${'b2'.repeat(32)}` as const
    // made before instances were recorded: the first instance given adopts these totals
    const old = createPayerWallet({ dbPath, signer, payer: signer.address, domain })
    await old.pay(payee, token, tokenUnits(100n))
    old.close()
    const a = createPayerWallet({ dbPath, signer, payer: signer.address, domain, instance: A })
    expect(a.replacedInstance).toBeUndefined()
    expect(a.cumulative(payee, token)).toBe(100n)
    expect((await a.pay(payee, token, tokenUnits(5n))).cheque.cumulativeAmount).toBe(105n)
    a.close()
    // the chain restarted: same chain id and escrow, another deployment block
    const b = createPayerWallet({ dbPath, signer, payer: signer.address, domain, instance: B })
    expect(b.replacedInstance).toBe(A)
    expect(b.cumulative(payee, token)).toBe(0n)
    expect(b.lastCheque(payee, token)).toBeUndefined()
    expect((await b.pay(payee, token, tokenUnits(7n))).cheque.cumulativeAmount).toBe(7n)
    b.close()
    // reopened on the same instance: its own totals, nothing replaced
    const b2 = createPayerWallet({ dbPath, signer, payer: signer.address, domain, instance: B.toUpperCase().replace('0X', '0x') as `0x${string}` })
    expect(b2.replacedInstance).toBeUndefined()
    expect(b2.cumulative(payee, token)).toBe(7n)
    b2.close()
    // back on A (an RPC switched back): its own totals return, B's are set aside in turn
    const a2 = createPayerWallet({ dbPath, signer, payer: signer.address, domain, instance: A })
    expect(a2.replacedInstance).toBe(B)
    expect(a2.cumulative(payee, token)).toBe(105n)
    a2.close()
  })

  it('refuses a cumulative beyond uint128', async () => {
    const key = generatePrivateKey()
    const signer = createPrivateKeyChequeSigner(key, domain)
    const w = createPayerWallet({ dbPath: join(dir, 'w2.db'), signer, payer: signer.address, domain })
    await w.pay(signer.address, token, tokenUnits((1n << 128n) - 1n))
    await expect(w.pay(signer.address, token, tokenUnits(1n))).rejects.toMatchObject({ code: 'BITCDN_ERR_CHEQUE_OVERFLOW' })
    w.close()
  })
})
