import http from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { catalogueFieldsSchema, catalogueText } from '@bitcdn/pay/signed-messages'
import { createCataloguePinner } from './catalogue-pinner.js'

// anvil's well-known test keys 1 and 2
const trustedKey = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const otherKey = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')
const TRUSTED = trustedKey.address
const OTHER = otherKey.address
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

/** A catalogue entry as a hub lists it, signed by `signer` (the publisher's key unless forged). */
async function entry(infoHash: string, publisher: string, length: number, xs: string, signer = publisher === OTHER ? otherKey : trustedKey) {
  const fields = catalogueFieldsSchema.parse({ infoHash, publisher, name: 'x', length: String(length), magnet: `magnet:?xt=urn:btih:${infoHash}&xs=${encodeURIComponent(xs.startsWith('/') ? `${base}${xs}` : xs)}`, hub: 'test', timestamp: 1_700_000_000_000 })
  return { ...fields, signature: await signer.signMessage({ message: catalogueText(fields) }), receivedAt: 1 }
}
const pinnerOf = (over: { publishers?: string[]; quotaBytes?: number; allowPrivateSources?: boolean; stateFile: string }, pins: unknown[], counts: Record<string, number> = {}) =>
  createCataloguePinner({ hubs: [base], publishers: [TRUSTED], quotaBytes: 2 ** 20, maxObjectBytes: 2 ** 20, intervalMs: 60_000, allowPrivateSources: true, ...over })({
    node: { pin: async (r) => (pins.push(r), {} as never), status: () => ({ torrents: [] }) as never },
    count: (o) => (counts[o] = (counts[o] ?? 0) + 1),
  })

describe('catalogue auto-pin', () => {
  it('pins a trusted publisher’s entry; refuses other publishers, oversized entries and a .torrent for another info-hash (hostile hub)', async () => {
    const fake = 'ab'.repeat(20)
    entries = [
      await entry(good.infoHash, TRUSTED, good.length, '/torrents/good'),
      await entry('cd'.repeat(20), OTHER, 1000, '/torrents/other'),
      await entry('ef'.repeat(20), TRUSTED, 10 * 2 ** 30, '/torrents/huge'),
      await entry(fake, TRUSTED, decoy.length, '/torrents/decoy'),
      null,
      { infoHash: 'not hex', magnet: 1 },
    ]
    const pins: Buffer[] = []
    const counts: Record<string, number> = {}
    const stateFile = join(dir, 'auto-pin.json')
    // the test's hub and .torrent server are on loopback: allowed here, refused by default (below)
    const pinner = createCataloguePinner({ hubs: [base], publishers: [TRUSTED], quotaBytes: 1 * 2 ** 20, maxObjectBytes: 2 ** 20, intervalMs: 60_000, allowPrivateSources: true, stateFile })({
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
    entries = [await entry(good.infoHash, TRUSTED, good.length, '/torrents/good')]
    const pins: unknown[] = []
    await pinnerOf({ quotaBytes: good.length - 1, stateFile: join(dir, 'q.json') }, pins).poll()
    expect(pins).toHaveLength(0)
  })

  it('forged catalogue entry: a hub listing an entry for a trusted publisher signed by another key gets nothing fetched or pinned', async () => {
    torrentHits.clear()
    entries = [await entry(good.infoHash, TRUSTED, good.length, '/torrents/good', otherKey)]
    const pins: unknown[] = []
    const counts: Record<string, number> = {}
    await pinnerOf({ stateFile: join(dir, 'forged.json') }, pins, counts).poll()
    expect(pins).toHaveLength(0)
    expect(counts).toEqual({ failed: 1 })
    expect(torrentHits.size).toBe(0)
  })

  it('forged catalogue entry: changing a signed entry’s xs URL breaks its signature', async () => {
    torrentHits.clear()
    const signed = await entry(good.infoHash, TRUSTED, good.length, '/torrents/decoy')
    entries = [{ ...signed, magnet: signed.magnet.replace('decoy', 'good') }]
    const pins: unknown[] = []
    await pinnerOf({ stateFile: join(dir, 'tampered.json') }, pins).poll()
    expect(pins).toHaveLength(0)
    expect(torrentHits.size).toBe(0)
  })

  it('SSRF through a catalogue entry: an xs URL at a loopback, private or metadata address is not fetched by default', async () => {
    torrentHits.clear()
    entries = [
      await entry(good.infoHash, TRUSTED, good.length, '/torrents/good'),
      await entry('01'.repeat(20), TRUSTED, 1000, 'http://169.254.169.254/latest/meta-data'),
      await entry('02'.repeat(20), TRUSTED, 1000, 'http://10.0.0.1/x.torrent'),
      await entry('03'.repeat(20), TRUSTED, 1000, 'http://[::1]:1/x.torrent'),
      await entry('04'.repeat(20), TRUSTED, 1000, 'http://localhost:1/x.torrent'),
    ]
    const pins: unknown[] = []
    const counts: Record<string, number> = {}
    await pinnerOf({ allowPrivateSources: false, stateFile: join(dir, 'ssrf.json') }, pins, counts).poll()
    expect(pins).toHaveLength(0)
    expect(counts).toEqual({ failed: 5 })
    // the loopback .torrent server saw no request at all
    expect(torrentHits.size).toBe(0)
  })

  it('stays off without a publisher list: an empty list is not "trust anyone"', async () => {
    torrentHits.clear()
    entries = [await entry(good.infoHash, TRUSTED, good.length, '/torrents/good')]
    const pins: unknown[] = []
    const pinner = pinnerOf({ publishers: [], stateFile: join(dir, 'none.json') }, pins)
    await pinner.start()
    await pinner.poll()
    pinner.stop()
    expect(pins).toHaveLength(0)
    expect(torrentHits.size).toBe(0)
  })
})
