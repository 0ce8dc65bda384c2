// Must-show: other clients download from BitCDN and verify every byte. BitCDN seeds a torrent it
// made (multi-file) to libtorrent, a torrent it made to aria2c through a BitCDN tracker, and a
// torrent made by mktorrent (multi-file) to aria2c.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aria2Args, requireTools, runCli, startCli, startCliSeeder, startLibtorrent } from './helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from './helpers/data.js'
import { runProcess, stopAll } from './helpers/processes.js'

const MiB = 1024 * 1024
let dir: string

beforeAll(() => {
  requireTools(['cli', 'libtorrent', 'aria2c', 'mktorrent'])
  dir = tempDir('interop-seeds-')
  writeRandomFiles(join(dir, 'src'), {
    'album/01.flac': 2 * MiB + 1234,
    'album/02.flac': 1 * MiB,
    'album/art/cover.jpg': 70_001,
    'movie.bin': 3 * MiB - 5,
  })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('BitCDN seeds, others download', () => {
  it('libtorrent downloads a multi-file torrent made and seeded by BitCDN', async () => {
    const torrent = join(dir, 'album.torrent')
    expect((await runCli(['create', join(dir, 'src', 'album'), '--piece-length', '32KiB', '-o', torrent])).code).toBe(0)
    const seeder = await startCliSeeder([torrent, '--dir', join(dir, 'src')])
    const lt = await startLibtorrent('get', { torrent, dir: join(dir, 'lt'), peers: [`127.0.0.1:${seeder.port}`], extra: ['--timeout', '90'] })
    const exit = await lt.proc.exited
    expect(lt.proc.stdout()).toContain('"event": "done"')
    expect(exit.code).toBe(0)
    expect(sha256Tree(join(dir, 'lt', 'album'))).toEqual(sha256Tree(join(dir, 'src', 'album')))
    await seeder.proc.stop()
  })

  // the two aria2c downloads have their own tracker, torrent (movie.bin, the album), seeder and
  // output directory: they run side by side
  it.concurrent('aria2c downloads from BitCDN, finding it through a BitCDN tracker, and checks integrity', async ({ expect }) => {
    const tracker = startCli(['tracker', '--port', '0', '--no-udp'])
    const announce = (await tracker.waitFor(/^announce\s+(http:\/\/\S+)$/m))[1]!
    const torrent = join(dir, 'movie.torrent')
    expect((await runCli(['create', join(dir, 'src', 'movie.bin'), '--tracker', announce, '-o', torrent])).code).toBe(0)
    const seeder = await startCliSeeder([torrent, '--dir', join(dir, 'src')])
    const r = await runProcess('aria2c', [...aria2Args(join(dir, 'aria2-movie')), torrent], { timeoutMs: 90_000 })
    expect(r.stdout).toMatch(/\|OK\s+\|/)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'aria2-movie', 'movie.bin'))).toEqual(sha256Tree(join(dir, 'src', 'movie.bin')))
    await seeder.proc.stop()
    await tracker.stop()
  })

  it.concurrent('aria2c downloads a multi-file torrent made by mktorrent and seeded by BitCDN', async ({ expect }) => {
    const tracker = startCli(['tracker', '--port', '0', '--no-udp'])
    const announce = (await tracker.waitFor(/^announce\s+(http:\/\/\S+)$/m))[1]!
    const torrent = join(dir, 'mk-album.torrent')
    const mk = await runProcess('mktorrent', ['-l', '15', '-a', announce, '-o', torrent, join(dir, 'src', 'album')])
    expect(mk.code).toBe(0)
    const seeder = await startCliSeeder([torrent, '--dir', join(dir, 'src')])
    const r = await runProcess('aria2c', [...aria2Args(join(dir, 'aria2-album')), torrent], { timeoutMs: 90_000 })
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'aria2-album', 'album'))).toEqual(sha256Tree(join(dir, 'src', 'album')))
    await seeder.proc.stop()
    await tracker.stop()
  })
})
