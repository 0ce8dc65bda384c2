/**
 * Attack review (session 5): the buyer's native signer caches the EIP-712 domain separator per
 * signer (chain id, escrow) and decodes addresses through a per-digester cache. A cache keyed too
 * loosely would sign for the wrong payee, token or escrow. Every signature is compared byte for
 * byte with viem's signTypedData, interleaving payees, tokens, amounts and two domains.
 */
import { describe, expect, it } from 'vitest'
import { recoverTypedDataAddress, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { chequeTypes, createPrivateKeyChequeSigner, signCheque, typedDomain, type Cheque } from './index.js'
import { nativeSecp256k1Available } from './secp256k1-native.js'

const domainA = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }
const domainB = { chainId: 8453, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' as Address }
const payees = ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0x90F79bf6EB2c4f870365E785982E1f101E93b906', '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65'] as Address[]
const tokens = ['0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc'] as Address[]

describe('attack review: native cheque signer', () => {
  it('the native signer is the one under test here (libsecp256k1 loaded)', () => {
    expect(nativeSecp256k1Available).toBe(true)
  })

  it('signs exactly what signTypedData signs for each payee, token, amount and domain, interleaved (no cached digest reused for another payee)', async () => {
    const pk = generatePrivateKey()
    const account = privateKeyToAccount(pk)
    const signers = [
      { domain: domainA, s: createPrivateKeyChequeSigner(pk, domainA) },
      { domain: domainB, s: createPrivateKeyChequeSigner(pk, domainB) },
    ]
    for (let i = 0; i < 120; i++) {
      const { domain, s } = signers[i % 2]!
      const cheque: Cheque = {
        payer: account.address,
        payee: payees[i % 3]!,
        token: tokens[(i >> 1) % 2]!,
        // the same amount recurs for different payees: a digest cached per amount would show
        cumulativeAmount: tokenUnits(BigInt(1 + (i % 7)) * 1_000_000n),
      }
      // mixed-case and lower-case spellings of one payee must sign the same cheque
      const spelled = i % 4 === 0 ? { ...cheque, payee: cheque.payee.toLowerCase() as Address } : cheque
      const fast = await s.sign(spelled)
      const viaViem = await signCheque(account, { domain, cheque })
      expect(fast, `cheque ${i}`).toBe(viaViem.signature)
      const recovered = await recoverTypedDataAddress({ domain: typedDomain(domain), types: chequeTypes, primaryType: 'Cheque', message: cheque, signature: fast })
      expect(recovered).toBe(account.address)
    }
  })
})
