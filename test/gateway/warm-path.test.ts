/**
 * The warm path reads cached pieces into pooled buffers that come back once the socket took
 * them. A buffer given back too early would send another response's bytes: many concurrent
 * readers of pieces read from their files (no memory tier), some hanging up mid-body, must each
 * get exactly their bytes. Real parts: a seeder over TCP, the gateway on loopback, real HTTP.
 */
import http from 'node:http'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request } from './helpers.js'

const h = harness()
let gw: Gateway
let m: Metainfo
const data = testData(6 * 1024 * 1024 + 12_345, 'warm')

beforeAll(async () => {
  const src = await h.tempDir()
  await writeFile(join(src, 'warm.bin'), data)
  m = await createTorrent(join(src, 'warm.bin'), { pieceLength: 64 * 1024 })
  const seeder = await h.client()
  await seeder.add(m, { dir: src })
  gw = createGateway({ cacheDir: await h.tempDir(), port: 0, cacheMemoryBytes: 0, swarm: { stateDir: await h.stateDir() }, defaults: { peers: [addr(seeder)] } })()
  await gw.start()
  await gw.content.add(m.torrentFile)
  // warm: every piece into the cache
  const whole = await request(`${gw.url}/t/${m.infoHash}`)
  expect(whole.body.equals(data)).toBe(true)
})

afterAll(async () => {
  await gw?.stop()
  await h.cleanup()
})

/** Read `bytes` of a response, then hang up. */
function readThenAbort(range: string, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(`${gw.url}/t/${m.infoHash}`, { headers: { range }, agent: false }, (res) => {
      let got = 0
      res.on('data', (c: Buffer) => {
        got += c.length
        if (got >= bytes) req.destroy()
      })
      res.on('close', () => resolve())
    })
    req.on('error', () => resolve())
  })
}

describe('warm path (pooled read buffers)', () => {
  it('serves 200 concurrent ranges and whole-file reads from cached files with every byte right while other clients hang up mid-body', async () => {
    const ranges = Array.from({ length: 200 }, (_, i) => {
      const start = (i * 104_729) % (data.length - 400_000)
      return [start, start + 1 + ((i * 7919) % 390_000)] as const
    })
    const aborts = Array.from({ length: 40 }, (_, i) => readThenAbort(`bytes=${(i * 65_537) % 1_000_000}-`, 100_000))
    const [results, wholes] = await Promise.all([
      Promise.all(ranges.map(([s, e]) => request(`${gw.url}/t/${m.infoHash}`, { range: `bytes=${s}-${e}` }))),
      Promise.all([0, 1, 2, 3].map(() => request(`${gw.url}/t/${m.infoHash}`))),
      Promise.all(aborts),
    ])
    const wrong = results.filter((r, i) => r.status !== 206 || !r.body.equals(data.subarray(ranges[i]![0], ranges[i]![1] + 1)))
    expect(wrong.length).toBe(0)
    for (const w of wholes) expect(w.body.equals(data)).toBe(true)
    // and the pieces came from the cache's files, not the swarm
    const metrics = (await request(`${gw.url}/metrics`)).body.toString()
    expect(metrics).toMatch(/bitcdn_gateway_piece_bytes_total\{source="cache"\} [1-9]/)
  })
})
