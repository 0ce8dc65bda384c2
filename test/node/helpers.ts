/**
 * Real `bitcdn node` processes for integration tests, each on its own temp BITCDN_HOME: run a
 * command, start the daemon and wait for its admin API, call the admin API with the token.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliBin } from '../interop/helpers/clients.js'
import { startProcess, type TestProcess } from '../interop/helpers/processes.js'

export const PASSPHRASE = 'node-test-passphrase'

export function env(home: string): NodeJS.ProcessEnv {
  return { ...process.env, BITCDN_HOME: home, BITCDN_PASSPHRASE: PASSPHRASE, FORCE_COLOR: '0' }
}

/** Starts `bitcdn <args>` on `home`. */
export function startBitcdn(home: string, args: string[]): TestProcess {
  return startProcess(process.execPath, [cliBin, ...args], { env: env(home), name: `bitcdn ${args.slice(0, 2).join(' ')}` })
}

/** Runs `bitcdn <args>` on `home` to completion. */
export async function runBitcdn(home: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startBitcdn(home, args)
  const timer = setTimeout(() => void p.stop(), timeoutMs)
  const e = await p.exited
  clearTimeout(timer)
  return { code: e.code, stdout: p.stdout(), stderr: p.stderr() }
}

export { freePort } from '../../bench/lib/process.js'

export interface RunningNodeProcess {
  proc: TestProcess
  /** The swarm's TCP port. */
  port: number
  adminUrl: string
}

/** `bitcdn node start`, resolved once the admin API listens. */
export async function startNodeProcess(home: string): Promise<RunningNodeProcess> {
  const proc = startBitcdn(home, ['node', 'start'])
  const m = await proc.waitFor(/"adminUrl":"([^"]+)","listen":\{"host":"[^"]+","port":(\d+)\}/, 60_000)
  return { proc, adminUrl: m[1]!, port: Number(m[2]) }
}

/** Calls the node's admin API with its token (or `token`). */
export async function admin(home: string, url: string, path: string, init: { method?: string; body?: unknown; token?: string | null } = {}): Promise<Response> {
  const token = init.token === undefined ? readFileSync(join(home, 'node', 'admin-token'), 'utf8').trim() : init.token
  return fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })
}

/** Polls `check` until true, failing after `limitMs` (a bound on a hang, not a performance assertion). */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The value of one Prometheus sample, or 0 when absent. */
export function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)))
  return line ? Number(line.split(' ').pop()) : 0
}
