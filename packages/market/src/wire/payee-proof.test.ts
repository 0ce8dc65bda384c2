import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { signPayeeProof, verifyPayeeProof, type PayeeProofFields } from './payee-proof.js'

const payee = privateKeyToAccount(generatePrivateKey())
const other = privateKeyToAccount(generatePrivateKey())
const fields: PayeeProofFields = {
  domain: { chainId: 31337, verifyingContract: '0x1111111111111111111111111111111111111111' },
  payee: payee.address,
  token: '0x2222222222222222222222222222222222222222',
  pricePerGiB: tokenUnits(1_000_000n),
  softAllowance: tokenUnits(500_000n),
  infoHash: 'ab'.repeat(20),
  nonce: new Uint8Array(32).fill(3),
}
const unproven = expect.objectContaining({ code: 'BITCDN_ERR_PAY_PAYEE_UNPROVEN' })

describe('payee proof', () => {
  it('verifies a proof the payee key signed for exactly these terms, torrent and nonce', async () => {
    const sig = await signPayeeProof(payee, fields)
    expect(sig.length).toBe(64)
    await expect(verifyPayeeProof(sig, fields)).resolves.toBeUndefined()
  })

  it('refuses a proof for another nonce (terms replayed from another connection)', async () => {
    const sig = await signPayeeProof(payee, { ...fields, nonce: randomBytes(32) })
    await expect(verifyPayeeProof(sig, fields)).rejects.toThrow(unproven)
  })

  it("refuses a proof signed by another key (a seller claiming another node's payee)", async () => {
    const sig = await signPayeeProof(other, fields)
    await expect(verifyPayeeProof(sig, fields)).rejects.toThrow(unproven)
  })

  it('refuses a proof for another chain id, escrow, token, price, allowance or torrent', async () => {
    const variants: Partial<PayeeProofFields>[] = [
      { domain: { ...fields.domain, chainId: 1 } },
      { domain: { ...fields.domain, verifyingContract: '0x3333333333333333333333333333333333333333' } },
      { token: '0x4444444444444444444444444444444444444444' },
      { pricePerGiB: tokenUnits(999_999n) },
      { softAllowance: tokenUnits(0n) },
      { infoHash: 'cd'.repeat(20) },
    ]
    for (const v of variants) {
      const sig = await signPayeeProof(payee, { ...fields, ...v })
      await expect(verifyPayeeProof(sig, fields)).rejects.toThrow(unproven)
    }
  })

  it('refuses malformed signatures with the same code, never another error', async () => {
    const sig = await signPayeeProof(payee, fields)
    const zero = new Uint8Array(64)
    const flipped = Uint8Array.from(sig)
    flipped[5] = flipped[5]! ^ 0xff
    for (const bad of [zero, flipped, new Uint8Array(64).fill(0xff), randomBytes(64)]) await expect(verifyPayeeProof(bad, fields)).rejects.toThrow(unproven)
  })
})
