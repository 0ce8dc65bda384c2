/**
 * Keystore files on disk: `$BITCDN_HOME/keys/<name>.json`, created exclusively with mode 0600 in a
 * 0700 directory, never overwritten; the plain key only ever exists in memory.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Address, Hex } from 'viem'
import { PayError } from '../cheques/errors.js'
import { decryptKeystore, encryptKeystore, type EncryptKeystoreOptions, type KeystoreV3 } from './web3-keystore.js'

/**
 * Path of a named key under a BitCDN home.
 * @example keystorePath('/home/me/.bitcdn', 'default') // '/home/me/.bitcdn/keys/default.json'
 */
export function keystorePath(home: string, name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', `key name '${name}' may only use letters, digits, '.', '_' and '-'`)
  }
  return join(home, 'keys', `${name}.json`)
}

/**
 * Encrypts and writes a new keystore file (mode 0600); refuses to overwrite.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_EXISTS
 * @example await writeKeystoreFile(path, generatePrivateKey(), passphrase)
 */
export async function writeKeystoreFile(file: string, privateKey: Hex, passphrase: string, opts?: EncryptKeystoreOptions): Promise<KeystoreV3> {
  const ks = await encryptKeystore(privateKey, passphrase, opts)
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  try {
    await writeFile(file, `${JSON.stringify(ks, null, 2)}\n`, { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PayError('BITCDN_ERR_KEYSTORE_EXISTS', `keystore ${file} already exists; not overwriting`)
    }
    throw err
  }
  await chmod(file, 0o600) // in case the umask widened it
  return ks
}

/**
 * Reads a keystore file's address without decrypting.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_NOT_FOUND, BITCDN_ERR_KEYSTORE_INVALID
 * @example const address = await readKeystoreAddress(path)
 */
export async function readKeystoreAddress(file: string): Promise<Address> {
  const ks = await readJson(file)
  const a = (ks as { address?: unknown }).address
  if (typeof a !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(a)) throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', `keystore ${file} has no address`)
  const { getAddress } = await import('viem')
  return getAddress(a.startsWith('0x') ? a : `0x${a}`)
}

/**
 * Reads and decrypts a keystore file.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_NOT_FOUND, BITCDN_ERR_KEYSTORE_INVALID, BITCDN_ERR_KEYSTORE_PASSPHRASE
 * @example const { privateKey } = await readKeystoreFile(path, passphrase)
 */
export async function readKeystoreFile(file: string, passphrase: string): Promise<{ privateKey: Hex; address: Address }> {
  return decryptKeystore(await readJson(file), passphrase)
}

async function readJson(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PayError('BITCDN_ERR_KEYSTORE_NOT_FOUND', `no keystore at ${file} (create one with: bitcdn wallet new)`)
    }
    throw err
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', `keystore ${file} is not JSON`, { cause })
  }
}
