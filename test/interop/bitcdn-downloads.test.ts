// Must-show: BitCDN downloads from libtorrent and verifies every byte: a multi-file torrent made
// by mktorrent (by .torrent file), and a single file by magnet link alone (metadata over
// ut_metadata, BEP 9).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startLibtorrent } from './helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from './helpers/data.js'
import { runProcess, stopAll } from './helpers/processes.js'

const MiB = 1024 * 1024
let dir: string

beforeAll(() => {
  requireTools(['cli', 'libtorrent', 'mktorrent'])
  dir = tempDir('interop-downloads-')
  writeRandomFiles(join(dir, 'src'), {
    'docs/manual.pdf': 2 * MiB + 999,
    'docs/notes/readme.txt': 4321,
    'docs/notes/zero.bin': 16 * 1024,
    'iso.img': 3 * MiB + 3,
  })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('libtorrent seeds, BitCDN downloads', () => {
  it('a multi-file torrent made by mktorrent, from its .torrent file', async () => {
    const torrent = join(dir, 'docs.torrent')
    expect((await runProcess('mktorrent', ['-l', '16', '-o', torrent, join(dir, 'src', 'docs')])).code).toBe(0)
    const lt = await startLibtorrent('seed', { torrent, dir: join(dir, 'src') })
    await lt.proc.waitFor(/"state": "seeding"/)
    const r = await runCli(['get', torrent, '-o', join(dir, 'dl'), '--peer', `127.0.0.1:${lt.port}`])
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl', 'docs'))).toEqual(sha256Tree(join(dir, 'src', 'docs')))
    await lt.proc.stop()
  })

  it('a single file by magnet link, metadata fetched from libtorrent', async () => {
    const torrent = join(dir, 'iso.torrent')
    expect((await runProcess('mktorrent', ['-l', '18', '-o', torrent, join(dir, 'src', 'iso.img')])).code).toBe(0)
    const lt = await startLibtorrent('seed', { torrent, dir: join(dir, 'src') })
    await lt.proc.waitFor(/"state": "seeding"/)
    const infoHash = lt.proc.stdout().match(/"infoHash": "([0-9a-f]{40})"/)![1]
    const r = await runCli(['get', `magnet:?xt=urn:btih:${infoHash}`, '-o', join(dir, 'dl-magnet'), '--peer', `127.0.0.1:${lt.port}`])
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl-magnet', 'iso.img'))).toEqual(sha256Tree(join(dir, 'src', 'iso.img')))
    await lt.proc.stop()
  })
})
