/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a fresh cluster in a temp
 * dir (trust auth, loopback only, fsync off), on a free port; stopped and removed afterwards. As
 * root (CI), the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestPostgres {
  url(db?: string): string
  createDatabase(name: string): Promise<string>
  stop(): Promise<void>
}

/** Directory of initdb/pg_ctl, or undefined when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return undefined
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a))
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin')
  return undefined
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'bitcdn-pg-'))
  chmodSync(dir, 0o700)
  const data = join(dir, 'data')
  const asPg = (cmd: string, args: string[]) => (root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]]
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(dir, uid, gid)
  }
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asPg(cmd, args)
    const r = spawnSync(c, a, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`)
  }
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'bitcdn', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`, 'start'])
  const url = (db = 'postgres') => `postgres://bitcdn@127.0.0.1:${port}/${db}`
  return {
    url,
    async createDatabase(name) {
      const { default: pg } = await import('pg')
      const c = new pg.Client({ connectionString: url() })
      await c.connect()
      await c.query(`CREATE DATABASE ${name}`)
      await c.end()
      return url(name)
    },
    async stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
