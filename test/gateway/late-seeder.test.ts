/**
 * A node that connected to the gateway while it was still downloading (a node pinning what the
 * pull zone just published does exactly this) announces its pieces by HAVE, not in its bitfield.
 * The gateway's on-demand torrent must become interested in it when it gains pieces, or the node
 * never unchokes it and a later request waits until it times out. Real TCP peers, a real origin
 * that the node downloads from (web seed) and that is stopped before the gateway is asked.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createTorrent } from '@bitcdn/content'
import { createGateway } from '@bitcdn/gateway'
import { createSwarmClient } from '@bitcdn/swarm'
import { harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin } from './helpers.js'

const h = harness()
const stops: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => {})
  await h.cleanup()
})

describe('gateway and a node that became a seeder while connected', () => {
  it('serves a range from a node whose pieces arrived by HAVE after it connected, the origin stopped', async () => {
    const src = await h.tempDir()
    const data = testData(3 * 2 ** 20 + 77, 'late-seeder')
    await writeFile(join(src, 'late.bin'), data)
    const origin = await startOrigin(src)
    const m = await createTorrent(join(src, 'late.bin'), { pieceLength: 256 * 1024, urlList: [`${origin.url}/late.bin`] })
    const gw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, hedgeDelayMs: 60_000, pieceTimeoutMs: 20_000 })({})
    await gw.start()
    stops.push(() => gw.stop())
    const entry = await gw.content.add(m.torrentFile)
    // the node dials the gateway before it has a piece, then fetches everything from the web seed
    const node = createSwarmClient({ stateDir: await h.stateDir() }, { uploadGate: () => true })
    await node.start()
    stops.push(() => node.stop())
    const t = await node.add(m.torrentFile, { dir: await h.tempDir(), peers: [`127.0.0.1:${gw.swarm.port}`] })
    await t.whenDone()
    expect(entry.torrent.stats().peers).toBe(1)
    await origin.stop()
    const r = await request(`${gw.url}/t/${m.infoHash}`, { range: 'bytes=300000-1300000' })
    expect(r.status).toBe(206)
    expect(r.body.equals(data.subarray(300_000, 1_300_001))).toBe(true)
    // pieces 1..4 (256 KiB each) from the node, none from the origin
    expect(t.stats().uploaded).toBe(4 * 256 * 1024)
  }, 60_000)
})
