/**
 * How the gateway fetches: only the pieces a request needs (counted on a 1 GiB torrent), the
 * origin per piece when every seeder dies mid-response, a clean 504 when nothing delivers, the
 * piece cache across a restart, and the limits an edge needs (slow loris, oversized headers,
 * concurrency, signed URLs).
 */
import type { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import http from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createTorrent, encodeTorrent, parseTorrentFile, type Metainfo, type PieceStore } from '@bitcdn/content'
import { createGateway, signUrl, type Gateway, type GatewayInit } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin, type Origin } from './helpers.js'

const MiB = 2 ** 20
const h = harness()
const gateways: Gateway[] = []
const origins: Origin[] = []

afterAll(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()))
  await Promise.all(origins.splice(0).map((o) => o.stop()))
  await h.cleanup()
})

async function gateway(init: Partial<GatewayInit> = {}): Promise<Gateway> {
  const gw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, ...init })()
  await gw.start()
  gateways.push(gw)
  return gw
}

/** A torrent of `length` zero bytes, made without hashing it all (every piece has one hash). */
function zeroTorrent(length: number, pieceLength: number): Metainfo {
  const pieceCount = Math.ceil(length / pieceLength)
  const full = createHash('sha1').update(Buffer.alloc(pieceLength)).digest()
  const last = createHash('sha1').update(Buffer.alloc(length - (pieceCount - 1) * pieceLength)).digest()
  const pieces = Buffer.concat([...Array.from({ length: pieceCount - 1 }, () => full), last])
  // the info dictionary in bencode, keys in sorted order
  const info = Buffer.concat([Buffer.from(`d6:lengthi${length}e4:name9:zeros.bin12:piece lengthi${pieceLength}e6:pieces${pieces.length}:`), pieces, Buffer.from('e')])
  return parseTorrentFile(encodeTorrent({ infoBuffer: info, announce: [], urlList: [] }))
}

/** A seeder's store that reads zeros: a 1 GiB seed without 1 GiB on disk. */
function zeroStore(m: Metainfo): PieceStore {
  return {
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    length: m.length,
    put: async () => {},
    get: async (_i, _o, length) => Buffer.alloc(length),
    flush: async () => {},
    close: async () => {},
  }
}

describe('gateway fetching', () => {
  it('fetches only the pieces a range of a 1 GiB torrent needs', async () => {
    const m = zeroTorrent(1024 * MiB, MiB)
    const seeder = await h.client()
    const seed = await seeder.add(m, { store: zeroStore(m), have: Array.from({ length: m.pieceCount }, (_, i) => i) })
    const gw = await gateway({ defaults: { peers: [addr(seeder)] }, readAheadPieces: 4 })
    const entry = await gw.content.add(m.torrentFile)
    const start = 300 * MiB + 5
    const end = 302 * MiB + 10
    const r = await request(`${gw.url}/t/${m.infoHash}`, { range: `bytes=${start}-${end}` })
    expect(r.status).toBe(206)
    expect(r.body.length).toBe(end - start + 1)
    expect(r.body.equals(Buffer.alloc(end - start + 1))).toBe(true)
    // a response gets each piece as it verified, before its file is written: let the stores end
    for (const until = Date.now() + 5_000; entry.torrent.stats().verifiedPieces < 3 && Date.now() < until; ) await new Promise((res) => setTimeout(res, 20))
    // pieces 300, 301 and 302: no more, and the seeder sent exactly those
    expect(entry.torrent.stats().verifiedPieces).toBe(3)
    expect(gw.cache.pieces(m.infoHash).sort((a, b) => a - b)).toEqual([300, 301, 302])
    expect(seed.stats().uploaded).toBe(3 * MiB)
    // a sequential reader (the next range starts where this one ended) also gets read-ahead
    const next = await request(`${gw.url}/t/${m.infoHash}`, { range: `bytes=${end + 1}-${303 * MiB + 20}` })
    expect(next.status).toBe(206)
    expect(next.body.length).toBe(303 * MiB + 20 - end)
    const want = [300, 301, 302, 303, 304, 305, 306, 307]
    const until = Date.now() + 15_000
    while (gw.cache.pieces(m.infoHash).length < want.length && Date.now() < until) await new Promise((res) => setTimeout(res, 50))
    expect(gw.cache.pieces(m.infoHash).sort((a, b) => a - b)).toEqual(want)
    expect(seed.stats().uploaded).toBe(want.length * MiB)
    // a video's stream of sequential ranges: no response leaves a listener on the torrent for its
    // read-ahead (each one used to wait there for its pieces, up to 30 s)
    const pieceListeners = () => (entry.torrent as unknown as EventEmitter).listenerCount('piece')
    const before = pieceListeners()
    let at = 303 * MiB + 21
    for (let k = 0; k < 6; k++) {
      const r2 = await request(`${gw.url}/t/${m.infoHash}`, { range: `bytes=${at}-${at + 256 * 1024 - 1}` })
      expect(r2.status).toBe(206)
      at += 256 * 1024
      expect(pieceListeners()).toBeLessThanOrEqual(before)
    }
  })

  it('completes a response from the origin when every seeder is killed mid-response', async () => {
    const src = await h.tempDir()
    const data = testData(6 * MiB, 'kill')
    await writeFile(join(src, 'movie.bin'), data)
    const origin = await startOrigin(src)
    origins.push(origin)
    const m = await createTorrent(join(src, 'movie.bin'), { pieceLength: 64 * 1024, urlList: [`${origin.url}/movie.bin`] })
    const seeders = [await h.client({ uploadRateLimit: 1 * MiB }), await h.client({ uploadRateLimit: 1 * MiB })]
    for (const s of seeders) await s.add(m, { dir: src })
    const gw = await gateway({ defaults: { peers: seeders.map(addr) }, hedgeDelayMs: 300, parallelPieces: 4 })
    await gw.content.add(m.torrentFile)
    const body = await new Promise<Buffer>((resolve, reject) => {
      http.get(`${gw.url}/t/${m.infoHash}`, (res) => {
        const chunks: Buffer[] = []
        let got = 0
        let killed = false
        res.on('data', (c: Buffer) => {
          chunks.push(c)
          got += c.length
          if (!killed && got >= MiB) {
            killed = true
            for (const s of seeders) void s.stop()
          }
        })
        res.on('end', () => (res.complete ? resolve(Buffer.concat(chunks)) : reject(new Error('body aborted'))))
        res.on('error', reject)
      })
    })
    expect(body.length).toBe(data.length)
    expect(body.equals(data)).toBe(true)
    const metrics = (await request(`${gw.url}/metrics`)).body.toString()
    expect(metrics).toMatch(/bitcdn_gateway_hedges_total\{outcome="delivered"\} [1-9]/)
    expect(metrics).toMatch(/bitcdn_gateway_piece_bytes_total\{source="origin"\} [1-9]/)
    expect(metrics).toMatch(/bitcdn_gateway_piece_bytes_total\{source="swarm"\} [1-9]/)
    expect(origin.ranges.length).toBeGreaterThan(0)
  })

  it('answers 504 before the headers when neither the swarm nor the origin delivers in time', async () => {
    const m = zeroTorrent(4 * MiB, 256 * 1024)
    const gw = await gateway({ pieceTimeoutMs: 800 })
    await gw.content.add(m.torrentFile)
    const r = await request(`${gw.url}/t/${m.infoHash}`, { range: 'bytes=0-99' })
    expect(r.status).toBe(504)
    expect(JSON.parse(r.body.toString()).code).toBe('BITCDN_ERR_GATEWAY_TIMEOUT')
    expect((await request(`${gw.url}/metrics`)).body.toString()).toMatch(/bitcdn_gateway_errors_total\{kind="timeout"\} [1-9]/)
  })

  it('serves from its piece cache after a restart, with no swarm and no origin', async () => {
    const src = await h.tempDir()
    const data = testData(512 * 1024, 'restart')
    await writeFile(join(src, 'r.bin'), data)
    const m = await createTorrent(join(src, 'r.bin'), { pieceLength: 32 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { dir: src })
    const cacheDir = await h.tempDir()
    const first = await gateway({ cacheDir, defaults: { peers: [addr(seeder)] } })
    await first.content.add(m.torrentFile)
    expect((await request(`${first.url}/t/${m.infoHash}`)).body.equals(data)).toBe(true)
    await first.stop()
    await seeder.stop()
    const second = await gateway({ cacheDir, pieceTimeoutMs: 1000 })
    // known from the cache's database: nothing was added to this process
    const r = await request(`${second.url}/t/${m.infoHash}`, { range: 'bytes=1000-300000' })
    expect(r.status).toBe(206)
    expect(r.body.equals(data.subarray(1000, 300001))).toBe(true)
    const metrics = (await request(`${second.url}/metrics`)).body.toString()
    expect(metrics).toMatch(/bitcdn_gateway_piece_bytes_total\{source="cache"\} [1-9]/)
    expect(metrics).not.toMatch(/bitcdn_gateway_piece_bytes_total\{source="swarm"\} [1-9]/)
  })

  it('answers a slow-loris client with 408 and oversized headers with 431, and keeps serving', async () => {
    const gw = await gateway({ headersTimeoutMs: 1000, maxHeaderBytes: 8192 })
    const loris = await new Promise<string>((resolve) => {
      const sock = connect(Number(new URL(gw.url).port), '127.0.0.1', () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '))
      let got = ''
      sock.on('data', (d) => (got += d.toString()))
      sock.on('close', () => resolve(got))
      sock.on('error', () => {})
    })
    expect(loris).toMatch(/^HTTP\/1\.1 408/)
    const big = await request(`${gw.url}/healthz`, { 'x-big': 'a'.repeat(20_000) }).catch(() => ({ status: -1 }))
    expect(big.status).toBe(431)
    expect((await request(`${gw.url}/healthz`)).status).toBe(200)
  })

  it('answers 503 beyond the concurrent-request limit', async () => {
    const m = zeroTorrent(MiB, 256 * 1024)
    const gw = await gateway({ pieceTimeoutMs: 1500, maxConcurrentRequests: 1 })
    await gw.content.add(m.torrentFile)
    const slow = request(`${gw.url}/t/${m.infoHash}`)
    await new Promise((r) => setTimeout(r, 200))
    const second = await request(`${gw.url}/t/${m.infoHash}`)
    expect(second.status).toBe(503)
    expect(JSON.parse(second.body.toString()).code).toBe('BITCDN_ERR_GATEWAY_OVERLOADED')
    expect((await slow).status).toBe(504)
  })

  it('refuses signed-URL routes without a valid token: missing, expired, out of scope, forged', async () => {
    const src = await h.tempDir()
    const data = testData(40_000, 'signed')
    await writeFile(join(src, 's.bin'), data)
    const m = await createTorrent(join(src, 's.bin'), { pieceLength: 16 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { dir: src })
    const key = 'test-signing-key'
    const gw = await gateway({ signingKey: key, defaults: { peers: [addr(seeder)] } })
    await gw.content.add(m.torrentFile)
    const now = Math.floor(Date.now() / 1000)
    const path = `/t/${m.infoHash}`
    const ok = await request(`${gw.url}${path}?${signUrl(key, path, now + 60)}`)
    expect(ok.status).toBe(200)
    expect(ok.body.equals(data)).toBe(true)
    const codes = await Promise.all([
      request(`${gw.url}${path}`),
      request(`${gw.url}${path}?${signUrl(key, path, now - 1)}`),
      request(`${gw.url}${path}?${signUrl(key, `/t/${'ab'.repeat(20)}`, now + 60)}`),
      request(`${gw.url}${path}?${signUrl('other-key', path, now + 60)}`),
    ])
    // monitoring is never behind tokens
    expect((await request(`${gw.url}/metrics`)).status).toBe(200)
    for (const r of codes) {
      expect(r.status).toBe(403)
      expect(JSON.parse(r.body.toString()).code).toBe('BITCDN_ERR_GATEWAY_TOKEN')
    }
  })
})
