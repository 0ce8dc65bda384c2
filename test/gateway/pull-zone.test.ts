/**
 * The pull zone over real HTTP: a static origin with caching headers, the gateway in front of it,
 * a swarm node that pins what the gateway publishes. First request from the origin, the next from
 * the swarm with the origin stopped; no-store never cached; a changed object served fresh and
 * made a new torrent; other methods forwarded unchanged.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Metainfo } from '@bitcdn/content'
import { createGateway, type Gateway, type GatewayInit } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin, type Origin, type OriginOptions } from './helpers.js'

const h = harness()
const stops: Array<() => Promise<void>> = []

afterAll(async () => {
  for (const s of stops.splice(0).reverse()) await s().catch(() => {})
  await h.cleanup()
})

async function zone(files: Record<string, Buffer>, originOpts: OriginOptions, init: Partial<GatewayInit> = {}) {
  const root = await h.tempDir()
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true })
    await writeFile(join(root, p), data)
  }
  const origin = await startOrigin(root, originOpts)
  stops.push(() => origin.stop())
  const published: Array<{ m: Metainfo; url: string }> = []
  const waiters: Array<() => void> = []
  const gw = createGateway({ cacheDir: await h.tempDir(), port: 0, origin: origin.url, swarm: { stateDir: await h.stateDir() }, ...init })({
    onPublish: (m, url) => {
      published.push({ m, url })
      for (const w of waiters.splice(0)) w()
    },
  })
  await gw.start()
  stops.push(() => gw.stop())
  const nextPublish = async (count: number) => {
    while (published.length < count) await new Promise<void>((r) => waiters.push(r))
    return published[count - 1]!
  }
  return { root, origin, gw, published, nextPublish }
}

describe('pull zone', () => {
  it('serves the first request from the origin, publishes a torrent, then serves from the swarm with the origin stopped', async () => {
    const js = testData(700_000, 'app.js')
    const z = await zone({ 'assets/app.js': js }, { headers: () => ({ 'cache-control': 'public, max-age=3600', 'content-type': 'text/javascript' }) }, { warmCache: false })
    const first = await request(`${z.gw.url}/assets/app.js`)
    expect(first.status).toBe(200)
    expect(first.body.equals(js)).toBe(true)
    expect(z.origin.hits.get('/assets/app.js')).toBe(1)
    const { m, url } = await z.nextPublish(1)
    expect(url).toBe('/assets/app.js')
    expect(m.urlList).toEqual([`${z.origin.url}/assets/app.js`])
    // a node pins it: downloads it from its web seed (the origin) and seeds it
    const node = await h.client()
    const pinned = await node.add(m, { dir: await h.tempDir() })
    await pinned.whenDone()
    await z.gw.content.add(m.torrentFile, { peers: [addr(node)] })
    await z.origin.stop()
    const hitsBefore = z.origin.hits.get('/assets/app.js')
    const second = await request(`${z.gw.url}/assets/app.js`)
    expect(second.status).toBe(200)
    expect(second.body.equals(js)).toBe(true)
    expect(second.headers['x-bitcdn-infohash']).toBe(m.infoHash)
    expect(second.headers['content-type']).toBe('text/javascript')
    expect(second.headers['cache-control']).toBe('public, max-age=3600')
    const range = await request(`${z.gw.url}/assets/app.js`, { range: 'bytes=1000-299999' })
    expect(range.status).toBe(206)
    expect(range.body.equals(js.subarray(1000, 300000))).toBe(true)
    expect(z.origin.hits.get('/assets/app.js')).toBe(hitsBefore)
    const metrics = (await request(`${z.gw.url}/metrics`)).body.toString()
    expect(metrics).toMatch(/bitcdn_gateway_piece_bytes_total\{source="swarm"\} [1-9]/)
    expect(metrics).not.toMatch(/bitcdn_gateway_piece_bytes_total\{source="origin"\} [1-9]/)
  })

  it('never caches or publishes an object the origin marks no-store or private', async () => {
    const z = await zone({ 'me.json': Buffer.from('{"user":"alice"}'), 'p.json': Buffer.from('{"p":1}') }, { headers: (p) => ({ 'cache-control': p === '/me.json' ? 'no-store' : 'private, max-age=600' }) })
    for (let i = 0; i < 3; i++) {
      expect((await request(`${z.gw.url}/me.json`)).body.toString()).toBe('{"user":"alice"}')
      expect((await request(`${z.gw.url}/p.json`)).body.toString()).toBe('{"p":1}')
    }
    expect(z.origin.hits.get('/me.json')).toBe(3)
    expect(z.origin.hits.get('/p.json')).toBe(3)
    await new Promise((r) => setTimeout(r, 300))
    expect(z.published.length).toBe(0)
    expect(z.gw.content.entries.length).toBe(0)
    expect(z.gw.cache.bytes).toBe(0)
  })

  it('revalidates a stale object (304 keeps its torrent) and serves a changed object fresh as a new torrent', async () => {
    const v1 = testData(200_000, 'v1')
    const v2 = testData(210_000, 'v2')
    const z = await zone({ 'data.bin': v1 }, { etags: true, headers: () => ({ 'cache-control': 'public, max-age=0' }) })
    expect((await request(`${z.gw.url}/data.bin`)).body.equals(v1)).toBe(true)
    const p1 = await z.nextPublish(1)
    const again = await request(`${z.gw.url}/data.bin`)
    expect(again.body.equals(v1)).toBe(true)
    expect(again.headers['x-bitcdn-infohash']).toBe(p1.m.infoHash)
    await writeFile(join(z.root, 'data.bin'), v2)
    const changed = await request(`${z.gw.url}/data.bin`)
    expect(changed.status).toBe(200)
    expect(changed.body.equals(v2)).toBe(true)
    const p2 = await z.nextPublish(2)
    expect(p2.m.infoHash).not.toBe(p1.m.infoHash)
    const after = await request(`${z.gw.url}/data.bin`)
    expect(after.body.equals(v2)).toBe(true)
    expect(after.headers['x-bitcdn-infohash']).toBe(p2.m.infoHash)
    // the old content address still names the old bytes
    expect((await request(`${z.gw.url}/t/${p1.m.infoHash}`)).body.equals(v1)).toBe(true)
  })

  it('forwards methods other than GET and HEAD to the origin unchanged', async () => {
    const seen: Array<{ method: string; body: string; type: string | undefined }> = []
    const z = await zone({}, {
      extra: (req, res) => {
        if (!req.url?.startsWith('/api/')) return false
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          seen.push({ method: req.method!, body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] })
          res.writeHead(201, { 'content-type': 'application/json', 'x-origin': 'yes' }).end(JSON.stringify({ ok: true }))
        })
        return true
      },
    })
    const post = await fetch(`${z.gw.url}/api/items?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })
    expect(post.status).toBe(201)
    expect(post.headers.get('x-origin')).toBe('yes')
    expect(await post.json()).toEqual({ ok: true })
    const put = await fetch(`${z.gw.url}/api/blob`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) })
    expect(put.status).toBe(201)
    await fetch(`${z.gw.url}/api/x`, { method: 'DELETE' })
    expect(seen.map((s) => s.method)).toEqual(['POST', 'PUT', 'DELETE'])
    expect(seen[0]).toEqual({ method: 'POST', body: '{"name":"x"}', type: 'application/json' })
    expect(seen[1]!.body).toBe('\u0001\u0002\u0003')
    expect(z.published.length).toBe(0)
  })
})
