/**
 * Web seeds inside a real swarm client (the fault tests): a torrent with no seeder at all
 * completes from its web seed, and bytes from web seeds are counted apart from bytes from peers.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createMemoryStore, createTorrent, type Metainfo } from '@bitcdn/content'
import { afterEach, describe, expect, it } from 'vitest'
import { createTrackerServer } from '../../packages/swarm/src/tracker/index.js'
import { addr, harness, testData } from './swarm-helpers.js'
import { startStaticServer, writeFixture } from './webseed-fixtures.js'

const PIECE = 32 * 1024

describe('web seeds in a swarm', () => {
  const h = harness()
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    await h.cleanup()
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('a swarm with no seeder at all completes from the web seed (tracker, no peers)', async () => {
    const a = testData(10 * PIECE + 123, 'a')
    const b = testData(5 * PIECE + 7, 'b')
    const fx = await writeFixture([
      { path: 'site/a.bin', data: a },
      { path: 'site/b.bin', data: b },
    ])
    cleanups.push(fx.cleanup)
    const origin = await startStaticServer(fx.root)
    cleanups.push(() => origin.close())
    const tracker = createTrackerServer()
    await tracker.start()
    cleanups.push(() => tracker.stop())

    const meta = await createTorrent(
      [
        { path: 'a.bin', data: a },
        { path: 'b.bin', data: b },
      ],
      { name: 'site', pieceLength: PIECE, urlList: [origin.url], announce: [tracker.httpUrl as string] },
    )
    const client = await h.client()
    const dir = await h.tempDir()
    const t = await client.add(meta, { dir })
    await t.whenDone()

    expect((await readFile(join(dir, 'site', 'a.bin'))).equals(a)).toBe(true)
    expect((await readFile(join(dir, 'site', 'b.bin'))).equals(b)).toBe(true)
    const s = t.stats()
    expect(s.done).toBe(true)
    expect(s.downloadedFromPeers).toBe(0)
    expect(s.downloadedFromWebSeeds).toBe(meta.length)
    // the origin was asked for a few large ranges, not one request per block
    expect(origin.requests.length).toBeLessThan(meta.pieceCount)
  })

  it('bytes from web seeds are counted separately from bytes from peers', async () => {
    // the peer has only a.bin, the web seed only b.bin: each source must supply its half
    const a = testData(8 * PIECE, 'a2')
    const b = testData(6 * PIECE + 99, 'b2')
    const fx = await writeFixture([{ path: 'site/b.bin', data: b }])
    cleanups.push(fx.cleanup)
    const origin = await startStaticServer(fx.root)
    cleanups.push(() => origin.close())
    const meta: Metainfo = await createTorrent(
      [
        { path: 'a.bin', data: a },
        { path: 'b.bin', data: b },
      ],
      { name: 'site', pieceLength: PIECE },
    )
    const partial = createMemoryStore(meta)
    for (let i = 0; i < 8; i++) await partial.put(i, a.subarray(i * PIECE, (i + 1) * PIECE))
    const seeder = await h.client()
    await seeder.add(meta, { store: partial, resume: false })

    const leecher = await h.client()
    const t = await leecher.add(meta, { store: createMemoryStore(meta), peers: [addr(seeder)], webSeeds: [origin.url], resume: false })
    await t.whenDone()
    const s = t.stats()
    expect(s.downloadedFromPeers).toBeGreaterThanOrEqual(a.length)
    expect(s.downloadedFromWebSeeds).toBeGreaterThanOrEqual(b.length)
    expect(s.downloadedFromPeers + s.downloadedFromWebSeeds).toBe(s.downloaded)
  })
})
