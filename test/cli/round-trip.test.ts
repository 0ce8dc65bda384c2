// create → seed → get on loopback with the real CLI, by peer address and by tracker; re-running
// get into the same directory resumes instead of starting over.
import { readFileSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startCli, startCliSeeder } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
// the swarm's own web seed tests' range server (BEP 19 needs byte ranges)
import { startStaticServer } from '../swarm/webseed-fixtures.js'

const MiB = 1024 * 1024
let dir: string

beforeAll(() => {
  requireTools(['cli'])
  dir = tempDir('cli-roundtrip-')
  writeRandomFiles(join(dir, 'src'), { 'site/index.html': 12_345, 'site/media/video.bin': 3 * MiB + 17, 'site/empty-ish.txt': 1 })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('create → seed → get', () => {
  let infoHash: string
  let magnet: string
  let seederPort: number

  it('create prints the info-hash and magnet and writes the .torrent', async () => {
    const r = await runCli(['create', join(dir, 'src', 'site'), '--piece-length', '64KiB', '-o', join(dir, 'site.torrent')])
    expect(r.code).toBe(0)
    infoHash = r.stdout.match(/^info-hash\s+([0-9a-f]{40})$/m)![1]!
    magnet = r.stdout.match(/^magnet\s+(magnet:\S+)$/m)![1]!
    expect(magnet).toContain(`urn:btih:${infoHash}`)
    expect(readFileSync(join(dir, 'site.torrent')).subarray(0, 1).toString()).toBe('d')
  })

  it('get with --peer downloads every file byte for byte', async () => {
    const seeder = await startCliSeeder([join(dir, 'site.torrent'), '--dir', join(dir, 'src')])
    seederPort = seeder.port
    expect(seeder.proc.stdout()).toContain(infoHash)
    const r = await runCli(['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl'), '--peer', `127.0.0.1:${seederPort}`])
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    // the final progress line shows the download's average rate, not the meter's last (0) sample
    const last = r.stderr.trim().split('\n').filter((l) => l.startsWith('progress ')).pop()
    expect(last).toMatch(/^progress 100\.0% /)
    expect(last).not.toMatch(/ 0 B\/s/)
    expect(last).toMatch(/ [\d.]+ [KMG]?i?B\/s/)
    expect(r.stdout).toMatch(/^done site: .* verified/m)
    expect(sha256Tree(join(dir, 'dl', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  })

  it('re-running get into the same dir finds everything there and fetches nothing', async () => {
    const r = await runCli(['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl'), '--peer', `127.0.0.1:${seederPort}`])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/already complete/)
  })

  it('after a file is damaged, get fetches the missing part again and ends verified', async () => {
    truncateSync(join(dir, 'dl', 'site', 'media', 'video.bin'), MiB)
    const r = await runCli(['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl'), '--peer', `127.0.0.1:${seederPort}`])
    expect(r.code).toBe(0)
    // only what was cut off travels again: about 2 MiB of the 3 MiB file, not the whole torrent
    const fetched = Number(r.stdout.match(/\(([\d.]+) MiB fetched/)?.[1])
    expect(fetched).toBeGreaterThan(1.9)
    expect(fetched).toBeLessThan(2.5)
    expect(sha256Tree(join(dir, 'dl', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  })

  it('--download-limit caps the rate: 3 MiB at 512 KiB/s takes seconds, not milliseconds', async () => {
    const r = await runCli(['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl-limited'), '--peer', `127.0.0.1:${seederPort}`, '--download-limit', '512KiB'])
    expect(r.code).toBe(0)
    const m = /\(([\d.]+) MiB fetched in ([\d.]+) s/.exec(r.stdout)
    expect(m).not.toBeNull()
    const rate = Number(m![1]) / Number(m![2])
    // unlimited, loopback moves this in well under a second; the bucket allows a burst, so the
    // bound is twice the limit (a broken limiter is 100× over it)
    expect(rate).toBeLessThan(1)
    expect(sha256Tree(join(dir, 'dl-limited', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  }, 60_000)

  it('Ctrl-C stops a download cleanly (exit 130); the next run resumes where it stopped', async () => {
    const out = join(dir, 'dl-interrupted')
    // slow enough to catch it on the way: about 12 s for the 3 MiB
    const first = startCli(['get', join(dir, 'site.torrent'), '-o', out, '--peer', `127.0.0.1:${seederPort}`, '--download-limit', '256KiB'])
    await first.waitFor(/^progress (?!0\.0%)\d+\.\d%/m)
    first.child.kill('SIGINT')
    const exit = await first.exited
    expect(first.stderr()).toMatch(/^interrupted at \d+\.\d%; run the same command again to resume$/m)
    expect(exit.code).toBe(130)
    const second = await runCli(['get', join(dir, 'site.torrent'), '-o', out, '--peer', `127.0.0.1:${seederPort}`])
    expect(second.code).toBe(0)
    const fetchedMiB = Number(second.stdout.match(/\(([\d.]+) MiB fetched/)?.[1])
    expect(fetchedMiB).toBeLessThan(2.9)
    expect(sha256Tree(join(out, 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  })

  it('a magnet link with --peer fetches the metadata from the seeder, then the data', async () => {
    const r = await runCli(['get', magnet, '-o', join(dir, 'dl-magnet'), '--peer', `127.0.0.1:${seederPort}`])
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl-magnet', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  })
})

describe('tracker → seed → get', () => {
  it('peers find each other through `bitcdn tracker`', async () => {
    const tracker = startCli(['tracker', '--port', '0', '--no-udp'])
    const announce = (await tracker.waitFor(/^announce\s+(http:\/\/\S+)$/m))[1]!
    // seed the content path directly: the torrent is made on the fly, with the tracker in it
    const seeder = await startCliSeeder([join(dir, 'src', 'site'), '--tracker', announce, '--save-torrent', join(dir, 'tracked.torrent')])
    expect(seeder.proc.stdout()).toMatch(/^magnet\s+magnet:/m)
    const r = await runCli(['get', join(dir, 'tracked.torrent'), '-o', join(dir, 'dl-tracker')])
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl-tracker', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
    await seeder.proc.stop()
    const stopped = await tracker.stop()
    expect(stopped.code).toBe(0)
  })
})

describe('web seed → get', () => {
  it('an HTTP server given with --web-seed alone delivers every file', async () => {
    const server = await startStaticServer(join(dir, 'src'))
    try {
      const r = await runCli(['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl-webseed'), '--web-seed', server.url])
      expect(r.stderr).not.toMatch(/^bitcdn:/m)
      expect(r.code).toBe(0)
      expect(sha256Tree(join(dir, 'dl-webseed', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
      expect(server.requests.length).toBeGreaterThan(0)
    } finally {
      await server.close()
    }
  })
})
