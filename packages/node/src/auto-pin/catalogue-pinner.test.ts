import http from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createCataloguePinner } from './catalogue-pinner.js'

const TRUSTED = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const OTHER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
let dir: string
let server: http.Server
let base: string
let good: Metainfo
let decoy: Metainfo
let entries: unknown[]
const torrentHits = new Map<string, number>()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auto-pin-'))
  await writeFile(join(dir, 'good.bin'), Buffer.alloc(100_000, 1))
  await writeFile(join(dir, 'decoy.bin'), Buffer.alloc(90_000, 2))
  good = await createTorrent(join(dir, 'good.bin'))
  decoy = await createTorrent(join(dir, 'decoy.bin'))
  server = http.createServer((req, res) => {
    const url = req.url ?? ''
    if (url.startsWith('/api/v1/catalogue')) return void res.end(JSON.stringify({ entries }))
    torrentHits.set(url, (torrentHits.get(url) ?? 0) + 1)
    if (url === '/torrents/good') return void res.end(good.torrentFile)
    if (url === '/torrents/decoy') return void res.end(decoy.torrentFile)
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  server.close()
  await rm(dir, { recursive: true, force: true })
})

const entry = (infoHash: string, publisher: string, length: number, xs: string) => ({ infoHash, publisher, length: String(length), magnet: `magnet:?xt=urn:btih:${infoHash}&xs=${encodeURIComponent(`${base}${xs}`)}` })

describe('catalogue auto-pin', () => {
  it('pins a trusted publisher’s entry; refuses other publishers, oversized entries and a .torrent for another info-hash (hostile hub)', async () => {
    const fake = 'ab'.repeat(20)
    entries = [
      entry(good.infoHash, TRUSTED, good.length, '/torrents/good'),
      entry('cd'.repeat(20), OTHER, 1000, '/torrents/other'),
      entry('ef'.repeat(20), TRUSTED, 10 * 2 ** 30, '/torrents/huge'),
      entry(fake, TRUSTED, decoy.length, '/torrents/decoy'),
      null,
      { infoHash: 'not hex', magnet: 1 },
    ]
    const pins: Buffer[] = []
    const counts: Record<string, number> = {}
    const stateFile = join(dir, 'auto-pin.json')
    const pinner = createCataloguePinner({ hubs: [base], publishers: [TRUSTED], quotaBytes: 1 * 2 ** 20, maxObjectBytes: 2 ** 20, intervalMs: 60_000, stateFile })({
      node: {
        pin: async (req) => {
          pins.push((req.source as { torrent: Buffer }).torrent)
          return {} as never
        },
        status: () => ({ torrents: pins.map(() => ({ infoHash: good.infoHash })) }) as never,
      },
      count: (o) => (counts[o] = (counts[o] ?? 0) + 1),
    })
    await pinner.poll()
    expect(pins.map((p) => p.equals(good.torrentFile))).toEqual([true])
    expect(counts).toEqual({ pinned: 1, skipped: 2, failed: 1 })
    // nothing fetched for the untrusted or oversized entries
    expect([...torrentHits.keys()].sort()).toEqual(['/torrents/decoy', '/torrents/good'])
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({ [good.infoHash]: good.length })
    // a second poll tries nothing again
    await pinner.poll()
    expect(pins).toHaveLength(1)
    expect(torrentHits.get('/torrents/decoy')).toBe(1)
  })

  it('stops at its quota: an entry that would exceed what auto-pinned content may take is skipped', async () => {
    entries = [entry(good.infoHash, TRUSTED, good.length, '/torrents/good')]
    const pins: unknown[] = []
    const pinner = createCataloguePinner({ hubs: [base], publishers: [], quotaBytes: good.length - 1, maxObjectBytes: 2 ** 30, intervalMs: 60_000, stateFile: join(dir, 'q.json') })({
      node: { pin: async (r) => (pins.push(r), {} as never), status: () => ({ torrents: [] }) as never },
    })
    await pinner.poll()
    expect(pins).toHaveLength(0)
  })
})
