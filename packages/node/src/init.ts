/**
 * `bitcdn node init`: the node's encrypted key (reused when it exists), its commented config and
 * its admin token (random, 0600). Never overwrites a config or a token.
 */
import { randomBytes } from 'node:crypto'
import { access, chmod, mkdir, writeFile } from 'node:fs/promises'
import { isHex, type Address, type Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { keystorePath, readKeystoreAddress, writeKeystoreFile } from '@bitcdn/pay'
import { nodeError } from './errors.js'
import { NODE_KEY_NAME, type NodePaths } from './paths.js'
import { renderConfigTemplate, type ConfigTemplateInit } from './config/template.js'
import { parseConfig } from './config/load.js'

export interface InitNodeOptions {
  paths: NodePaths
  /** Values for the config; the data directory defaults to `$BITCDN_HOME/node/data`. */
  config?: Partial<ConfigTemplateInit>
  /** Asked only when a new key must be made. */
  passphrase: () => Promise<string>
  /** Encrypt this key instead of generating one (an operator's existing key). */
  privateKey?: Hex
  /** scrypt cost of the key's encryption. @default 262144 (the keystore's) */
  scryptN?: number
}

export interface InitNodeResult {
  address: Address
  keyFile: string
  keyCreated: boolean
  configFile: string
  tokenFile: string
}

const exists = (p: string) => access(p).then(() => true, () => false)

/**
 * @throws BitcdnError BITCDN_ERR_CONFIG_EXISTS, BITCDN_ERR_CONFIG_INVALID (bad values given)
 * @example const r = await initNode({ paths: nodePaths(), passphrase: () => resolvePassphrase({ confirm: true }) })
 */
export async function initNode(opts: InitNodeOptions): Promise<InitNodeResult> {
  const { paths } = opts
  if (await exists(paths.config)) throw nodeError('configExists', `${paths.config} already exists; edit it, or remove it to start over`, { file: paths.config })
  const text = renderConfigTemplate({ dataDir: paths.defaultDataDir, ...opts.config })
  parseConfig(text, paths.config) // values from flags are checked before anything is written
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  const keyFile = keystorePath(paths.home, NODE_KEY_NAME)
  let keyCreated = false
  if (!(await exists(keyFile))) {
    if (opts.privateKey !== undefined && !(isHex(opts.privateKey) && opts.privateKey.length === 66)) {
      throw nodeError('configInvalid', 'the imported private key is not 0x and 64 hex digits', { field: 'private key' })
    }
    await writeKeystoreFile(keyFile, opts.privateKey ?? generatePrivateKey(), await opts.passphrase(), opts.scryptN !== undefined ? { scryptN: opts.scryptN } : {})
    keyCreated = true
  } else if (opts.privateKey !== undefined) {
    throw nodeError('configExists', `${keyFile} already exists; not replacing it with the imported key`, { file: keyFile })
  }
  const address = await readKeystoreAddress(keyFile)
  if (!(await exists(paths.adminToken))) {
    await writeFile(paths.adminToken, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 })
    await chmod(paths.adminToken, 0o600)
  }
  await writeFile(paths.config, text, { flag: 'wx', mode: 0o600 })
  return { address, keyFile, keyCreated, configFile: paths.config, tokenFile: paths.adminToken }
}
