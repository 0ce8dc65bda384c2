/**
 * The client's one DHT node (BEP 5): shared by every torrent, found by other clients. Only a
 * private loopback DHT of local bootstrap nodes is used, never the public one.
 */
import DHT from 'bittorrent-dht'
import { afterEach, describe, expect, it } from 'vitest'
import { filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'

const h = harness()
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await h.cleanup()
  for (const c of cleanups.splice(0)) await c()
})

/** Three loopback DHT nodes that know each other and nothing else; their `host:port`s. */
async function loopbackDht(): Promise<string[]> {
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
  return nodes.map((n) => `127.0.0.1:${n.address().port}`)
}

describe('DHT in the swarm client', () => {
  it('shares one DHT node across torrents, and a second client finds the first through the DHT alone', async () => {
    const bootstrap = await loopbackDht()
    const dht = { bootstrap, announceIntervalMs: 300 }
    const one = testData(256 * 1024, 'one')
    const two = testData(256 * 1024, 'two')
    const m1 = await makeTorrent(one, { name: 'one.bin', pieceLength: 32 * 1024 })
    const m2 = await makeTorrent(two, { name: 'two.bin', pieceLength: 32 * 1024 })
    const seeder = await h.client({ dht })
    const warnings: { code?: string }[] = []
    for (const [m, data] of [[m1, one], [m2, two]] as const) {
      const t = await seeder.add(m, { store: await filledStore(m, data) })
      t.on('warning', (w) => warnings.push(w))
    }
    const leecher = await h.client({ dht })
    const t = await leecher.add(m1) // no tracker, no peers: the DHT is the only way
    t.on('warning', (w) => warnings.push(w))
    await t.whenDone()
    expect((await readAll(t.store!, m1)).equals(one)).toBe(true)
    expect(warnings.map((w) => w.code)).not.toContain('BITCDN_ERR_DHT')
  })
})
