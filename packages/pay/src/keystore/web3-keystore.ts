/**
 * Web3 Secret Storage v3 (the geth / foundry `cast wallet` keystore format): the private key is
 * encrypted with aes-128-ctr under the first half of a scrypt-derived key; the second half MACs
 * the ciphertext with keccak-256, which is how a wrong passphrase is told from a corrupt file.
 * Spec: https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/
 * The spec leaves the passphrase's bytes open: BitCDN writes UTF-8 of its NFKC form, as ethers
 * does, and refuses passphrases whose NFKC form differs (geth and cast hash the bytes as typed),
 * so each file opens in every tool; reading tries both forms.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { scryptAsync } from '@noble/hashes/scrypt'
import { z } from 'zod'
import { bytesToHex, getAddress, keccak256, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { PayError } from '../cheques/errors.js'

/** A v3 keystore document. */
export interface KeystoreV3 {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    ciphertext: string
    cipherparams: { iv: string }
    kdf: 'scrypt'
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string }
    mac: string
  }
}

export interface EncryptKeystoreOptions {
  /** scrypt cost N (power of two). @default 262144 (2^18, geth's "standard") */
  scryptN?: number
  /** @default 8 */
  scryptR?: number
  /** @default 1 */
  scryptP?: number
}

const hex = z.string().regex(/^(0x)?[0-9a-fA-F]*$/)
const keystoreSchema = z.object({
  version: z.literal(3),
  id: z.string().optional(),
  address: z.string().optional(),
  crypto: z.object({
    cipher: z.literal('aes-128-ctr'),
    ciphertext: hex,
    cipherparams: z.object({ iv: hex }),
    kdf: z.literal('scrypt'),
    kdfparams: z.object({ dklen: z.number().int().min(32), n: z.number().int().positive(), r: z.number().int().positive(), p: z.number().int().positive(), salt: hex }),
    mac: hex,
  }),
})

const strip = (s: string) => (s.startsWith('0x') ? s.slice(2) : s)

async function derive(pass: Uint8Array, salt: Buffer, n: number, r: number, p: number, dklen: number): Promise<Buffer> {
  // OpenSSL refuses N ≥ 2^(16·r) (e.g. the spec's own r = 1, N = 2^18 vector); files written by
  // other tools may use such parameters, so fall back to the (slower) pure-JS scrypt for them
  if (n >= 2 ** (16 * r)) return Buffer.from(await scryptAsync(pass, salt, { N: n, r, p, dkLen: dklen }))
  return new Promise((resolve, reject) =>
    // scrypt needs 128·N·r bytes; lift node's 32 MiB default so N = 2^18 works
    scrypt(pass, salt, dklen, { N: n, r, p, maxmem: 256 * n * r * p + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/**
 * The byte strings a passphrase may have been turned into by the tool that wrote a keystore:
 * ethers (and BitCDN) UTF-8 of its NFKC form; geth, `cast wallet` and web3.js its UTF-8 as typed.
 * The same for most text; they differ for compatibility characters (ligatures, full-width
 * letters, superscripts) and for decomposed input.
 */
function passphraseEncodings(passphrase: string): Uint8Array[] {
  const nfkc = Buffer.from(passphrase.normalize('NFKC'), 'utf8')
  const raw = Buffer.from(passphrase, 'utf8')
  return nfkc.equals(raw) ? [nfkc] : [nfkc, raw]
}

/**
 * Refuses a passphrase that Ethereum tools would encode differently, so a keystore BitCDN writes
 * opens with the same typed passphrase in ethers, geth and `cast wallet`.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_PASSPHRASE
 * @example assertPortablePassphrase('pässwörd') // fine
 */
export function assertPortablePassphrase(passphrase: string): void {
  if (passphrase === '') throw new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', 'the passphrase is empty')
  if (passphrase.normalize('NFKC') !== passphrase) {
    throw new PayError(
      'BITCDN_ERR_KEYSTORE_PASSPHRASE',
      'the passphrase has characters that Ethereum tools encode differently (ethers normalizes them to NFKC, geth and cast do not), so its keystore would not open everywhere; avoid ligatures, full-width or superscript characters and decomposed accents',
    )
  }
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]), 'bytes'))
}

/**
 * Encrypts a private key into a v3 keystore.
 * @example const ks = await encryptKeystore(pk, 'correct horse', { scryptN: 4096 })
 */
export async function encryptKeystore(privateKey: Hex, passphrase: string, opts: EncryptKeystoreOptions = {}): Promise<KeystoreV3> {
  const n = opts.scryptN ?? 262144
  const r = opts.scryptR ?? 8
  const p = opts.scryptP ?? 1
  assertPortablePassphrase(passphrase)
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const derived = await derive(Buffer.from(passphrase, 'utf8'), salt, n, r, p, 32)
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(strip(privateKey), 'hex')), cipher.final()])
  return {
    version: 3,
    id: randomUUID(),
    address: strip(privateKeyToAddress(privateKey)).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: iv.toString('hex') },
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, r, p, salt: salt.toString('hex') },
      mac: mac(derived, ciphertext).toString('hex'),
    },
  }
}

/**
 * Decrypts a v3 keystore.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_PASSPHRASE (MAC mismatch), BITCDN_ERR_KEYSTORE_INVALID
 * @example const pk = await decryptKeystore(JSON.parse(text), passphrase)
 */
export async function decryptKeystore(keystore: unknown, passphrase: string): Promise<{ privateKey: Hex; address: Address }> {
  // ethers (and geth before 1.4) write the section as "Crypto"; geth reads both spellings
  const doc = keystore as { crypto?: unknown; Crypto?: unknown } | null
  const parsed = keystoreSchema.safeParse(doc && doc.crypto === undefined && doc.Crypto !== undefined ? { ...doc, crypto: doc.Crypto } : keystore)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', `not a v3 scrypt/aes-128-ctr keystore: ${issue?.path.join('.')} ${issue?.message}`)
  }
  const c = parsed.data.crypto
  const kp = c.kdfparams
  const ciphertext = Buffer.from(strip(c.ciphertext), 'hex')
  const expected = Buffer.from(strip(c.mac), 'hex')
  let derived: Buffer | undefined
  // one scrypt for plain passphrases; a second only when NFKC changes it (see passphraseEncodings)
  for (const pass of passphraseEncodings(passphrase)) {
    const candidate = await derive(pass, Buffer.from(strip(kp.salt), 'hex'), kp.n, kp.r, kp.p, kp.dklen)
    const actual = mac(candidate, ciphertext)
    if (expected.length === actual.length && timingSafeEqual(expected, actual)) {
      derived = candidate
      break
    }
  }
  if (!derived) throw new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', 'wrong passphrase for keystore')
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), Buffer.from(strip(c.cipherparams.iv), 'hex'))
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()])
  const privateKey = bytesToHex(key)
  const address = privateKeyToAddress(privateKey)
  if (parsed.data.address && getAddress(`0x${strip(parsed.data.address)}`) !== address) {
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', 'keystore address does not match its key')
  }
  return { privateKey, address }
}
