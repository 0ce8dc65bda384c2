// Must-show: a torrent of very many tiny files (the case: 100,000 files, ~173 KiB in all)
// moves between BitCDN and libtorrent both ways and BitCDN -> BitCDN, every byte checked. Before,
// per-file costs (a thread-pool round trip per open/read/close, one at a time, and an fdatasync per
// evicted handle) made a piece that spans thousands of files take longer than libtorrent's request
// timeout: libtorrent never finished downloading from BitCDN and BitCDN -> BitCDN stalled.
//
// The file count defaults to 20,000 so the suite stays near a minute per transfer on a loaded
// machine; BITCDN_MANY_FILES=100000 runs the full size (the README states its timings).
import { mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrentWithLibtorrent, requireTools, runCli, startCliSeeder, startLibtorrent } from './helpers/clients.js'
import { removeDir, sha256Tree, tempDir } from './helpers/data.js'
import { stopAll } from './helpers/processes.js'

const FILES = Number(process.env.BITCDN_MANY_FILES ?? 20_000)
const PER_DIR = 1000
const TIMEOUT_S = Math.max(120, Math.ceil(FILES / 500))
let dir: string
let torrent: string
let expected: Record<string, string>

beforeAll(async () => {
  requireTools(['cli', 'libtorrent'])
  dir = tempDir('interop-many-')
  const root = join(dir, 'src', 'many')
  // 1 or 2 bytes each (1.77 on average, as in the torrent), 1,000 per directory
  for (let i = 0; i < FILES; i++) {
    const d = join(root, `d${Math.floor(i / PER_DIR)}`)
    if (i % PER_DIR === 0) mkdirSync(d, { recursive: true })
    writeFileSync(join(d, `f${i}.txt`), randomBytes(i % 100 < 77 ? 2 : 1))
  }
  torrent = join(dir, 'many.torrent')
  // 32 KiB pieces: each spans thousands of files. Made by libtorrent, not mktorrent, whose file
  // list is quadratic in the count (minutes at 100,000 files)
  await createTorrentWithLibtorrent(root, torrent, 32 * 1024)
  expected = sha256Tree(root)
  expect(Object.keys(expected)).toHaveLength(FILES)
}, 600_000)
afterAll(async () => {
  await stopAll()
  removeDir(dir) // tens of thousands of files: minutes on a loaded disk
}, 600_000)

describe(`a torrent of ${FILES} tiny files`, () => {
  it('BitCDN downloads it from libtorrent', async () => {
    const lt = await startLibtorrent('seed', { torrent, dir: join(dir, 'src') })
    await lt.proc.waitFor(/"state": "seeding"/, TIMEOUT_S * 1000)
    const started = Date.now()
    const r = await runCli(['get', torrent, '-o', join(dir, 'from-lt'), '--peer', `127.0.0.1:${lt.port}`], undefined, TIMEOUT_S * 1000)
    console.log(`many files: BitCDN from libtorrent, ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'from-lt', 'many'))).toEqual(expected)
    await lt.proc.stop()
  }, 4 * TIMEOUT_S * 1000)

  it('BitCDN seeds it to libtorrent and to BitCDN', async () => {
    const seeder = await startCliSeeder([torrent, '--dir', join(dir, 'src')])
    let started = Date.now()
    const lt = await startLibtorrent('get', { torrent, dir: join(dir, 'lt'), peers: [`127.0.0.1:${seeder.port}`], extra: ['--timeout', String(TIMEOUT_S)] })
    const exit = await lt.proc.exited
    console.log(`many files: libtorrent from BitCDN, ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s (libtorrent's own setup included)`)
    expect(lt.proc.stdout()).toContain('"event": "done"')
    expect(exit.code).toBe(0)
    expect(sha256Tree(join(dir, 'lt', 'many'))).toEqual(expected)

    started = Date.now()
    const r = await runCli(['get', torrent, '-o', join(dir, 'from-bitcdn'), '--peer', `127.0.0.1:${seeder.port}`], undefined, TIMEOUT_S * 1000)
    console.log(`many files: BitCDN from BitCDN, ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'from-bitcdn', 'many'))).toEqual(expected)
    await seeder.proc.stop()
  }, 6 * TIMEOUT_S * 1000)
})
