/**
 * The CLI's side of the admin API: the running node's address from the config, the token from
 * its file. A refused connection means the node is not running (`BITCDN_ERR_NODE_NOT_RUNNING`),
 * so callers can fall back to working offline on the state files.
 */
import { readFile } from 'node:fs/promises'
import { BitcdnError } from '@bitcdn/core'
import { nodeError } from './errors.js'
import type { NodeConfig } from './config/schema.js'

export interface AdminClient {
  readonly url: string
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>
}

/**
 * Reads the admin token file.
 * @example const token = await readAdminToken(paths.adminToken)
 */
export async function readAdminToken(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    throw nodeError('configMissing', `no admin token at ${file}; create one with: bitcdn node init`, { file }, err)
  }
}

/**
 * @example
 * const admin = createAdminClient(config, token)
 * const status = await admin.request('GET', '/status')
 */
export function createAdminClient(config: Pick<NodeConfig, 'admin'>, token: string): AdminClient {
  // a wildcard listen address is reached on loopback
  const host = config.admin.host === '0.0.0.0' ? '127.0.0.1' : config.admin.host === '::' ? '::1' : config.admin.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}`
  return {
    url,
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      let res: Response
      try {
        res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(120_000),
        })
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code
        if (code === 'ECONNREFUSED' || code === 'ECONNRESET') throw nodeError('notRunning', `the node is not running (nothing answers at ${url})`, { url }, err)
        throw err
      }
      const text = await res.text()
      const json = text === '' ? undefined : (JSON.parse(text) as unknown)
      if (!res.ok) {
        const e = (json ?? {}) as { code?: string; message?: string }
        throw new BitcdnError(e.code ?? 'BITCDN_ERR_ADMIN_BAD_REQUEST', e.message ?? `admin API answered ${res.status}`, { details: { status: res.status } })
      }
      return json as T
    },
  }
}
