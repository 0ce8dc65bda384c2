/**
 * Keystore files on disk: `$BITCDN_HOME/keys/<name>.json`, created exclusively with mode 0600 in a
 * 0700 directory, never overwritten; the plain key only ever exists in memory.
 */
import { access, chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Address, Hex } from 'viem'
import { PayError } from '../cheques/errors.js'
import { resolvePassphraseFrom, type PassphraseSource } from './passphrase.js'
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
 * Foundry's keystore folder (`cast wallet import NAME` writes `<dir>/NAME`): `$FOUNDRY_KEYSTORES_DIR`
 * or `~/.foundry/keystores`.
 * @example foundryKeystoreDir({}) // '/home/me/.foundry/keystores'
 */
export function foundryKeystoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FOUNDRY_KEYSTORES_DIR ?? join(env.HOME ?? homedir(), '.foundry', 'keystores')
}

/**
 * Finds a key by name, as `cast --account NAME` does: `$BITCDN_HOME/keys/NAME.json`, else Foundry's
 * `~/.foundry/keystores/NAME`; a name with a `/` is a path to a keystore file.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_NOT_FOUND (naming where it looked), BITCDN_ERR_KEYSTORE_INVALID (bad name)
 * @example const file = await findKeystore(bitcdnHome(), 'deployer')
 */
export async function findKeystore(home: string, name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const exists = (p: string) => access(p).then(() => true, () => false)
  if (name.includes('/')) {
    if (await exists(name)) return name
    throw new PayError('BITCDN_ERR_KEYSTORE_NOT_FOUND', `no keystore file at ${name}`)
  }
  const ours = keystorePath(home, name)
  if (await exists(ours)) return ours
  const foundry = join(foundryKeystoreDir(env), name)
  if (await exists(foundry)) return foundry
  throw new PayError(
    'BITCDN_ERR_KEYSTORE_NOT_FOUND',
    `no key named '${name}' (looked in ${ours} and ${foundry}); create one with \`bitcdn wallet new --key ${name}\` or \`bitcdn wallet import --key ${name}\`, or see \`bitcdn wallet list\``,
  )
}

/**
 * The keys `findKeystore` can find, by name, with where each lives (BitCDN's first).
 * @example for (const k of await listKeystores(home)) console.log(k.name, k.file)
 */
export async function listKeystores(home: string, env: NodeJS.ProcessEnv = process.env): Promise<Array<{ name: string; file: string; source: 'bitcdn' | 'foundry' }>> {
  const list = async (dir: string) => readdir(dir).catch(() => [] as string[])
  const out: Array<{ name: string; file: string; source: 'bitcdn' | 'foundry' }> = []
  for (const f of (await list(join(home, 'keys'))).sort()) if (f.endsWith('.json')) out.push({ name: f.slice(0, -5), file: join(home, 'keys', f), source: 'bitcdn' })
  for (const f of (await list(foundryKeystoreDir(env))).sort()) if (!out.some((k) => k.name === f)) out.push({ name: f, file: join(foundryKeystoreDir(env), f), source: 'foundry' })
  return out
}

/**
 * Parses a private key typed or read from a file: 64 hex digits, optional 0x, surrounding
 * whitespace ignored; must be a valid secp256k1 scalar. The message never contains the input.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_INVALID
 * @example parsePrivateKey('0xac09…ff80\n')
 */
export function parsePrivateKey(text: string): Hex {
  const t = text.trim()
  const hex = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', `a private key is 64 hex digits (32 bytes, optional 0x); got ${t.length} characters`)
  }
  const k = BigInt(`0x${hex}`)
  if (k === 0n || k >= 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n) {
    throw new PayError('BITCDN_ERR_KEYSTORE_INVALID', 'that is not a valid secp256k1 private key (zero or not below the curve order)')
  }
  return `0x${hex.toLowerCase()}`
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
 * Reads and decrypts a keystore file. A wrong passphrase is reported with the file and, when
 * `passphraseFrom` says it, where the passphrase came from (never the passphrase).
 * @throws {PayError} BITCDN_ERR_KEYSTORE_NOT_FOUND, BITCDN_ERR_KEYSTORE_INVALID, BITCDN_ERR_KEYSTORE_PASSPHRASE
 * @example const { privateKey } = await readKeystoreFile(path, passphrase, 'environment variable BITCDN_PASSPHRASE')
 */
export async function readKeystoreFile(file: string, passphrase: string, passphraseFrom?: string): Promise<{ privateKey: Hex; address: Address }> {
  const json = await readJson(file)
  try {
    return await decryptKeystore(json, passphrase)
  } catch (err) {
    if ((err as PayError).code !== 'BITCDN_ERR_KEYSTORE_PASSPHRASE') throw err
    const from = passphraseFrom ? ` (passphrase from ${passphraseFrom})` : ''
    throw new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', `wrong passphrase for keystore ${file}${from}`, { cause: err, details: { file, passphraseFrom } })
  }
}

/**
 * Resolves the passphrase (`resolvePassphraseFrom`: env var, else the terminal prompt) and
 * decrypts `file` with it: the one way the CLI unlocks a key.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_NOT_FOUND, BITCDN_ERR_KEYSTORE_INVALID, BITCDN_ERR_KEYSTORE_PASSPHRASE
 * @example const { privateKey } = await unlockKeystoreFile(path, { envVar: 'BITCDN_PASSPHRASE' })
 */
export async function unlockKeystoreFile(file: string, src: PassphraseSource = {}): Promise<{ privateKey: Hex; address: Address }> {
  const { passphrase, from } = await resolvePassphraseFrom(src)
  return readKeystoreFile(file, passphrase, from)
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
