// A throwaway PostgreSQL cluster, for the hub's store tests (test/hub) and the hub benchmark alike:
// Debian's `postgresql` binaries, a fresh cluster in a temp dir (trust auth, loopback only, fsync
// off: it exercises the hub, not the disk), on a free port; stopped and removed afterwards. As root
// (CI) the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.
// Plain JS so the bench suites can load it; postgres.d.ts types it for the tests.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './process.js'

/** Directory of initdb/pg_ctl (the newest installed version), or undefined when PostgreSQL is not installed. */
export function postgresBin() {
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return undefined
  for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin')
  return undefined
}

export async function startPostgres() {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'bitcdn-pg-'))
  chmodSync(dir, 0o700)
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()))
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
    async stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
