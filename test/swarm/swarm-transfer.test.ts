import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore, createTorrent, parseMagnet } from '@bitcdn/content'
import { addr, filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'

const h = harness()
afterEach(() => h.cleanup())

describe('swarm transfer between BitCDN clients', () => {
  it('downloads a single-file torrent from one seeder into files on disk', async () => {
    const data = testData(3 * 1024 * 1024 + 12345)
    const m = await makeTorrent(data)
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client()
    const dir = await h.tempDir()
    const t = await leecher.add(m, { dir, peers: [addr(seeder)] })
    await t.whenDone()
    expect((await readFile(join(dir, m.files[0]!.path))).equals(data)).toBe(true)
    const s = t.stats()
    expect(s.progress).toBe(1)
    expect(s.downloadedFromPeers).toBeGreaterThanOrEqual(data.length)
    expect(s.downloadedFromWebSeeds).toBe(0)
    expect(s.hashFailures).toBe(0)
    expect(seeder.torrents[0]!.stats().uploaded).toBeGreaterThanOrEqual(data.length)
  })

  it('downloads a multi-file torrent and streams a file range while downloading', async () => {
    const files = [
      { path: 'a.txt', data: testData(100_000, 'a') },
      { path: 'sub/b.bin', data: testData(1_500_000, 'b') },
      { path: 'c.bin', data: testData(700_001, 'c') },
    ]
    const m = await createTorrent(files, { name: 'multi', pieceLength: 32 * 1024 })
    const all = Buffer.concat(files.map((f) => f.data))
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, all) })
    const leecher = await h.client()
    const store = createMemoryStore(m)
    const t = await leecher.add(m, { store, peers: [addr(seeder)] })
    const chunks: Buffer[] = []
    for await (const chunk of t.createReadStream('sub/b.bin', { start: 1000, end: 400_000 })) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).equals(files[1]!.data.subarray(1000, 400_001))).toBe(true)
    await t.whenDone()
    expect((await readAll(store, m)).equals(all)).toBe(true)
  })

  it('serves a stream of the last bytes first: its pieces jump the queue', async () => {
    const data = testData(2 * 1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const seeder = await h.client({ uploadRateLimit: 512 * 1024 })
    await seeder.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client()
    const t = await leecher.add(m, { peers: [addr(seeder)] })
    const start = data.length - 100_000
    const chunks: Buffer[] = []
    for await (const chunk of t.createReadStream(0, { start })) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).equals(data.subarray(start))).toBe(true)
    // rarest-first alone would have fetched the tail last; the stream got it with most still missing
    expect(t.done).toBe(false)
    expect(t.stats().verifiedPieces).toBeLessThan(m.pieceCount / 2)
  })

  it('fetches the metadata of a magnet link over ut_metadata, then the data', async () => {
    const data = testData(600_000)
    const m = await makeTorrent(data, { pieceLength: 16 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client()
    const t = await leecher.add(parseMagnet(m.magnetURI), { peers: [addr(seeder)] })
    expect(t.metainfo).toBeUndefined()
    const meta = await t.ready()
    expect(meta.infoHash).toBe(m.infoHash)
    expect(meta.pieceCount).toBe(m.pieceCount)
    await t.whenDone()
    expect((await readAll(t.store!, meta)).equals(data)).toBe(true)
  })

  it('teaches a third peer about another over PEX', async () => {
    const data = testData(1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 16 * 1024 })
    // A is slow, so B is still downloading (and still connected to A) when C arrives
    const a = await h.client({ uploadRateLimit: 256 * 1024 })
    await a.add(m, { store: await filledStore(m, data) })
    const b = await h.client()
    const tb = await b.add(m, { peers: [addr(a)] })
    await new Promise<void>((resolve) => tb.once('piece', () => resolve()))
    // C only knows B; B tells C about A over PEX
    const c = await h.client()
    const seen = new Set<string>()
    const tc = await c.add(m, { peers: [addr(b)] })
    // either C dials A, or A (told about C by B) dials C: both are PEX at work
    tc.on('piece', () => tc.peerAddresses().forEach((p) => seen.add(p)))
    await tc.whenDone()
    expect([...seen]).toContain(addr(a))
    expect((await readAll(tc.store!, m)).equals(data)).toBe(true)
  })
})

async function vi_waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('plugin seams for paid delivery', () => {
  it('lets a plugin add wire extensions and veto upload requests', async () => {
    const { createSwarmClient } = await import('@bitcdn/swarm')
    const data = testData(256 * 1024)
    const m = await makeTorrent(data, { pieceLength: 16 * 1024 })
    let extended = 0
    const seeder = createSwarmClient({}, { extendWire: () => extended++, uploadGate: (_c, ref) => ref.index !== 3 })
    await seeder.start()
    try {
      await seeder.add(m, { store: await filledStore(m, data) })
      const leecher = await h.client()
      const t = await leecher.add(m, { peers: [addr(seeder)] })
      await new Promise<void>((resolve) => t.on('piece', () => t.stats().verifiedPieces === m.pieceCount - 1 && resolve()))
      await new Promise((r) => setTimeout(r, 300))
      expect(t.done).toBe(false) // piece 3 was refused, and not asked for in a loop
      expect(extended).toBe(1)
    } finally {
      await seeder.stop()
    }
  })
})
