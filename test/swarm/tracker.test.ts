import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { createTrackerServer, type TrackerServer } from '../../packages/swarm/src/tracker/index.js'
import { createDiscovery, type Discovery } from '../../packages/swarm/src/discovery/index.js'

const INFO_HASH = 'aa'.repeat(20)
/** Percent-encodes every byte (a tracker query carries the raw 20-byte info-hash). */
const escapeBytes = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')
const OTHER_HASH = 'bb'.repeat(20)

describe('tracker server', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function tracker(init: Parameters<typeof createTrackerServer>[0] = {}): Promise<TrackerServer> {
    const t = createTrackerServer(init)
    await t.start()
    cleanups.push(() => t.stop())
    return t
  }

  function discovery(init: Parameters<typeof createDiscovery>[0]): Discovery {
    const d = createDiscovery(init)
    cleanups.push(() => d.stop())
    return d
  }

  function nextPeer(d: Discovery): Promise<string> {
    return new Promise((resolve) => d.once('peer', resolve))
  }

  it('listens on loopback with HTTP and UDP URLs', async () => {
    const t = await tracker()
    expect(t.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/announce$/)
    expect(t.udpUrl).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/)
    expect(t.stats()).toEqual({ torrents: 0, peers: 0, seeders: 0, leechers: 0, byInfoHash: [] })
  })

  for (const proto of ['http', 'udp'] as const) {
    it(`two clients announcing over ${proto} find each other (compact peers)`, async () => {
      const t = await tracker()
      const url = (proto === 'http' ? t.httpUrl : t.udpUrl) as string
      const a = discovery({ infoHash: INFO_HASH, announce: [url], port: 40001, left: 0 })
      await a.start()
      await new Promise((r) => a.once('tracker', r))
      const b = discovery({ infoHash: INFO_HASH, announce: [url], port: 40002, left: 1000 })
      const found = nextPeer(b)
      await b.start()
      expect(await found).toBe('127.0.0.1:40001')
      const s = t.stats()
      expect(s).toMatchObject({ torrents: 1, peers: 2, seeders: 1, leechers: 1 })
      expect(s.byInfoHash).toEqual([{ infoHash: INFO_HASH, peers: 2, seeders: 1, leechers: 1 }])
    })
  }

  // transmission keeps one peer per IP address: handed its own address first, it dials itself
  // and never tries the seeder on the same host (the library returns peers in random order)
  it('an HTTP announcer never gets its own address back, only the other peers', async () => {
    const t = await tracker({ udp: false })
    const announce = async (peerId: string, port: number, left: number): Promise<Buffer> => {
      const q = `info_hash=${escapeBytes(Buffer.from(INFO_HASH, 'hex'))}&peer_id=${peerId}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50`
      const res = await fetch(`${t.httpUrl as string}?${q}`)
      return Buffer.from(await res.arrayBuffer())
    }
    const compact = (port: number): Buffer => Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff])
    await announce('-XB0100-aaaaaaaaaaaa', 40011, 0)
    for (let i = 0; i < 20; i++) {
      const body = await announce('-TR3000-bbbbbbbbbbbb', 40012, 1000)
      expect(body.includes(compact(40011))).toBe(true)
      expect(body.includes(compact(40012))).toBe(false)
    }
  })

  it('an allow-list refuses other info-hashes with a tracker failure warning', async () => {
    const t = await tracker({ allowInfoHashes: [INFO_HASH], udp: false })
    expect(t.udpUrl).toBeUndefined()
    const d = discovery({ infoHash: OTHER_HASH, announce: [t.httpUrl as string], port: 40003 })
    const warning = new Promise<{ code: string }>((resolve) => d.once('warning', resolve))
    await d.start()
    expect(await warning).toMatchObject({ code: 'BITCDN_ERR_TRACKER_FAILURE' })
    expect(t.stats().torrents).toBe(0)
  })

  it('a filter hook can refuse announces', async () => {
    const t = await tracker({ udp: false, filter: async (h) => (h === INFO_HASH ? 'paused by operator' : true) })
    const d = discovery({ infoHash: INFO_HASH, announce: [t.httpUrl as string], port: 40004 })
    const warning = new Promise<{ message: string }>((resolve) => d.once('warning', resolve))
    await d.start()
    expect((await warning).message).toContain('paused by operator')
  })

  it('a taken TCP port is BITCDN_ERR_PORT_IN_USE', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())))
    const port = (blocker.address() as AddressInfo).port
    const t = createTrackerServer({ port, udp: false })
    await expect(t.start()).rejects.toMatchObject({ code: 'BITCDN_ERR_PORT_IN_USE', details: { port, proto: 'http' } })
  })

  it('a taken UDP port is BITCDN_ERR_PORT_IN_USE and releases the HTTP port', async () => {
    const sock = dgram.createSocket('udp4')
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => sock.close(() => r())))
    const t = createTrackerServer({ udpPort: sock.address().port })
    await expect(t.start()).rejects.toMatchObject({ code: 'BITCDN_ERR_PORT_IN_USE', details: { proto: 'udp' } })
    expect(t.httpUrl).toBeUndefined()
  })
})

describe('tracker server port sharing', () => {
  it('a second tracker on the same UDP port fails instead of sharing it', async () => {
    const a = createTrackerServer({ http: false })
    await a.start()
    try {
      const port = Number((a.udpUrl as string).split(':').pop())
      const b = createTrackerServer({ http: false, port })
      await expect(b.start()).rejects.toMatchObject({ code: 'BITCDN_ERR_PORT_IN_USE' })
    } finally {
      await a.stop()
    }
  })
})

describe('tracker server on IPv6 loopback', () => {
  it('listens on ::1 (HTTP and UDP sockets) and answers announces there when the host has IPv6', async (ctx) => {
    const t = createTrackerServer({ host: '::1' })
    try {
      await t.start()
    } catch (err) {
      // containers without IPv6 cannot bind ::1: say so and skip, never pass without asserting
      if ((err as { code?: string }).code === 'BITCDN_ERR_TRACKER_LISTEN') {
        const reason = `skipped: this host cannot bind ::1 (no IPv6 loopback): ${(err as Error).message}`
        console.warn(reason)
        ctx.skip(reason)
      }
      throw err
    }
    try {
      expect(t.httpUrl).toMatch(/^http:\/\/\[::1\]:\d+\/announce$/)
      expect(t.udpUrl).toMatch(/^udp:\/\/\[::1\]:\d+$/)
      const d = createDiscovery({ infoHash: INFO_HASH, announce: [t.httpUrl as string], port: 40010 })
      const warnings: string[] = []
      d.on('warning', (w) => warnings.push(w.message))
      await d.start()
      await new Promise((r) => d.once('tracker', r))
      await d.stop()
      expect(t.stats().torrents).toBe(1)
    } finally {
      await t.stop()
    }
  })
})
