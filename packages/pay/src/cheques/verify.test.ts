import { describe, expect, it } from 'vitest'
import { bytesToHex, getAddress, hexToBytes, recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { randomBytes } from 'node:crypto'
import { tokenUnits } from '@bitcdn/core'
import { chequeTypes, createChequeVerifier, createPrivateKeyChequeSigner, MAX_CUMULATIVE, signCheque, typedDomain, verifyCheque, type Cheque, type SignedCheque } from './index.js'
import { nativeSecp256k1Available } from './secp256k1-native.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const domain = { chainId: 31337, verifyingContract: getAddress(bytesToHex(randomBytes(20))) }
const ROUNDS = 5
const hex32 = (v: bigint) => v.toString(16).padStart(64, '0')

/**
 * The escrow's rule, from independent parts: OpenZeppelin ECDSA.tryRecover (65 bytes with v 27/28
 * or 0/1, or 64-byte ERC-2098; 0 < r < n, 0 < s ≤ n/2) then viem's recovery of the EIP-712 digest.
 */
async function reference(signed: SignedCheque): Promise<Address | undefined> {
  const b = hexToBytes(signed.signature)
  let r: bigint, s: bigint, v: number
  if (b.length === 65) {
    r = BigInt(bytesToHex(b.subarray(0, 32)))
    s = BigInt(bytesToHex(b.subarray(32, 64)))
    v = b[64]! < 27 ? b[64]! + 27 : b[64]!
  } else if (b.length === 64) {
    r = BigInt(bytesToHex(b.subarray(0, 32)))
    const vs = BigInt(bytesToHex(b.subarray(32, 64)))
    s = vs & ((1n << 255n) - 1n)
    v = Number(vs >> 255n) + 27
  } else return undefined
  if (v !== 27 && v !== 28) return undefined
  if (r === 0n || r >= N || s === 0n || s > N / 2n) return undefined
  try {
    const sig65 = `0x${hex32(r)}${hex32(s)}${v.toString(16)}` as Hex
    return await recoverTypedDataAddress({ domain: typedDomain(domain), types: chequeTypes, primaryType: 'Cheque', message: signed.cheque, signature: sig65 })
  } catch {
    return undefined
  }
}

/** Random valid and invalid variants of one honest signature. */
function variants(signed: SignedCheque, other: SignedCheque): SignedCheque[] {
  const b = hexToBytes(signed.signature)
  const r = BigInt(bytesToHex(b.subarray(0, 32)))
  const s = BigInt(bytesToHex(b.subarray(32, 64)))
  const v = b[64]!
  const with65 = (rr: bigint, ss: bigint, vv: number): SignedCheque => ({ ...signed, signature: `0x${hex32(rr)}${hex32(ss)}${vv.toString(16).padStart(2, '0')}` as Hex })
  const yParity = BigInt(v - 27)
  const compact = (rr: bigint, ss: bigint, parity: bigint): SignedCheque => ({ ...signed, signature: `0x${hex32(rr)}${hex32(ss | (parity << 255n))}` as Hex })
  const rand = () => BigInt(bytesToHex(randomBytes(32)))
  return [
    signed, // valid
    with65(r, s, v - 27), // v as 0/1: the escrow reads it as 27/28
    compact(r, s, yParity), // ERC-2098 form
    with65(r, s, v === 27 ? 28 : 27), // the other v: a valid ECDSA signature of the key, but ecrecover yields another address
    compact(r, s, 1n - yParity),
    with65(r, N - s, v === 27 ? 28 : 27), // the malleable high-s twin (ecrecover accepts it, OpenZeppelin does not)
    with65(r, s, 29), // bad v
    with65(0n, s, v), // r = 0
    with65(r, 0n, v), // s = 0
    with65(N, s, v), // r = n
    with65(r + N < 2n ** 256n ? r + N : r, s, v), // r ≥ n
    with65(rand() % N, rand() % (N / 2n), 27 + Number(rand() & 1n)), // random, usually recovers some other key
    with65(r, (s * 3n) % (N / 2n), v), // bent s
    { ...signed, cheque: { ...signed.cheque, cumulativeAmount: tokenUnits(signed.cheque.cumulativeAmount + 1n) } }, // tampered amount
    { ...signed, signature: other.signature }, // another key's signature over another cheque
    { ...signed, signature: `${signed.signature}00` as Hex }, // 66 bytes
  ]
}

const backends = nativeSecp256k1Available ? (['native', 'js'] as const) : (['js'] as const)
if (!nativeSecp256k1Available) console.warn('libsecp256k1 binding not loaded: differential test covers the js backend only')

describe('cheque fast verification agrees with the escrow rule (differential)', () => {
  it('the native backend loads on this machine (the fast path the bench measures)', () => {
    expect(nativeSecp256k1Available).toBe(true)
    expect(createChequeVerifier(domain).backend).toBe('native')
  })

  for (const backend of backends) {
    it(`${backend}: accepts exactly what OpenZeppelin recovery + viem accept, over random keys and vectors`, async () => {
      const accounts = Array.from({ length: 6 }, () => privateKeyToAccount(generatePrivateKey()))
      const verifier = createChequeVerifier(domain, { backend })
      let accepted = 0
      let rejected = 0
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, account] of accounts.entries()) {
          const cheque: Cheque = {
            payer: account.address,
            payee: getAddress(bytesToHex(randomBytes(20))),
            token: getAddress(bytesToHex(randomBytes(20))),
            cumulativeAmount: tokenUnits(BigInt(bytesToHex(randomBytes(15)))),
          }
          const signed = await signCheque(account, { domain, cheque })
          const other = await signCheque(accounts[(i + 1) % accounts.length]!, { domain, cheque: { ...cheque, cumulativeAmount: tokenUnits(7n) } })
          for (const vector of variants(signed, other)) {
            const want = await reference(vector)
            // both the fast path (cached key, after round 0) and recovery with no candidate
            expect(verifier.verify(vector, account.address), `${backend} verify ${vector.signature}`).toBe(want === account.address)
            expect(verifier.recoverSigner(vector), `${backend} recover ${vector.signature}`).toBe(want)
            if (want === account.address) accepted++
            else rejected++
          }
        }
      }
      expect(verifier.cachedSigners).toBe(accounts.length)
      expect(accepted).toBeGreaterThanOrEqual(3 * ROUNDS * accounts.length) // valid, v as 0/1, compact
      expect(rejected).toBeGreaterThan(10 * ROUNDS * accounts.length)
    })
  }

  it('a payer who flips v gets a cheque refused that a plain ECDSA check would accept (the escrow pays nothing for it)', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const cheque: Cheque = { payer: account.address, payee: account.address, token: account.address, cumulativeAmount: tokenUnits(5n) }
    const signed = await signCheque(account, { domain, cheque })
    const b = hexToBytes(signed.signature)
    b[64] = b[64] === 27 ? 28 : 27
    const flipped = { ...signed, signature: bytesToHex(b) }
    for (const backend of backends) {
      const v = createChequeVerifier(domain, { backend })
      expect(v.verify(signed, account.address)).toBe(true) // caches the key: the next check is the fast path
      expect(v.verify(flipped, account.address)).toBe(false)
    }
  })

  it('a cheque signed for another chain or another escrow (wrong domain) is refused by the fast path and by viem alike', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const cheque: Cheque = { payer: account.address, payee: getAddress(bytesToHex(randomBytes(20))), token: account.address, cumulativeAmount: tokenUnits(9n) }
    const good = await signCheque(account, { domain, cheque })
    const otherChain = await signCheque(account, { domain: { ...domain, chainId: domain.chainId + 1 }, cheque })
    const otherEscrow = await signCheque(account, { domain: { ...domain, verifyingContract: getAddress(bytesToHex(randomBytes(20))) }, cheque })
    for (const backend of backends) {
      const v = createChequeVerifier(domain, { backend })
      expect(v.verify(good, account.address)).toBe(true) // caches the key: the next checks are the fast path
      expect(v.verify(otherChain, account.address)).toBe(false)
      expect(v.verify(otherEscrow, account.address)).toBe(false)
    }
    await expect(verifyCheque({ domain, signedCheque: good, signer: account.address })).resolves.toBe(account.address)
    await expect(verifyCheque({ domain, signedCheque: otherChain, signer: account.address })).rejects.toMatchObject({ code: 'BITCDN_ERR_CHEQUE_SIGNATURE' })
    await expect(verifyCheque({ domain, signedCheque: otherEscrow, signer: account.address })).rejects.toMatchObject({ code: 'BITCDN_ERR_CHEQUE_SIGNATURE' })
  })
})

describe('cheque fast path for a known signer (cached key)', () => {
  const payee = getAddress(bytesToHex(randomBytes(20)))
  const token = getAddress(bytesToHex(randomBytes(20)))

  it('refuses a cheque in the cached signer\'s name signed by another key, and caches nothing for it', async () => {
    const payer = privateKeyToAccount(generatePrivateKey())
    const intruder = privateKeyToAccount(generatePrivateKey())
    const cheque: Cheque = { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(1_000n) }
    const good = await signCheque(payer, { domain, cheque })
    const forged = await signCheque(intruder, { domain, cheque: { ...cheque, cumulativeAmount: tokenUnits(2_000n) } })
    for (const backend of backends) {
      const v = createChequeVerifier(domain, { backend })
      expect(v.verify(good, payer.address)).toBe(true)
      expect(v.cachedSigners).toBe(1) // the next checks run against the cached key
      expect(v.verify(forged, payer.address), backend).toBe(false)
      expect(v.recoverSigner(forged, [payer.address]), backend).toBe(intruder.address) // it is a valid signature, of someone else
      expect(v.cachedSigners).toBe(1)
      expect(v.verify(good, payer.address)).toBe(true)
    }
  })

  it('treats the high-s twin of a good signature as the slow path does: refused (the escrow refuses it too)', async () => {
    const payer = privateKeyToAccount(generatePrivateKey())
    const cheque: Cheque = { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(77n) }
    const good = await signCheque(payer, { domain, cheque })
    const b = hexToBytes(good.signature)
    const s = BigInt(bytesToHex(b.subarray(32, 64)))
    // (r, n − s, other v) recovers the same key through a bare ecrecover: only the low-s rule refuses it
    const twin: SignedCheque = { ...good, signature: `${bytesToHex(b.subarray(0, 32))}${hex32(N - s)}${b[64] === 27 ? '1c' : '1b'}` as Hex }
    expect(await recoverTypedDataAddress({ domain: typedDomain(domain), types: chequeTypes, primaryType: 'Cheque', message: cheque, signature: twin.signature })).toBe(payer.address)
    await expect(verifyCheque({ domain, signedCheque: twin, signer: payer.address })).rejects.toMatchObject({ code: 'BITCDN_ERR_CHEQUE_INVALID' })
    for (const backend of backends) {
      const v = createChequeVerifier(domain, { backend })
      expect(v.verify(good, payer.address)).toBe(true) // cached: the twin meets the fast path
      expect(v.verify(twin, payer.address), backend).toBe(false)
      expect(v.recoverSigner(twin), backend).toBeUndefined()
    }
  })

  it('refuses an amount outside uint128 even when its digest is validly signed (the escrow cannot pay it)', async () => {
    const pk = generatePrivateKey()
    const payer = privateKeyToAccount(pk)
    const signer = createPrivateKeyChequeSigner(pk, domain)
    const good: Cheque = { payer: payer.address, payee, token, cumulativeAmount: tokenUnits(5n) }
    for (const amount of [MAX_CUMULATIVE + 1n, -1n]) {
      // the fast signer hashes the low 256 bits as the digester does: a payer could sign this
      const cheque = { ...good, cumulativeAmount: tokenUnits(amount) }
      const signed = { cheque, signature: await signer.sign(cheque) }
      for (const backend of backends) {
        const v = createChequeVerifier(domain, { backend })
        expect(v.verify({ cheque: good, signature: await signer.sign(good) }, payer.address)).toBe(true)
        expect(v.verify(signed, payer.address), `${backend} ${amount}`).toBe(false)
        expect(v.recoverSigner(signed), `${backend} ${amount}`).toBeUndefined()
      }
    }
  })
})
