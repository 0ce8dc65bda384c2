import DHT from 'bittorrent-dht'
import type { BitcdnError } from '@bitcdn/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createDiscovery, startDhtNode, type Discovery } from '../../packages/swarm/src/discovery/index.js'
import { createTrackerServer } from '../../packages/swarm/src/tracker/index.js'

const INFO_HASH = 'cd'.repeat(20)

describe('discovery', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function discovery(init: Parameters<typeof createDiscovery>[0], components?: Parameters<typeof createDiscovery>[1]): Discovery {
    const d = createDiscovery(init, components)
    cleanups.push(() => d.stop())
    return d
  }

  function collect(d: Discovery): { peers: string[]; warnings: BitcdnError[] } {
    const out = { peers: [] as string[], warnings: [] as BitcdnError[] }
    d.on('peer', (p) => out.peers.push(p))
    d.on('warning', (w) => out.warnings.push(w))
    return out
  }

  it('an unreachable tracker is a warning naming it, and other sources keep working', async () => {
    const t = createTrackerServer({ udp: false })
    await t.start()
    cleanups.push(() => t.stop())
    // a port nobody listens on: stop the tracker we just used to learn a free one
    const dead = createTrackerServer({ udp: false })
    await dead.start()
    const deadUrl = dead.httpUrl as string
    await dead.stop()

    const seed = discovery({ infoHash: INFO_HASH, announce: [t.httpUrl as string], port: 41001, left: 0 })
    await seed.start()
    await new Promise((r) => seed.once('tracker', r))

    const d = discovery({ infoHash: INFO_HASH, announce: [deadUrl, t.httpUrl as string, 'wss://tracker.example/ws'], port: 41002 })
    const got = collect(d)
    const warned = new Promise<void>((resolve) => d.on('warning', (w) => w.code === 'BITCDN_ERR_TRACKER_UNREACHABLE' && resolve()))
    const found = new Promise<void>((resolve) => d.on('peer', () => resolve()))
    await d.start()
    await Promise.all([warned, found])
    expect(got.peers).toContain('127.0.0.1:41001')
    const unreachable = got.warnings.find((w) => w.code === 'BITCDN_ERR_TRACKER_UNREACHABLE')
    expect(unreachable?.details.tracker).toBe(deadUrl)
    expect(got.warnings.some((w) => w.code === 'BITCDN_ERR_TRACKER_URL_INVALID')).toBe(true)
  })

  it('hand-given peers are normalised, deduplicated, and our own address is dropped', async () => {
    const d = discovery({
      infoHash: INFO_HASH,
      announce: [],
      port: 41003,
      peers: ['10.0.0.1:6881', '10.0.0.1:6881', '[::ffff:10.0.0.1]:6881', '127.0.0.1:41003', '[2001:DB8::1]:7000', 'garbage', '10.0.0.2:0'],
    })
    const got = collect(d)
    await d.start()
    d.addPeers(['10.0.0.1:6881', '10.0.0.3:6881'])
    await new Promise((r) => setImmediate(r))
    expect(got.peers).toEqual(['10.0.0.1:6881', '[2001:db8::1]:7000', '10.0.0.3:6881'])
    expect(got.warnings.map((w) => w.code)).toEqual(['BITCDN_ERR_DISCOVERY_INVALID', 'BITCDN_ERR_DISCOVERY_INVALID'])
  })

  it('rejects a malformed info-hash or port up front', () => {
    expect(() => createDiscovery({ infoHash: 'xyz', announce: [], port: 1 })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_DISCOVERY_INVALID' }))
    expect(() => createDiscovery({ infoHash: INFO_HASH, announce: [], port: 0 })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_DISCOVERY_INVALID' }))
  })

  it('completed and stopped announces update the tracker counts', async () => {
    const t = createTrackerServer({ http: false })
    await t.start()
    cleanups.push(() => t.stop())
    const d = discovery({ infoHash: INFO_HASH, announce: [t.udpUrl as string], port: 41004, left: 500 })
    await d.start()
    await new Promise((r) => d.once('tracker', r))
    expect(t.stats()).toMatchObject({ seeders: 0, leechers: 1 })
    d.update({ uploaded: 0, downloaded: 500, left: 0 })
    d.complete()
    await new Promise((r) => d.once('tracker', r))
    expect(t.stats()).toMatchObject({ seeders: 1, leechers: 0 })
    await d.stop()
    expect(t.stats()).toMatchObject({ peers: 0 })
  })

  it('finds an announced peer over a loopback DHT of local nodes (never the public one)', async () => {
    // three bootstrap nodes that know each other, none knows the internet
    const nodes = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<InstanceType<typeof DHT>>((resolve) => {
            const n = new DHT({ bootstrap: false })
            n.listen(0, '127.0.0.1', () => resolve(n))
          }),
      ),
    )
    cleanups.push(() => Promise.all(nodes.map((n) => new Promise<void>((r) => n.destroy(() => r())))).then(() => {}))
    for (const a of nodes) for (const b of nodes) if (a !== b) a.addNode({ host: '127.0.0.1', port: b.address().port, id: b.nodeId })
    const bootstrap = nodes.map((n) => `127.0.0.1:${n.address().port}`)

    const dhtOpts = { bootstrap, host: '127.0.0.1', port: 0 }
    const seed = discovery({ infoHash: INFO_HASH, announce: [], port: 41005, dht: dhtOpts })
    const seedGot = collect(seed)
    await seed.start()
    const leech = discovery({ infoHash: INFO_HASH, announce: [], port: 41006, dht: dhtOpts, dhtIntervalMs: 200 })
    const got = collect(leech)
    const found = new Promise<void>((resolve) => leech.on('peer', (p) => p === '127.0.0.1:41005' && resolve()))
    await leech.start()
    await found
    expect(got.peers).toContain('127.0.0.1:41005')
    expect(got.peers).not.toContain('127.0.0.1:41006')
    expect([...seedGot.warnings, ...got.warnings]).toEqual([])
  })

  it('several torrents share one injected DHT node, which stop() leaves running', async () => {
    const boot = new DHT({ bootstrap: false })
    await new Promise<void>((r) => boot.listen(0, '127.0.0.1', () => r()))
    const shared = await startDhtNode({ host: '127.0.0.1', bootstrap: [`127.0.0.1:${boot.address().port}`] })
    cleanups.push(() => new Promise<void>((r) => boot.destroy(() => r())))
    cleanups.push(() => new Promise<void>((r) => shared.destroy(() => r())))
    const a = discovery({ infoHash: 'a1'.repeat(20), announce: [], port: 41007, dht: true }, { dht: shared })
    const b = discovery({ infoHash: 'b2'.repeat(20), announce: [], port: 41007, dht: true }, { dht: shared })
    expect(shared.listenerCount('peer')).toBe(0)
    const priv = discovery({ infoHash: 'c3'.repeat(20), announce: [], port: 41007, dht: false }, { dht: shared })
    await priv.start()
    expect(shared.listenerCount('peer')).toBe(0)
    await a.start()
    await b.start()
    expect(shared.listenerCount('peer')).toBe(2)
    await a.stop()
    await b.stop()
    expect(shared.destroyed).toBe(false)
    expect(shared.listenerCount('peer')).toBe(0)
  })

  it('a DHT node on a taken UDP port is BITCDN_ERR_DHT (thrown by startDhtNode, a warning in discovery)', async () => {
    const first = await startDhtNode({ host: '127.0.0.1', bootstrap: false })
    cleanups.push(() => new Promise<void>((r) => first.destroy(() => r())))
    const port = first.address().port
    await expect(startDhtNode({ host: '127.0.0.1', port, bootstrap: false })).rejects.toMatchObject({ code: 'BITCDN_ERR_DHT' })
    const d = discovery({ infoHash: INFO_HASH, announce: [], port: 41008, dht: { host: '127.0.0.1', port, bootstrap: false }, peers: ['10.1.1.1:1'] })
    const got = collect(d)
    await d.start()
    expect(got.warnings.map((w) => w.code)).toEqual(['BITCDN_ERR_DHT'])
    expect(got.peers).toEqual(['10.1.1.1:1'])
  })
})
