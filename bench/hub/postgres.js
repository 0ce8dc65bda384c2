// A throwaway PostgreSQL cluster for the hub benchmark (the JS twin of test/hub/postgres.ts, which
// the tests use: bench suites are plain JS). Debian's binaries, a temp dir, trust auth, loopback,
// fsync off (as in the tests: it measures the hub, not the disk); as root it runs as `postgres`.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function postgresBin() {
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return undefined
  for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin')
  return undefined
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

export async function startPostgres() {
  const bin = postgresBin()
  if (!bin) throw new Error('bench hub needs PostgreSQL (apt-get install postgresql)')
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'bitcdn-bench-pg-'))
  chmodSync(dir, 0o700)
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()))
  const run = (cmd, args) => {
    const [c, a] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
    const r = spawnSync(c, a, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`)
  }
  const data = join(dir, 'data')
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
    stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
