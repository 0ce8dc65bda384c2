import { describe, expect, it } from 'vitest'
import { hashTypedData, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import {
  chequeTypes,
  createChequeDigester,
  createChequeVerifier,
  createPrivateKeyChequeSigner,
  decodeCheque,
  decodeSessionCheque,
  encodeCheque,
  encodeSessionCheque,
  parseSignedCheque,
  signCheque,
  signedChequeToJson,
  typedDomain,
  verifyCheque,
  CHEQUE_WIRE_BYTES,
  type Cheque,
} from './index.js'

const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
const pk = generatePrivateKey()
const account = privateKeyToAccount(pk)
const cheque: Cheque = {
  payer: account.address,
  payee: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  token: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  cumulativeAmount: tokenUnits(12_500_000n),
}

describe('cheques', () => {
  it('digest equals viem hashTypedData', () => {
    const expected = hashTypedData({ domain: typedDomain(domain), types: chequeTypes, primaryType: 'Cheque', message: cheque })
    const got = createChequeDigester(domain).digest(cheque)
    expect(`0x${Buffer.from(got).toString('hex')}`).toBe(expected)
  })

  it('digest equals hashTypedData across payer/payee/token triples and amounts, cached prefixes reused in any order', () => {
    const d = createChequeDigester(domain)
    const addrs = [cheque.payer, cheque.payee, cheque.token, '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address]
    const amounts = [0n, 1n, 255n, 256n, 12_500_000n, (1n << 64n) + 7n, (1n << 128n) - 1n]
    for (let i = 0; i < 60; i++) {
      const c: Cheque = { payer: addrs[i % 4]!, payee: addrs[(i + 1) % 4]!, token: addrs[(i >> 2) % 4]!, cumulativeAmount: tokenUnits(amounts[i % amounts.length]!) }
      const expected = hashTypedData({ domain: typedDomain(domain), types: chequeTypes, primaryType: 'Cheque', message: c })
      expect(`0x${Buffer.from(d.digest(c)).toString('hex')}`, JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? v.toString() : v))).toBe(expected)
    }
  })

  it('fast private-key signer produces the same signature as signTypedData', async () => {
    const viaViem = await signCheque(account, { domain, cheque })
    const fast = await createPrivateKeyChequeSigner(pk, domain).sign(cheque)
    expect(fast).toBe(viaViem.signature)
  })

  it('full recovery and fast path both accept a good cheque and reject a tampered one', async () => {
    const signed = await signCheque(account, { domain, cheque })
    expect(await verifyCheque({ domain, signedCheque: signed, signer: account.address })).toBe(account.address)
    const v = createChequeVerifier(domain)
    for (let i = 0; i < 5; i++) {
      const c = { ...cheque, cumulativeAmount: tokenUnits(BigInt(i + 1) * 1000n) }
      const s = await signCheque(account, { domain, cheque: c })
      expect(v.verify(s, account.address)).toBe(true) // first is a recovery, the rest fast path
      expect(v.verify({ ...s, cheque: { ...c, cumulativeAmount: tokenUnits(c.cumulativeAmount + 1n) } }, account.address)).toBe(false)
    }
    expect(v.cachedSigners).toBe(1)
    await expect(
      verifyCheque({ domain, signedCheque: { ...signed, cheque: { ...cheque, cumulativeAmount: tokenUnits(1n) } }, signer: account.address }),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_CHEQUE_SIGNATURE' })
  })

  it('fast path agrees with full recovery on many random cheques, valid and tampered', async () => {
    const v = createChequeVerifier(domain)
    for (let k = 0; k < 3; k++) {
      const key = generatePrivateKey()
      const signer = createPrivateKeyChequeSigner(key, domain)
      for (let i = 0; i < 100; i++) {
        const c = { ...cheque, payer: signer.address, cumulativeAmount: tokenUnits(BigInt(Math.floor(Math.random() * 1e12)) + 1n) }
        const s = { cheque: c, signature: await signer.sign(c) }
        expect(v.verify(s, signer.address)).toBe(true)
        const t = { ...s, cheque: { ...c, cumulativeAmount: tokenUnits(c.cumulativeAmount + 1n) } }
        expect(v.verify(t, signer.address)).toBe(false)
      }
    }
    expect(v.cachedSigners).toBe(3)
  })

  it('rejects a cheque signed for another domain', async () => {
    const other = await signCheque(account, { domain: { ...domain, chainId: 1 }, cheque })
    expect(createChequeVerifier(domain).verify(other, account.address)).toBe(false)
  })

  it('round-trips JSON and both wire forms; 64-byte compact signatures normalize to 65', async () => {
    const signed = await signCheque(account, { domain, cheque })
    expect(parseSignedCheque(JSON.stringify(signedChequeToJson(signed)))).toEqual(signed)
    const bytes = encodeCheque(signed)
    expect(bytes.length).toBe(CHEQUE_WIRE_BYTES)
    expect(decodeCheque(bytes)).toEqual(signed)
    const sess = encodeSessionCheque(signed)
    expect(sess.length).toBe(80)
    expect(decodeSessionCheque(sess, cheque)).toEqual(signed)
    const compact = `0x${Buffer.from(bytes.subarray(76)).toString('hex')}`
    expect(parseSignedCheque({ ...signedChequeToJson(signed), signature: compact }).signature).toBe(signed.signature)
  })

  it.each([
    [{ payer: '0x123' }, 'cheque.payer'],
    [{ payee: '0x70997970c51812dc3a010c7d01b50e0d17dc79C8' }, 'cheque.payee'], // broken checksum
    [{ cumulativeAmount: '1.5' }, 'cheque.cumulativeAmount'],
    [{ cumulativeAmount: (1n << 128n).toString() }, 'cheque.cumulativeAmount'],
  ])('rejects malformed JSON field %o', async (patch, where) => {
    const signed = signedChequeToJson(await signCheque(account, { domain, cheque }))
    expect(() => parseSignedCheque({ ...signed, cheque: { ...signed.cheque, ...patch } })).toThrow(
      expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID', message: expect.stringContaining(where) }),
    )
  })

  it('rejects bad signature lengths, bad v and high s', async () => {
    const signed = signedChequeToJson(await signCheque(account, { domain, cheque }))
    expect(() => parseSignedCheque({ ...signed, signature: '0x1234' })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID' }))
    expect(() => parseSignedCheque({ ...signed, signature: signed.signature.slice(0, -2) + '05' })).toThrow(/v must be/)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt('0x' + signed.signature.slice(66, 130))
    const high = signed.signature.slice(0, 66) + (n - s).toString(16).padStart(64, '0') + '1c'
    expect(() => parseSignedCheque({ ...signed, signature: high })).toThrow(/high s/)
  })
})
