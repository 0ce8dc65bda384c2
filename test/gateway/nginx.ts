/**
 * Run nginx as a foreground child with its own prefix and the config from docs/nginx/, filled in.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'

export const NGINX = '/usr/sbin/nginx'

export { freePort } from '../../bench/lib/process.js'

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr()}`)
}

export interface Nginx {
  stop(): Promise<void>
  errorLog(): Promise<string>
}

/**
 * @example
 * const nginx = await startNginx(prefix, { GATEWAY: '127.0.0.1:8080', ... }, [port1, port2])
 */
export async function startNginx(prefix: string, vars: Record<string, string>, ports: number[]): Promise<Nginx> {
  const template = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'nginx', 'bitcdn-gateway.conf'), 'utf8')
  const all: Record<string, string> = { PREFIX: prefix, USER: process.getuid?.() === 0 ? 'user root;' : '', ...vars }
  const conf = template.replace(/\$\{([A-Z_]+)\}/g, (_m, k: string) => {
    if (all[k] === undefined) throw new Error(`no value for placeholder ${k}`)
    return all[k]!
  })
  await mkdir(prefix, { recursive: true })
  const file = join(prefix, 'nginx.conf')
  await writeFile(file, conf)
  const child = spawn(NGINX, ['-p', prefix, '-c', file, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  for (const p of ports) await waitForPort(p, child, () => err)
  return {
    errorLog: () => readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
