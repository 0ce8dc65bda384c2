import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { createPrivateKeyChequeSigner, signCheque } from '../cheques/index.js'
import { createPayerWallet } from '../wallet/index.js'
import { createPayeeLedger } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-ledger-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address
const payerKey = generatePrivateKey()
const payer = privateKeyToAccount(payerKey)
const payee = privateKeyToAccount(generatePrivateKey()).address

describe('payer wallet + payee ledger', () => {
  it('wallet issues increasing cumulatives that survive reopening; ledger accepts them in order', async () => {
    const dbPath = join(dir, 'w1.db')
    let wallet = createPayerWallet({ dbPath, signer: createPrivateKeyChequeSigner(payerKey, domain), payer: payer.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l1.db'), payee, domain, tokens: [token] })
    const a = await wallet.pay(payee, token, tokenUnits(100n))
    const b = await wallet.pay(payee, token, tokenUnits(50n))
    expect(b.cheque.cumulativeAmount).toBe(150n)
    expect(ledger.accept(a).increment).toBe(100n)
    expect(ledger.accept(b).increment).toBe(50n)
    expect(() => ledger.accept(a)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_NOT_NEWER' }))
    wallet.close()
    wallet = createPayerWallet({ dbPath, signer: payer, payer: payer.address, domain })
    expect(wallet.cumulative(payee, token)).toBe(150n)
    expect(wallet.lastCheque(payee, token)).toEqual(b)
    const c = await wallet.pay(payee, token, tokenUnits(1n))
    expect(c.cheque.cumulativeAmount).toBe(151n)
    expect(ledger.accept(c).increment).toBe(1n)
    expect(ledger.exposure(token)).toBe(151n)
    expect(wallet.lastCheque(payee, token)?.cheque.cumulativeAmount).toBe(151n)
    expect(ledger.history(payer.address, token).map((h) => h.cumulative)).toEqual([100n, 50n + 100n, 151n])
    const other = privateKeyToAccount(generatePrivateKey()).address
    const many = await wallet.payMany([
      { payee, token, amount: tokenUnits(9n) },
      { payee: other, token, amount: tokenUnits(3n) },
    ])
    expect(many.map((m) => m.cheque.cumulativeAmount)).toEqual([160n, 3n])
    expect(ledger.accept(many[0]!).increment).toBe(9n)
    await expect(wallet.payMany([{ payee, token, amount: tokenUnits(1n) }, { payee, token, amount: tokenUnits(1n) }])).rejects.toMatchObject({
      code: 'BITCDN_ERR_AMOUNT_INVALID',
    })
    await expect(wallet.pay(payee, token, tokenUnits(0n))).rejects.toMatchObject({ code: 'BITCDN_ERR_AMOUNT_INVALID' })
    wallet.close()
    await expect(wallet.pay(payee, token, tokenUnits(1n))).rejects.toMatchObject({ code: 'BITCDN_ERR_WALLET_CLOSED' })
    ledger.close()
  })

  it('ledger rejects wrong payee, wrong token, wrong domain and forged signatures with their codes', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l2.db'), payee, domain, tokens: [token] })
    const ok = { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(10n) }
    const other = privateKeyToAccount(generatePrivateKey())
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as { code: string }).code
      }
      return 'accepted'
    }
    expect(code(() => ledger.accept({ cheque: { ...ok, payee: other.address }, signature: '0x' }))).toBe('BITCDN_ERR_CHEQUE_WRONG_PAYEE')
    expect(code(() => ledger.accept({ cheque: { ...ok, token: other.address }, signature: '0x' }))).toBe('BITCDN_ERR_CHEQUE_WRONG_TOKEN')
    const forged = await signCheque(other, { domain, cheque: ok })
    expect(code(() => ledger.accept(forged))).toBe('BITCDN_ERR_CHEQUE_SIGNATURE')
    const otherChain = await signCheque(payer, { domain: { ...domain, chainId: 10 }, cheque: ok })
    expect(code(() => ledger.accept(otherChain))).toBe('BITCDN_ERR_CHEQUE_SIGNATURE')
    const good = await signCheque(payer, { domain, cheque: ok })
    expect(code(() => ledger.accept(good, { domain: { ...domain, chainId: 10 } }))).toBe('BITCDN_ERR_CHEQUE_WRONG_DOMAIN')
    // a delegated signer is valid once the payer authorizes it
    const delegated = await signCheque(other, { domain, cheque: { ...ok, cumulativeAmount: tokenUnits(20n) } })
    expect(code(() => ledger.accept(delegated))).toBe('BITCDN_ERR_CHEQUE_SIGNATURE')
    const ledger2 = createPayeeLedger({ dbPath: join(dir, 'l3.db'), payee, domain, signersOf: () => [other.address] })
    expect(ledger2.accept(delegated).signer).toBe(other.address)
    // the helper tells a call that went through from one that threw: the good cheque goes through
    expect(code(() => ledger.accept(good))).toBe('accepted')
    expect(ledger.entry(payer.address, token)?.best.cheque.cumulativeAmount).toBe(10n)
    ledger.close()
    ledger2.close()
  })

  it('tracks pending, confirmed and requeued claims', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l4.db'), payee, domain })
    const s = await signCheque(payer, { domain, cheque: { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(500n) } })
    ledger.accept(s)
    ledger.markPending([{ payer: payer.address, token, cumulative: tokenUnits(500n) }], '0xaa')
    expect(ledger.pendingTxs()).toEqual(['0xaa'])
    ledger.requeue('0xaa')
    expect(ledger.unsettled()[0]?.pending).toBeUndefined()
    ledger.markPending([{ payer: payer.address, token, cumulative: tokenUnits(500n) }], '0xbb')
    ledger.markConfirmed('0xbb', [{ payer: payer.address, token, paidOut: tokenUnits(500n), paid: tokenUnits(500n) }])
    expect(ledger.unsettled()).toEqual([])
    expect(ledger.entry(payer.address, token)?.settled).toBe(500n)
    ledger.close()
  })

  it('re-checks settlements from their block on: a reorg lowers settled back to paidOut and the value is owed again', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l6.db'), payee, domain })
    const s = await signCheque(payer, { domain, cheque: { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(700n) } })
    ledger.accept(s)
    ledger.markPending([{ payer: payer.address, token, cumulative: tokenUnits(700n) }], '0xcc')
    ledger.markConfirmed('0xcc', [{ payer: payer.address, token, paidOut: tokenUnits(700n), paid: tokenUnits(700n), block: 40n }])
    expect(ledger.exposure(token)).toBe(0n)
    expect(ledger.settledSince(41n)).toEqual([])
    expect(ledger.settledSince(40n).map((e) => e.settledBlock)).toEqual([40n])
    ledger.markReorged(payer.address, token, tokenUnits(0n))
    expect(ledger.exposure(token)).toBe(700n)
    expect(ledger.unsettled().map((e) => e.unsettledSinceMs !== undefined)).toEqual([true])
    ledger.markFinal(40n)
    expect(ledger.settledSince(0n)).toEqual([])
    ledger.close()
  })

  it('asks the verification budget before each signature check and stops the burst when it is spent', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l7.db'), payee, domain })
    const other = privateKeyToAccount(generatePrivateKey())
    const forged = []
    for (let i = 1; i <= 50; i++) forged.push(await signCheque(other, { domain, cheque: { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(BigInt(1000 + i)) } }))
    let checks = 0
    const r = ledger.acceptNewest(forged, { mayVerify: () => ++checks <= 3 })
    expect(checks).toBe(4) // three allowed, the fourth refused, then no more asked
    expect(r.budgetSpent).toBe(true)
    expect(r.accepted).toEqual([])
    const codes = r.rejected.map((x) => (x.error as { code: string }).code)
    expect(codes.filter((c) => c === 'BITCDN_ERR_CHEQUE_SIGNATURE')).toHaveLength(3)
    expect(codes.filter((c) => c === 'BITCDN_ERR_PEER_VERIFY_LIMIT')).toHaveLength(47)
    ledger.close()
  })
})

describe('acceptNewest', () => {
  it('verifies only the highest cheque per pair, falling back past a forged one', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l5.db'), payee, domain })
    const cheques = []
    for (let i = 1; i <= 5; i++) cheques.push(await signCheque(payer, { domain, cheque: { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(BigInt(i * 10)) } }))
    const forged = { ...cheques[4]!, cheque: { ...cheques[4]!.cheque, cumulativeAmount: tokenUnits(1000n) } }
    const r = ledger.acceptNewest([...cheques, forged])
    expect(r.accepted).toHaveLength(1)
    expect(r.accepted[0]!.increment).toBe(50n)
    expect(r.rejected.map((x) => (x.error as { code: string }).code)).toEqual(['BITCDN_ERR_CHEQUE_SIGNATURE'])
    expect(ledger.history().length).toBe(1)
    ledger.close()
  })
})

describe('payee ledger: durability and the per-payer exposure cache', () => {
  it('an accepted cheque is in the file for another connection at once, and durable() syncs it', async () => {
    const dbPath = join(dir, 'l-durable.db')
    const ledger = createPayeeLedger({ dbPath, payee, domain, tokens: [token] })
    const wallet = createPayerWallet({ dbPath: join(dir, 'w-durable.db'), signer: payer, payer: payer.address, domain })
    const v0 = ledger.version
    ledger.accept(await wallet.pay(payee, token, tokenUnits(70n)))
    expect(ledger.version).toBeGreaterThan(v0)
    await ledger.durable()
    // a second reader (as a restarted process would be) sees it
    const again = createPayeeLedger({ dbPath, payee, domain, tokens: [token] })
    expect(again.best(payer.address, token)?.cheque.cumulativeAmount).toBe(70n)
    again.close()
    wallet.close()
    ledger.close()
  })

  it('exposure per payer follows every write (a new cheque, a confirmed claim, a reorg)', async () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'l-cache.db'), payee, domain, tokens: [token] })
    const wallet = createPayerWallet({ dbPath: join(dir, 'w-cache.db'), signer: payer, payer: payer.address, domain })
    ledger.accept(await wallet.pay(payee, token, tokenUnits(100n)))
    expect(ledger.exposure(token, payer.address)).toBe(100n)
    expect(ledger.exposure(token, payer.address)).toBe(100n) // cached
    ledger.accept(await wallet.pay(payee, token, tokenUnits(20n)))
    expect(ledger.exposure(token, payer.address)).toBe(120n)
    const tx = `0x${'ab'.repeat(32)}` as const
    ledger.markPending([{ payer: payer.address, token, cumulative: tokenUnits(120n) }], tx)
    ledger.markConfirmed(tx, [{ payer: payer.address, token, paidOut: tokenUnits(90n), paid: tokenUnits(90n) }])
    expect(ledger.exposure(token, payer.address)).toBe(30n)
    ledger.markReorged(payer.address, token, tokenUnits(40n))
    expect(ledger.exposure(token, payer.address)).toBe(80n)
    // another spelling of the same payer reads the same row
    expect(ledger.exposure(token, payer.address.toLowerCase() as Address)).toBe(80n)
    wallet.close()
    ledger.close()
  })
})
