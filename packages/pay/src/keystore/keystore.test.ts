import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { decryptKeystoreJson, encryptKeystoreJson } from 'ethers'
import { decryptKeystore, encryptKeystore, findKeystore, parsePrivateKey, keystorePath, readKeystoreFile, resolvePassphrase, resolvePassphraseFrom, unlockKeystoreFile, writeKeystoreFile } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-ks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('keystore', () => {
  it('round-trips a key through a 0600 v3 file; wrong passphrase is BITCDN_ERR_KEYSTORE_PASSPHRASE', async () => {
    const pk = generatePrivateKey()
    const file = keystorePath(dir, 'alice')
    await writeKeystoreFile(file, pk, 'pw', { scryptN: 1024 })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).not.toContain(pk.slice(2))
    expect(await readKeystoreFile(file, 'pw')).toEqual({ privateKey: pk, address: privateKeyToAddress(pk) })
    await expect(readKeystoreFile(file, 'nope')).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
    await expect(writeKeystoreFile(file, pk, 'pw', { scryptN: 1024 })).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_EXISTS' })
    await expect(readKeystoreFile(join(dir, 'missing.json'), 'pw')).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_NOT_FOUND' })
    expect(() => keystorePath(dir, '../evil')).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_KEYSTORE_INVALID' }))
  })

  it('decrypts the Web3 Secret Storage spec test vector (scrypt)', async () => {
    // test vector from the Web3 Secret Storage definition (password "testpassword")
    const vector = {
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
        ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
        mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    }
    const { privateKey } = await decryptKeystore(vector, 'testpassword')
    expect(privateKey).toBe('0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d')
  })

  it('reads the passphrase from the named env var and refuses when there is none and no TTY', async () => {
    expect(await resolvePassphrase({ envVar: 'X_PASS', env: { X_PASS: 's3cret' } })).toBe('s3cret')
    const notTty = Object.assign(process.stdin, {}) as NodeJS.ReadStream
    if (!notTty.isTTY) await expect(resolvePassphrase({ env: {} })).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
  })

  it('a wrong passphrase names the key file and where the passphrase came from, not the passphrase', async () => {
    const file = keystorePath(dir, 'bob')
    await writeKeystoreFile(file, generatePrivateKey(), 'right', { scryptN: 1024 })
    const err = await unlockKeystoreFile(file, { envVar: 'BOB_PASS', env: { BOB_PASS: 'hunter2-wrong' } }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE', details: { file, passphraseFrom: 'environment variable BOB_PASS' } })
    expect((err as Error).message).toBe(`wrong passphrase for keystore ${file} (passphrase from environment variable BOB_PASS)`)
    expect((err as Error).message).not.toContain('hunter2')
    expect((await unlockKeystoreFile(file, { envVar: 'BOB_PASS', env: { BOB_PASS: 'right' } })).privateKey).toMatch(/^0x[0-9a-f]{64}$/)
    await expect(readKeystoreFile(file, 'wrong')).rejects.toThrow(`wrong passphrase for keystore ${file}`)
    expect(await resolvePassphraseFrom({ envVar: 'X', env: { X: 'p' } })).toEqual({ passphrase: 'p', from: 'environment variable X' })
  })

  it('parsePrivateKey takes 64 hex digits (0x optional, whitespace trimmed), refuses 0 and ≥ n, and never echoes its input', () => {
    const k = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
    expect(parsePrivateKey(`  0x${k.toUpperCase()}\n`)).toBe(`0x${k}`)
    expect(parsePrivateKey(k)).toBe(`0x${k}`)
    for (const bad of [k.slice(1), `${k}00`, `zz${k.slice(2)}`, '0'.repeat(64), 'f'.repeat(64)]) {
      let message = ''
      try {
        parsePrivateKey(bad)
      } catch (err) {
        expect(err).toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_INVALID' })
        message = (err as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain(bad.slice(4, 20))
    }
  })

  it('findKeystore looks in BITCDN_HOME/keys, then the Foundry keystore folder, and names both when neither has the key', async () => {
    const foundry = join(dir, 'foundry')
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(foundry, { recursive: true })
    writeFileSync(join(foundry, 'castonly'), '{}')
    writeFileSync(join(foundry, 'both'), '{}')
    mkdirSync(join(dir, 'keys'), { recursive: true })
    writeFileSync(keystorePath(dir, 'both'), '{}')
    const env = { FOUNDRY_KEYSTORES_DIR: foundry }
    expect(await findKeystore(dir, 'both', env)).toBe(keystorePath(dir, 'both')) // BitCDN's first
    expect(await findKeystore(dir, 'castonly', env)).toBe(join(foundry, 'castonly'))
    await expect(findKeystore(dir, 'nobody', env)).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_NOT_FOUND', message: expect.stringContaining(join(foundry, 'nobody')) })
  })

  describe('non-ASCII passphrases, against an independent implementation (ethers v6)', () => {
    const passphrases = ['pässwörd Ωmega', '日本語のパスワード', 'ключ 🔑 ñandú', 'Ünïcödé — «ñ» façade']
    it.each(passphrases)('a keystore BitCDN writes opens in ethers with the same passphrase: %s', async (passphrase) => {
      const pk = generatePrivateKey()
      const ks = await encryptKeystore(pk, passphrase, { scryptN: 1024 })
      const account = await decryptKeystoreJson(JSON.stringify(ks), passphrase)
      expect(account.privateKey).toBe(pk)
      expect(account.address).toBe(privateKeyToAddress(pk))
    })

    it.each(passphrases)('a keystore ethers writes opens in BitCDN: %s', async (passphrase) => {
      const pk = generatePrivateKey()
      const json = await encryptKeystoreJson({ address: privateKeyToAddress(pk), privateKey: pk }, passphrase, { scrypt: { N: 1024 } })
      expect((await decryptKeystore(JSON.parse(json), passphrase)).privateKey).toBe(pk)
    })

    it('a keystore hashed from the bytes as typed (geth, cast) opens too, when NFKC would change the passphrase', async () => {
      const typed = 'cafe\u0301 \ufb01le' // decomposed é and the "ﬁ" ligature: NFKC changes both
      expect(typed.normalize('NFKC')).not.toBe(typed)
      const pk = generatePrivateKey()
      // ethers hashes a byte password as given: the geth/cast rule
      const json = await encryptKeystoreJson({ address: privateKeyToAddress(pk), privateKey: pk }, Buffer.from(typed, 'utf8'), { scrypt: { N: 1024 } })
      expect((await decryptKeystore(JSON.parse(json), typed)).privateKey).toBe(pk)
      await expect(decryptKeystore(JSON.parse(json), 'cafe file')).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
    })

    it('refuses to write a keystore whose passphrase the tools would encode differently (it would not open everywhere)', async () => {
      await expect(encryptKeystore(generatePrivateKey(), 'cafe\u0301', { scryptN: 1024 })).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
      await expect(encryptKeystore(generatePrivateKey(), '\uff21\uff22', { scryptN: 1024 })).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' }) // full-width ＡＢ
      await expect(encryptKeystore(generatePrivateKey(), '', { scryptN: 1024 })).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
    })
  })
})
