/**
 * The content-addressed routes over real parts: a seeder over TCP, a static HTTP origin as web
 * seed, the gateway listening on a loopback port, requests over real HTTP.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin, type Origin } from './helpers.js'

const h = harness()
let origin: Origin
let gw: Gateway
let single: Metainfo
let multi: Metainfo
const singleData = testData(1_600_003, 'single')
const files: Record<string, Buffer> = {
  'index.html': Buffer.from('<!doctype html><title>hi</title>'.padEnd(1000, ' ')),
  'media/clip.bin': testData(300_001, 'clip'),
  'z.txt': testData(70_000, 'z'),
}
const PL = 64 * 1024

beforeAll(async () => {
  const src = await h.tempDir()
  await writeFile(join(src, 'single.bin'), singleData)
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(src, 'site', p, '..'), { recursive: true })
    await writeFile(join(src, 'site', p), data)
  }
  origin = await startOrigin(src)
  single = await createTorrent(join(src, 'single.bin'), { pieceLength: PL, urlList: [`${origin.url}/single.bin`] })
  multi = await createTorrent(join(src, 'site'), { pieceLength: 32 * 1024, urlList: [`${origin.url}/`] })
  const seeder = await h.client()
  await seeder.add(single, { dir: src })
  await seeder.add(multi, { dir: src })
  gw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, defaults: { peers: [addr(seeder)] } })()
  await gw.start()
  await gw.content.add(single.torrentFile)
  await gw.content.add(multi.torrentFile)
})

afterAll(async () => {
  await gw?.stop()
  await origin?.stop()
  await h.cleanup()
})

const url = (p: string) => `${gw.url}${p}`

describe('content-addressed routes', () => {
  it('serves a whole single-file torrent with its headers', async () => {
    const r = await request(url(`/t/${single.infoHash}`))
    expect(r.status).toBe(200)
    expect(r.body.equals(singleData)).toBe(true)
    expect(r.headers['content-length']).toBe(String(singleData.length))
    expect(r.headers['accept-ranges']).toBe('bytes')
    expect(r.headers['etag']).toBe(`"${single.infoHash}-0"`)
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(r.headers['content-type']).toBe('application/octet-stream')
  })

  it('answers ranges at the first byte, the last byte, across piece boundaries, open-ended and suffix', async () => {
    const ih = single.infoHash
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      [`bytes=${singleData.length - 1}-${singleData.length - 1}`, singleData.length - 1, singleData.length - 1],
      ['bytes=-1', singleData.length - 1, singleData.length - 1],
      [`bytes=${PL - 10}-${PL + 9}`, PL - 10, PL + 9],
      [`bytes=${3 * PL - 1}-${5 * PL}`, 3 * PL - 1, 5 * PL],
      [`bytes=${singleData.length - 100}-`, singleData.length - 100, singleData.length - 1],
      ['bytes=-300', singleData.length - 300, singleData.length - 1],
      [`bytes=100-${singleData.length + 5000}`, 100, singleData.length - 1],
    ]
    for (const [range, start, end] of cases) {
      const r = await request(url(`/t/${ih}`), { range })
      expect(r.status, range).toBe(206)
      expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${singleData.length}`)
      expect(r.headers['content-length'], range).toBe(String(end - start + 1))
      expect(r.body.equals(singleData.subarray(start, end + 1)), range).toBe(true)
    }
  })

  it('answers an unsatisfiable range with 416 and Content-Range bytes */length', async () => {
    const r = await request(url(`/t/${single.infoHash}`), { range: `bytes=${singleData.length}-` })
    expect(r.status).toBe(416)
    expect(r.headers['content-range']).toBe(`bytes */${singleData.length}`)
  })

  it('answers several ranges with the whole file (200)', async () => {
    const r = await request(url(`/t/${single.infoHash}`), { range: 'bytes=0-10,20-30' })
    expect(r.status).toBe(200)
    expect(r.body.equals(singleData)).toBe(true)
  })

  it('lists a multi-file torrent as JSON and serves its files, also ranges over pieces shared by two files', async () => {
    const list = await request(url(`/t/${multi.infoHash}`))
    expect(list.status).toBe(200)
    const body = JSON.parse(list.body.toString()) as { files: Array<{ path: string; length: number; url: string }> }
    expect(body.files.map((f) => f.path).sort()).toEqual(Object.keys(files).sort())
    const sub = JSON.parse((await request(url(`/t/${multi.infoHash}/media/`))).body.toString()) as { files: Array<{ path: string }> }
    expect(sub.files.map((f) => f.path)).toEqual(['media/clip.bin'])
    for (const [p, data] of Object.entries(files)) {
      const r = await request(url(`/t/${multi.infoHash}/${p}`))
      expect(r.status, p).toBe(200)
      expect(r.body.equals(data), p).toBe(true)
    }
    expect((await request(url(`/t/${multi.infoHash}/index.html`))).headers['content-type']).toBe('text/html; charset=utf-8')
    // z.txt starts inside a piece that also holds the end of the file before it
    const z = multi.files.find((f) => f.path.endsWith('z.txt'))!
    expect(z.offset % multi.pieceLength).not.toBe(0)
    const firstBoundary = Math.ceil(z.offset / multi.pieceLength) * multi.pieceLength - z.offset
    for (const [start, end] of [[0, 0], [0, firstBoundary + 5], [firstBoundary - 3, firstBoundary + 3], [z.length - 1, z.length - 1]] as const) {
      const r = await request(url(`/t/${multi.infoHash}/z.txt`), { range: `bytes=${start}-${end}` })
      expect(r.status).toBe(206)
      expect(r.body.equals(files['z.txt']!.subarray(start, end + 1))).toBe(true)
    }
  })

  it('answers If-None-Match with 304, a failed If-Match with 412, and ignores Range under a stale If-Range', async () => {
    const ih = single.infoHash
    const etag = `"${ih}-0"`
    const nm = await request(url(`/t/${ih}`), { 'if-none-match': etag })
    expect(nm.status).toBe(304)
    expect(nm.body.length).toBe(0)
    expect(nm.headers['etag']).toBe(etag)
    expect((await request(url(`/t/${ih}`), { 'if-none-match': '"other"' })).status).toBe(200)
    expect((await request(url(`/t/${ih}`), { 'if-match': '"other"' })).status).toBe(412)
    expect((await request(url(`/t/${ih}`), { 'if-match': etag, range: 'bytes=0-1' })).status).toBe(206)
    const stale = await request(url(`/t/${ih}`), { 'if-range': '"old"', range: 'bytes=0-1' })
    expect(stale.status).toBe(200)
    expect(stale.body.length).toBe(singleData.length)
    expect((await request(url(`/t/${ih}`), { 'if-range': etag, range: 'bytes=0-1' })).status).toBe(206)
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    for (const headers of [{}, { range: 'bytes=5-99' }] as Array<Record<string, string>>) {
      const g = await request(url(`/t/${single.infoHash}`), headers)
      const hd = await request(url(`/t/${single.infoHash}`), headers, 'HEAD')
      expect(hd.status).toBe(g.status)
      expect(hd.body.length).toBe(0)
      for (const k of ['content-length', 'content-range', 'etag', 'content-type', 'cache-control', 'accept-ranges']) expect(hd.headers[k], k).toBe(g.headers[k])
    }
  })

  it('rejects bad info-hashes (400), path traversal (400) and unknown content (404) with codes', async () => {
    const bad = await request(url('/t/nothex'))
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.body.toString()).code).toBe('BITCDN_ERR_GATEWAY_BAD_INFOHASH')
    for (const p of [`/t/${multi.infoHash}/%2e%2e/%2e%2e/etc/passwd`, `/t/${multi.infoHash}/media/../../x`, `/t/${multi.infoHash}/a%5cb`]) {
      const r = await request(gw.url, {}, 'GET', p)
      expect(r.status, p).toBe(400)
      expect(JSON.parse(r.body.toString()).code, p).toBe('BITCDN_ERR_GATEWAY_BAD_PATH')
    }
    const unknown = await request(url(`/t/${'ab'.repeat(20)}`))
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body.toString()).code).toBe('BITCDN_ERR_GATEWAY_NOT_FOUND')
    expect((await request(url(`/t/${multi.infoHash}/nope.txt`))).status).toBe(404)
  })

  it('answers 200 concurrent range requests with zero errors and the right bytes', async () => {
    const ih = single.infoHash
    const ranges = Array.from({ length: 200 }, (_, i) => {
      const start = (i * 7919) % (singleData.length - 70_000)
      return [start, start + 1 + ((i * 104729) % 65_000)] as const
    })
    const results = await Promise.all(ranges.map(([s, e]) => request(url(`/t/${ih}`), { range: `bytes=${s}-${e}` })))
    const wrong = results.filter((r, i) => r.status !== 206 || !r.body.equals(singleData.subarray(ranges[i]![0], ranges[i]![1] + 1)))
    expect(wrong.length).toBe(0)
  })

  it('publishes an OpenAPI 3.1 document that documents every status these routes answered', async () => {
    const doc = JSON.parse((await request(url('/openapi.json'))).body.toString()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
    expect(doc.openapi).toBe('3.1.0')
    const one = doc.paths['/t/{infohash}']!
    const two = doc.paths['/t/{infohash}/{*}'] ?? doc.paths['/t/{infohash}/*']
    expect(two).toBeDefined()
    // statuses seen in this file's requests, fetched again here
    const seen = new Map<string, Set<string>>([['one', new Set()], ['two', new Set()]])
    const probe = async (which: 'one' | 'two', p: string, headers: Record<string, string> = {}) => seen.get(which)!.add(String((await request(gw.url, headers, 'GET', p)).status))
    await probe('one', `/t/${single.infoHash}`)
    await probe('one', `/t/${single.infoHash}`, { range: 'bytes=0-0' })
    await probe('one', `/t/${single.infoHash}`, { range: 'bytes=99999999-' })
    await probe('one', `/t/${single.infoHash}`, { 'if-none-match': `"${single.infoHash}-0"` })
    await probe('one', `/t/${single.infoHash}`, { 'if-match': '"x"' })
    await probe('one', '/t/zz')
    await probe('one', `/t/${'cd'.repeat(20)}`)
    await probe('two', `/t/${multi.infoHash}/z.txt`)
    await probe('two', `/t/${multi.infoHash}/%2e%2e/x`)
    await probe('two', `/t/${multi.infoHash}/missing`)
    expect([...seen.get('one')!].sort()).toEqual(['200', '206', '304', '400', '404', '412', '416'])
    for (const s of seen.get('one')!) expect(Object.keys(one.get!.responses), s).toContain(s)
    for (const s of seen.get('two')!) expect(Object.keys(two!.get!.responses), s).toContain(s)
    expect(Object.keys(one.head?.responses ?? one.get!.responses)).toContain('206')
  })

  it('exports Prometheus metrics with bytes by source and the offload ratio', async () => {
    const text = (await request(url('/metrics'))).body.toString()
    expect(text).toMatch(/bitcdn_gateway_piece_bytes_total\{source="swarm"\} [1-9]/)
    expect(text).toMatch(/bitcdn_gateway_piece_bytes_total\{source="cache"\} [1-9]/)
    expect(text).toMatch(/bitcdn_gateway_offload_ratio [01]/)
    expect(text).toContain('bitcdn_gateway_ttfb_seconds_bucket')
  })
})
