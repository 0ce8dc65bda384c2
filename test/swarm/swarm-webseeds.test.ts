/**
 * Web seeds inside a torrent session: they are connections like any peer, but they take the
 * pieces BitTorrent peers do not supply (D2's own web-seed tests cover the HTTP side).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '@bitcdn/content'
import { addr, filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'
import { startStaticServer, writeFixture, type StaticServer } from './webseed-fixtures.js'

const h = harness()
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await h.cleanup()
  for (const c of cleanups.splice(0)) await c()
})

async function serve(name: string, data: Buffer): Promise<StaticServer> {
  const fx = await writeFixture([{ path: name, data }])
  const server = await startStaticServer(fx.root)
  cleanups.push(() => server.close(), fx.cleanup)
  return server
}

describe('web seeds in a torrent session', () => {
  it('downloads from a web seed alone and counts its bytes apart', async () => {
    const data = testData(1024 * 1024 + 777)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const server = await serve('data.bin', data)
    const client = await h.client()
    const t = await client.add(m, { webSeeds: [`${server.origin}/`] })
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
    const s = t.stats()
    expect(s.downloadedFromWebSeeds).toBeGreaterThanOrEqual(data.length)
    expect(s.downloadedFromPeers).toBe(0)
  })

  it('takes from the web seed the pieces no peer has, and the rest from the peer', async () => {
    const data = testData(1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const server = await serve('data.bin', data)
    // a peer with only the even pieces
    const half = createMemoryStore(m)
    for (let i = 0; i < m.pieceCount; i += 2) await half.put(i, data.subarray(i * m.pieceLength, (i + 1) * m.pieceLength))
    const peer = await h.client()
    await peer.add(m, { store: half })
    const client = await h.client()
    const t = await client.add(m, { peers: [addr(peer)] })
    // let the peer handshake first, so the web seed sees who has what
    await new Promise<void>((resolve) => t.once('piece', () => resolve()))
    t.addWebSeed(`${server.origin}/`)
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
    const s = t.stats()
    expect(s.downloadedFromWebSeeds).toBeGreaterThanOrEqual((m.pieceCount / 2) * m.pieceLength)
    expect(s.downloadedFromPeers).toBeGreaterThan(0)
  })

  it('fetches a web seed its pieces in runs: far fewer HTTP range requests than pieces', async () => {
    const data = testData(16 * 1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 512 * 1024 })
    expect(m.pieceCount).toBe(32)
    const server = await serve('data.bin', data)
    const client = await h.client()
    const t = await client.add(m, { webSeeds: [`${server.origin}/`] })
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
    // rarest-first's random order made about one range per piece; runs of adjacent pieces coalesce
    expect(server.requests.length).toBeLessThan(m.pieceCount / 3)
  })

  it('refetches a piece a web seed corrupted without banning its origin, and completes from a peer', async () => {
    const data = testData(1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const corrupt = Buffer.from(data)
    for (let o = 5 * 64 * 1024; o < 6 * 64 * 1024; o += 4096) corrupt[o] = corrupt[o]! ^ 0xff
    const server = await serve('data.bin', corrupt)
    const client = await h.client()
    const t = await client.add(m, { webSeeds: [`${server.origin}/`] })
    const warnings: { code?: string }[] = []
    t.on('warning', (w) => warnings.push(w))
    await new Promise<void>((resolve) => t.on('warning', (w) => w.code === 'BITCDN_ERR_PIECE_HASH_FAILED' && resolve()))
    // the origin stays connected (it may be the only source of other pieces)
    expect(t.stats().webSeeds).toBe(1)
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    t.addPeer(addr(seeder))
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
    const s = t.stats()
    expect(s.hashFailures).toBeGreaterThanOrEqual(1)
    expect(s.bannedPeers).toBe(0)
    expect(warnings.map((w) => w.code)).not.toContain('BITCDN_ERR_PEER_BANNED')
    expect(s.downloadedFromWebSeeds).toBeGreaterThan(0)
  })
})
