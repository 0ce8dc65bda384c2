import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { MAX_TORRENT_BYTES, resolvePinSource } from './pin-source.js'

let dir: string
let server: http.Server
let base: string
let t: Metainfo
let hits = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pin-source-'))
  await writeFile(join(dir, 'a.bin'), Buffer.alloc(50_000, 3))
  t = await createTorrent(join(dir, 'a.bin'))
  server = http.createServer((req, res) => {
    hits++
    if (req.url === '/a.torrent') return void res.end(t.torrentFile)
    if (req.url === '/hop') return void res.writeHead(302, { location: '/a.torrent' }).end()
    if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end()
    if (req.url === '/declared-huge') return void res.writeHead(200, { 'content-length': String(MAX_TORRENT_BYTES + 1) }).end()
    if (req.url === '/endless') {
      // chunked, no length: the bound must hold while reading
      res.writeHead(200)
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return
        res.once('drain', pump)
      }
      res.on('close', () => res.removeAllListeners('drain'))
      return pump()
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  server.close()
  server.closeAllConnections()
  await rm(dir, { recursive: true, force: true })
})

describe('pin source URLs', () => {
  it('fetches a .torrent, following redirects', async () => {
    expect((await resolvePinSource({ url: `${base}/hop` })).infoHash).toBe(t.infoHash)
  })

  it('bounds what a hostile server can make it do: redirect loops, declared and streamed oversize bodies, HTTP errors', async () => {
    for (const path of ['/loop', '/declared-huge', '/endless', '/missing']) {
      await expect(resolvePinSource({ url: `${base}${path}` }), path).rejects.toMatchObject({ code: 'BITCDN_ERR_PIN_SOURCE' })
    }
  })

  it('SSRF: with publicOnly a loopback URL is refused before any request is sent', async () => {
    const before = hits
    await expect(resolvePinSource({ url: `${base}/a.torrent` }, undefined, { publicOnly: true })).rejects.toMatchObject({ code: 'BITCDN_ERR_PIN_SOURCE' })
    await expect(resolvePinSource({ url: `http://localhost:${new URL(base).port}/a.torrent` }, undefined, { publicOnly: true })).rejects.toMatchObject({ code: 'BITCDN_ERR_PIN_SOURCE' })
    expect(hits).toBe(before)
  })
})
