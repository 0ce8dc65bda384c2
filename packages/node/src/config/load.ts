/**
 * Reads and validates config.toml. Every failure is one line with a `BITCDN_ERR_CONFIG_*` code
 * that names the file and the field.
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute, resolve, dirname } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import type { BitcdnError } from '@bitcdn/core'
import { nodeError } from '../errors.js'
import { configFileSchema, toNodeConfig, type NodeConfig } from './schema.js'

/**
 * Parses config text.
 * @throws BitcdnError BITCDN_ERR_CONFIG_SYNTAX, BITCDN_ERR_CONFIG_INVALID (naming the field)
 * @example parseConfig(text, '/home/me/.bitcdn/node/config.toml').price.perGiBUnits
 */
export function parseConfig(text: string, file: string): NodeConfig {
  let table: unknown
  try {
    table = parse(text)
  } catch (err) {
    const e = err as TomlError
    const where = e instanceof TomlError ? ` line ${e.line}, column ${e.column}` : ''
    const why = (e.message ?? String(e)).split('\n')[0]
    throw nodeError('configSyntax', `config ${file}${where}: ${why}`, { file, line: (e as TomlError).line }, err)
  }
  const r = configFileSchema.safeParse(table)
  if (!r.success) throw invalidConfig(file, r.error.issues[0]!)
  const config = toNodeConfig(r.data)
  // relative paths are relative to the config file, not to wherever the node was started
  const base = dirname(file)
  if (!isAbsolute(config.dataDir)) config.dataDir = resolve(base, config.dataDir)
  if (config.chain.deployment !== '' && !isAbsolute(config.chain.deployment)) config.chain.deployment = resolve(base, config.chain.deployment)
  return config
}

function invalidConfig(file: string, issue: { path: PropertyKey[]; message: string; code: string; keys?: string[] }): BitcdnError {
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue.keys ?? []).map((k) => (path ? `${path}.${k}` : k))
    return nodeError('configInvalid', `config ${file}: unknown field ${keys.join(', ')}`, { file, field: keys[0] })
  }
  const field = path || '(top level)'
  const message = issue.code === 'invalid_type' && /undefined/.test(issue.message) ? 'missing' : issue.message
  return nodeError('configInvalid', `config ${file}: ${field}: ${message}`, { file, field })
}

/**
 * Reads the config file.
 * @throws BitcdnError BITCDN_ERR_CONFIG_MISSING, _SYNTAX, _INVALID
 * @example const config = await loadConfig(nodePaths().config)
 */
export async function loadConfig(file: string): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw nodeError('configMissing', `no node config at ${file}; create one with: bitcdn node init`, { file }, err)
    }
    throw err
  }
  return parseConfig(text, file)
}
