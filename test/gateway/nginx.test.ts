/**
 * nginx (Debian) as the CDN edge in front of the gateway, with the configuration in
 * docs/nginx/bitcdn-gateway.conf: origin mode (proxy_cache; the second request is an nginx hit)
 * and overflow mode (the edge's own origin first, the gateway when that origin is down).
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin, type Origin } from './helpers.js'
import { freePort, NGINX, startNginx, type Nginx } from './nginx.js'

const h = harness()
let origin: Origin
let contentGw: Gateway
let pullGw: Gateway
let nginx: Nginx
let torrent: Metainfo
let originPort: number
let overflowPort: number
const video = testData(2 * 2 ** 20 + 12_345, 'nginx-video')
const asset = testData(300_000, 'nginx-asset')
const published: Metainfo[] = []

if (!existsSync(NGINX)) console.warn(`nginx tests skipped: ${NGINX} is not installed (apt-get install nginx)`)

beforeAll(async () => {
  if (!existsSync(NGINX)) return
  const src = await h.tempDir()
  await writeFile(join(src, 'video.bin'), video)
  await writeFile(join(src, 'asset.bin'), asset)
  origin = await startOrigin(src, { headers: () => ({ 'cache-control': 'public, max-age=3600' }) })
  torrent = await createTorrent(join(src, 'video.bin'), { pieceLength: 256 * 1024 })
  const seeder = await h.client()
  await seeder.add(torrent, { dir: src })
  contentGw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, defaults: { peers: [addr(seeder)] } })()
  await contentGw.start()
  await contentGw.content.add(torrent.torrentFile)
  // the gateway nginx fails over to: a pull zone in front of the same origin
  pullGw = createGateway({ cacheDir: await h.tempDir(), port: 0, origin: origin.url, swarm: { stateDir: await h.stateDir() } })({ onPublish: (m) => published.push(m) })
  await pullGw.start()
  originPort = await freePort()
  overflowPort = await freePort()
}, 60_000)

afterAll(async () => {
  await nginx?.stop()
  await contentGw?.stop()
  await pullGw?.stop()
  await origin?.stop()
  await h.cleanup()
})

describe.runIf(existsSync(NGINX))('nginx in front of the gateway', () => {
  it('origin mode: serves content addresses through proxy_cache; the second request is an nginx cache hit', async () => {
    nginx = await startNginx(
      await h.tempDir(),
      { GATEWAY: new URL(contentGw.url).host, ORIGIN: new URL(origin.url).host, LISTEN_ORIGIN_MODE: `127.0.0.1:${originPort}`, LISTEN_OVERFLOW_MODE: `127.0.0.1:${overflowPort}` },
      [originPort, overflowPort],
    )
    const url = `http://127.0.0.1:${originPort}/t/${torrent.infoHash}`
    const first = await request(url)
    expect(first.status).toBe(200)
    expect(first.body.equals(video)).toBe(true)
    expect(first.headers['x-cache-status']).toBe('MISS')
    const servedBefore = (await request(`${contentGw.url}/metrics`)).body.toString().match(/bitcdn_gateway_served_bytes_total\{route="content"\} (\d+)/)?.[1]
    const second = await request(url)
    expect(second.status).toBe(200)
    expect(second.body.equals(video)).toBe(true)
    expect(second.headers['x-cache-status']).toBe('HIT')
    const range = await request(url, { range: 'bytes=1048570-1048590' })
    expect(range.status).toBe(206)
    expect(range.body.equals(video.subarray(1048570, 1048591))).toBe(true)
    expect(range.headers['x-cache-status']).toBe('HIT')
    const servedAfter = (await request(`${contentGw.url}/metrics`)).body.toString().match(/bitcdn_gateway_served_bytes_total\{route="content"\} (\d+)/)?.[1]
    // the hits never reached the gateway
    expect(servedAfter).toBe(servedBefore)
    expect(Number(servedBefore)).toBeGreaterThanOrEqual(video.length)
  })

  it('overflow mode: the edge\'s own origin first, the gateway when that origin is down', async () => {
    await nginx.stop()
    nginx = await startNginx(
      await h.tempDir(),
      { GATEWAY: new URL(pullGw.url).host, ORIGIN: new URL(origin.url).host, LISTEN_ORIGIN_MODE: `127.0.0.1:${originPort}`, LISTEN_OVERFLOW_MODE: `127.0.0.1:${overflowPort}` },
      [originPort, overflowPort],
    )
    const url = `http://127.0.0.1:${overflowPort}/asset.bin`
    const up = await request(url)
    expect(up.status).toBe(200)
    expect(up.body.equals(asset)).toBe(true)
    expect(up.headers['x-served-by']).toBe('origin')
    // the mirror made the gateway's pull zone publish the object
    const until = Date.now() + 10_000
    while (published.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    expect(published.map((m) => m.name)).toEqual(['asset.bin'])
    await origin.stop()
    const down = await request(url)
    expect(down.status).toBe(200)
    expect(down.body.equals(asset)).toBe(true)
    expect(down.headers['x-served-by']).toBe('bitcdn')
    expect(down.headers['x-bitcdn-infohash']).toBe(published[0]!.infoHash)
  })
})
