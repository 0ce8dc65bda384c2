/**
 * The programs the interop tests drive: the built `bitcdn` CLI, the libtorrent reference peer
 * (bench/swarm/lt-client.py, python3-libtorrent, also its torrent creator), aria2c and mktorrent. `requireTools()` fails
 * loudly when one is missing, naming `.ci/run` as the installer; interop tests never skip.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { atStopAll, startProcess, type TestProcess } from './processes.js'

export const repoRoot = join(import.meta.dirname, '..', '..', '..')
export const cliBin = join(repoRoot, 'packages', 'cli', 'bin', 'bitcdn.js')
export const ltClient = join(repoRoot, 'bench', 'swarm', 'lt-client.py')
/** Debian's python3-libtorrent is importable only by the system Python. */
export const systemPython = '/usr/bin/python3'

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Throws naming every missing tool; call in beforeAll.
 * @example beforeAll(() => requireTools(['cli', 'libtorrent']))
 */
export function requireTools(tools: Array<'cli' | 'libtorrent' | 'aria2c' | 'mktorrent'>): void {
  const missing: string[] = []
  for (const t of tools) {
    if (t === 'cli' && !existsSync(join(repoRoot, 'packages', 'cli', 'dist', 'main.js'))) missing.push('the built CLI (run `npm run build` or `npx tsc -b packages/cli`)')
    if (t === 'libtorrent' && !has(systemPython, ['-c', 'import libtorrent'])) missing.push('python3-libtorrent for /usr/bin/python3 (.ci/run installs it: apt-get install python3-libtorrent)')
    if (t === 'aria2c' && !has('aria2c', ['--version'])) missing.push('aria2c (.ci/run installs it: apt-get install aria2)')
    if (t === 'mktorrent' && !has('mktorrent', ['-h'])) missing.push('mktorrent (.ci/run installs it: apt-get install mktorrent)')
  }
  if (missing.length) throw new Error(`missing: ${missing.join('; ')}`)
}

// BitCDN keeps state (resume journals) under BITCDN_HOME; tests must not touch the user's ~/.bitcdn
let testHome: string | undefined
const home = (): string => (testHome ??= mkdtempSync(join(tmpdir(), 'bitcdn-test-home-')))
atStopAll(() => {
  if (testHome) rmSync(testHome, { recursive: true, force: true })
  testHome = undefined
})

/**
 * Starts `bitcdn <args>` as a real process.
 * @example const seeder = startCli(['seed', dir, '--port', '0'])
 */
export function startCli(args: string[], cwd?: string): TestProcess {
  return startProcess(process.execPath, [cliBin, ...args], { cwd, name: `bitcdn ${args[0]}`, env: { ...process.env, BITCDN_HOME: home(), FORCE_COLOR: '0' } })
}

/**
 * Runs `bitcdn <args>` to completion.
 * @example const r = await runCli(['create', dir]); expect(r.code).toBe(0)
 */
export async function runCli(args: string[], cwd?: string, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startCli(args, cwd)
  const timer = setTimeout(() => void p.stop(), timeoutMs)
  const e = await p.exited
  clearTimeout(timer)
  return { code: e.code, stdout: p.stdout(), stderr: p.stderr() }
}

/**
 * Starts a `bitcdn seed` and resolves once it accepts peers, with its port.
 * @example const { proc, port } = await startCliSeeder([torrent, '--dir', src])
 */
export async function startCliSeeder(args: string[], cwd?: string): Promise<{ proc: TestProcess; port: number }> {
  const proc = startCli(['seed', ...args, '--port', '0'], cwd)
  const m = await proc.waitFor(/^listening\s+\S+:(\d+)$/m)
  return { proc, port: Number(m[1]) }
}

/**
 * Starts the libtorrent reference peer; resolves once it listens, with its port.
 * @example const lt = await startLibtorrent('seed', { torrent, dir: src })
 */
export async function startLibtorrent(
  mode: 'get' | 'seed',
  opts: { torrent: string; dir: string; peers?: string[]; extra?: string[] },
): Promise<{ proc: TestProcess; port: number }> {
  const args = [ltClient, mode, '--torrent', opts.torrent, '--dir', opts.dir, '--interval', '2', ...(opts.extra ?? [])]
  for (const p of opts.peers ?? []) args.push('--peer', p)
  const proc = startProcess(systemPython, args, { name: `libtorrent ${mode}` })
  const m = await proc.waitFor(/"event": "listening", "port": (\d+)/)
  return { proc, port: Number(m[1]) }
}

// libtorrent's creator as a script for the system Python: argv = source path, output, piece length
const LT_CREATE = `
import os, sys
import libtorrent as lt
src, out, piece_length = sys.argv[1], sys.argv[2], int(sys.argv[3])
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, piece_size=piece_length, flags=lt.create_torrent.v1_only)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
with open(out, 'wb') as f:
    f.write(lt.bencode(ct.generate()))
`

/**
 * Makes a v1 .torrent of `path` (a file or directory) with libtorrent's own creator: an
 * implementation independent of BitCDN's, and linear in the file count where mktorrent is not
 * (it keeps its file list sorted by insertion: 20,000 files 1.4 s, 60,000 files 48 s here;
 * libtorrent 2.3 s for 60,000).
 * @example await createTorrentWithLibtorrent(root, join(dir, 'many.torrent'), 32 * 1024)
 */
export async function createTorrentWithLibtorrent(path: string, out: string, pieceLength: number): Promise<void> {
  const p = startProcess(systemPython, ['-c', LT_CREATE, path, out, String(pieceLength)], { name: 'libtorrent create' })
  const e = await p.exited
  if (e.code !== 0) throw new Error(`libtorrent could not create ${out}: ${p.stderr().trim()}`)
}

/**
 * aria2c arguments for a loopback-only download that verifies every piece and stops once done.
 * @example await runProcess('aria2c', [...aria2Args(dl), torrent])
 */
export function aria2Args(dir: string): string[] {
  return [
    `--dir=${dir}`,
    '--check-integrity=true',
    '--seed-time=0',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--file-allocation=none',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--bt-stop-timeout=60',
    '--listen-port=41000-41999',
  ]
}
