/**
 * Limits a client promises: connections per torrent and in total (extra incoming ones are
 * refused), upload and download rates (measured over a window with generous bounds, never a
 * precise timing), and a peer whose bitfield lies does not stall a download.
 */
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import Wire from 'bittorrent-protocol'
import type { Metainfo } from '@bitcdn/content'
import type { SwarmClient, Torrent } from '@bitcdn/swarm'
import { addr, filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'

const h = harness()
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) s.close()
  await h.cleanup()
})

const MiB = 1024 * 1024
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Resolves once `cond` holds, checked every 50 ms. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(50)
}

/** Connected peers of every torrent of a client. */
const totalPeers = (c: SwarmClient) => c.torrents.reduce((n, t) => n + t.stats().peers, 0)

/** Leechers that each dial `target` for `m`; resolves once every one has connected or been refused. */
async function leechers(n: number, m: Metainfo, target: SwarmClient): Promise<Torrent[]> {
  const out: Torrent[] = []
  for (let i = 0; i < n; i++) {
    const c = await h.client()
    const t = await c.add(m, { peers: [addr(target)] })
    out.push(t)
  }
  return out
}

describe('swarm limits', () => {
  it('refuses incoming connections beyond the per-torrent limit', async () => {
    const data = testData(2 * MiB)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const seeder = await h.client({ maxConnectionsPerTorrent: 2, uploadRateLimit: 64 * 1024 })
    const s = await seeder.add(m, { store: await filledStore(m, data) })
    const ts = await leechers(4, m, seeder)
    await until(() => s.stats().peers === 2)
    let most = 0
    for (let i = 0; i < 10; i++, await sleep(50)) most = Math.max(most, s.stats().peers)
    expect(most).toBe(2)
    expect(ts.filter((t) => t.stats().peers > 0 && t.peerAddresses().includes(addr(seeder))).length).toBeLessThanOrEqual(2)
  })

  it('refuses incoming connections beyond the client-wide limit across torrents', async () => {
    const one = testData(2 * MiB, 'one')
    const two = testData(2 * MiB, 'two')
    const m1 = await makeTorrent(one, { name: 'one.bin', pieceLength: 64 * 1024 })
    const m2 = await makeTorrent(two, { name: 'two.bin', pieceLength: 64 * 1024 })
    const seeder = await h.client({ maxConnections: 3, uploadRateLimit: 64 * 1024 })
    await seeder.add(m1, { store: await filledStore(m1, one) })
    await seeder.add(m2, { store: await filledStore(m2, two) })
    await leechers(2, m1, seeder)
    await leechers(2, m2, seeder)
    await until(() => totalPeers(seeder) === 3)
    let most = 0
    for (let i = 0; i < 10; i++, await sleep(50)) most = Math.max(most, totalPeers(seeder))
    expect(most).toBe(3)
  })

  it('holds an upload limit of 1 MiB/s to under twice that over a window', async () => {
    const data = testData(8 * MiB)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const seeder = await h.client({ uploadRateLimit: MiB })
    const s = await seeder.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client()
    const t = await leecher.add(m, { peers: [addr(seeder)] })
    await until(() => t.stats().downloaded > 0)
    const before = s.stats().uploaded
    const started = Date.now()
    await sleep(2000)
    const seconds = (Date.now() - started) / 1000
    const rate = (s.stats().uploaded - before) / seconds
    expect(rate).toBeGreaterThan(0)
    expect(rate).toBeLessThan(2 * MiB)
    expect(t.done).toBe(false)
  })

  it('holds a download limit of 1 MiB/s to under twice that over a window', async () => {
    const data = testData(8 * MiB)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client({ downloadRateLimit: MiB })
    const t = await leecher.add(m, { peers: [addr(seeder)] })
    await until(() => t.stats().downloaded > 0)
    const before = t.stats().downloaded
    const started = Date.now()
    await sleep(2000)
    const seconds = (Date.now() - started) / 1000
    const rate = (t.stats().downloaded - before) / seconds
    expect(rate).toBeGreaterThan(0)
    expect(rate).toBeLessThan(2 * MiB)
    expect(t.done).toBe(false)
  })

  it('completes beside a peer whose bitfield claims every piece but which never delivers', async () => {
    const data = testData(1 * MiB)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const liar = createServer((socket) => {
      socket.on('error', () => {})
      const wire = new Wire()
      socket.pipe(wire).pipe(socket)
      wire.on('error', () => {})
      wire.on('handshake', () => {
        wire.handshake(m.infoHash, Buffer.from('-XX0001-' + 'l'.repeat(12)), { dht: false, fast: false })
        wire.bitfield(new Uint8Array(Math.ceil(m.pieceCount / 8)).fill(0xff))
        wire.unchoke() // and then answers nothing
      })
    })
    servers.push(liar)
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()))
    const a = liar.address()
    const liarAddr = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
    const good = await h.client({ uploadRateLimit: 512 * 1024 })
    await good.add(m, { store: await filledStore(m, data) })
    const leecher = await h.client({ snubTimeoutMs: 1000, requestTimeoutMs: 1000 })
    const t = await leecher.add(m, { peers: [liarAddr, addr(good)] })
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
  })
})
