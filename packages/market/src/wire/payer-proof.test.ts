import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { recoverTypedDataAddress, bytesToHex, hashTypedData, getAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { toSignature65, parseSignatureBytes } from '@bitcdn/pay'
import { payerProofDigest, payerProofTypes, signPayerProof, verifyPayerProof, type PayerProofFields } from './payer-proof.js'

const signer = privateKeyToAccount(generatePrivateKey())
const other = privateKeyToAccount(generatePrivateKey())
const fields: PayerProofFields = {
  domain: { chainId: 31337, verifyingContract: '0x1111111111111111111111111111111111111111' },
  payer: '0x5555555555555555555555555555555555555555',
  signer: signer.address,
  payee: '0x6666666666666666666666666666666666666666',
  token: '0x2222222222222222222222222222222222222222',
  pricePerGiB: tokenUnits(1_000_000n),
  infoHash: 'ab'.repeat(20),
  nonce: new Uint8Array(32).fill(3),
}
const unproven = expect.objectContaining({ code: 'BITCDN_ERR_PAY_PAYER_UNPROVEN' })

describe('payer proof (the hello signature)', () => {
  it('verifies a hello the signer key signed for exactly this payer, terms, torrent and nonce', async () => {
    const sig = await signPayerProof(signer, fields)
    expect(sig.length).toBe(64)
    expect(() => verifyPayerProof(sig, fields)).not.toThrow()
    // the fast (native) recovery agrees with viem's full EIP-712 recovery
    const recovered = await recoverTypedDataAddress({
      domain: { name: 'BitCDNEscrow', version: '1', chainId: 31337, verifyingContract: fields.domain.verifyingContract },
      types: payerProofTypes,
      primaryType: 'PayerHello',
      message: { payer: fields.payer, signer: fields.signer, payee: fields.payee, token: fields.token, pricePerGiB: fields.pricePerGiB, infoHash: `0x${fields.infoHash}`, nonce: bytesToHex(fields.nonce) },
      signature: toSignature65(parseSignatureBytes(sig)),
    })
    expect(recovered).toBe(signer.address)
  })

  it("refuses a hello signed by another key than the signer it names (a payer it holds no key of)", async () => {
    const sig = await signPayerProof(other, fields)
    expect(() => verifyPayerProof(sig, fields)).toThrow(unproven)
    expect(() => verifyPayerProof(sig, fields)).toThrow(/signed by 0x[0-9a-fA-F]{40}, not the signer/)
  })

  it('refuses a hello replayed from another connection (another nonce) or to another seller, chain, escrow, token, price, torrent or payer', async () => {
    const variants: Partial<PayerProofFields>[] = [
      { nonce: randomBytes(32) },
      { payee: '0x7777777777777777777777777777777777777777' },
      { domain: { ...fields.domain, chainId: 1 } },
      { domain: { ...fields.domain, verifyingContract: '0x3333333333333333333333333333333333333333' } },
      { token: '0x4444444444444444444444444444444444444444' },
      { pricePerGiB: tokenUnits(999_999n) },
      { infoHash: 'cd'.repeat(20) },
      { payer: '0x8888888888888888888888888888888888888888' },
    ]
    for (const v of variants) {
      const sig = await signPayerProof(signer, { ...fields, ...v })
      expect(() => verifyPayerProof(sig, fields), JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))).toThrow(unproven)
    }
  })

  it('refuses malformed signatures (zero, flipped, high s, random) with the same code, never another error', async () => {
    const sig = await signPayerProof(signer, fields)
    const flipped = Uint8Array.from(sig)
    flipped[5] = flipped[5]! ^ 0xff
    for (const bad of [new Uint8Array(64), flipped, new Uint8Array(64).fill(0xff), randomBytes(64), new Uint8Array(0), new Uint8Array(63)]) {
      expect(() => verifyPayerProof(bad, fields)).toThrow(unproven)
    }
  })

  it("the fixed-layout digest the seller checks equals viem's EIP-712 hashTypedData, for any fields", () => {
    const addr = () => getAddress(bytesToHex(randomBytes(20)))
    for (let i = 0; i < 50; i++) {
      const f: PayerProofFields = {
        domain: { chainId: 1 + (randomBytes(4).readUInt32BE(0) % 1_000_000), verifyingContract: i % 2 === 0 ? addr() : addr().toLowerCase() as `0x${string}` },
        payer: addr(),
        signer: addr(),
        payee: addr(),
        token: addr(),
        pricePerGiB: tokenUnits([0n, 1n, (1n << 128n) - 1n, BigInt(`0x${randomBytes(16).toString('hex')}`)][i % 4]!),
        infoHash: i % 3 === 0 ? randomBytes(20).toString('hex').toUpperCase() : randomBytes(20).toString('hex'),
        nonce: i === 0 ? new Uint8Array(32) : randomBytes(32),
      }
      const viem = hashTypedData({
        domain: { name: 'BitCDNEscrow', version: '1', chainId: f.domain.chainId, verifyingContract: getAddress(f.domain.verifyingContract) },
        types: payerProofTypes,
        primaryType: 'PayerHello',
        message: { payer: f.payer, signer: f.signer, payee: f.payee, token: f.token, pricePerGiB: f.pricePerGiB, infoHash: `0x${f.infoHash.toLowerCase()}`, nonce: bytesToHex(f.nonce) },
      })
      expect(bytesToHex(payerProofDigest(f))).toBe(viem)
    }
    // fields no codec would produce are refused, never hashed into something else
    for (const bad of [{ payer: '0x12' }, { token: `0x${'zz'.repeat(20)}` }, { pricePerGiB: 1n << 128n }, { pricePerGiB: -1n }, { infoHash: 'ab' }, { nonce: new Uint8Array(31) }] as Partial<PayerProofFields>[]) {
      expect(() => payerProofDigest({ ...fields, ...bad }), JSON.stringify(bad, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    }
  })
})
