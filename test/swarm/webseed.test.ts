import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import type { BitcdnError } from '@bitcdn/core'
import type { Metainfo } from '@bitcdn/content'
import { afterEach, describe, expect, it } from 'vitest'
import type { BlockRef, PeerConnection } from '../../packages/swarm/src/peer-connection.js'
import { createOriginPool, createWebSeedConnection, type OriginPool } from '../../packages/swarm/src/webseed/index.js'
import { buildMetainfo, randomData, startStaticServer, writeFixture, type FixtureFile, type StaticServer } from './webseed-fixtures.js'

const BLOCK = 16 * 1024

/** Every block of the given pieces, in order. */
function blocksOf(meta: Metainfo, pieces: number[] = [...Array(meta.pieceCount).keys()]): BlockRef[] {
  const out: BlockRef[] = []
  for (const index of pieces) {
    const len = index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
    for (let begin = 0; begin < len; begin += BLOCK) out.push({ index, begin, length: Math.min(BLOCK, len - begin) })
  }
  return out
}

/** Request `refs` in one tick; resolve when each was answered with a block or a reject. */
function fetchAll(conn: PeerConnection, refs: BlockRef[]): Promise<{ blocks: Map<string, Buffer>; rejected: BlockRef[] }> {
  const blocks = new Map<string, Buffer>()
  const rejected: BlockRef[] = []
  let left = refs.length
  return new Promise((resolve) => {
    const check = (): void => {
      if (--left === 0) {
        conn.off('block', onBlock)
        conn.off('reject', onReject)
        resolve({ blocks, rejected })
      }
    }
    const onBlock = (index: number, begin: number, data: Buffer): void => {
      blocks.set(`${index}:${begin}`, data)
      check()
    }
    const onReject = (ref: BlockRef): void => {
      rejected.push(ref)
      check()
    }
    conn.on('block', onBlock)
    conn.on('reject', onReject)
    for (const r of refs) conn.request(r)
  })
}

function assemble(meta: Metainfo, blocks: Map<string, Buffer>): Buffer {
  const out = Buffer.alloc(meta.length)
  for (const [k, data] of blocks) {
    const [index, begin] = k.split(':').map(Number) as [number, number]
    data.copy(out, index * meta.pieceLength + begin)
  }
  return out
}

describe('web seed (BEP 19)', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function setup(files: FixtureFile[], name: string, pieceLength: number, opts: { server?: Parameters<typeof startStaticServer>[1]; pool?: OriginPool } = {}) {
    const fx = await writeFixture(files)
    cleanups.push(fx.cleanup)
    const server = await startStaticServer(fx.root, opts.server)
    cleanups.push(() => server.close())
    const pool = opts.pool ?? createOriginPool({ initialBackoffMs: 20, maxBackoffMs: 100 })
    cleanups.push(() => pool.destroy())
    const meta = buildMetainfo(name, files, pieceLength)
    return { server, pool, meta }
  }

  function open(server: StaticServer, meta: Metainfo, pool: OriginPool, extra: Partial<Parameters<typeof createWebSeedConnection>[0]> = {}, warnings: BitcdnError[] = []) {
    const conn = createWebSeedConnection({ url: server.url, metainfo: meta, ...extra }, { originPool: pool, onWarning: (e) => warnings.push(e) })
    cleanups.push(() => conn.destroy())
    return conn
  }

  it('single-file torrent: the URL is the file; all blocks coalesce into one range request', async () => {
    const data = randomData(5 * 32 * 1024 + 1234)
    const { server, pool, meta } = await setup([{ path: 'movie.bin', data }], 'movie.bin', 32 * 1024)
    // a URL ending in '/' gets the torrent name appended (BEP 19)
    const conn = open(server, meta, pool)
    expect(conn.kind).toBe('webseed')
    expect(conn.has(meta.pieceCount - 1)).toBe(true)
    expect(conn.has(meta.pieceCount)).toBe(false)
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta))
    expect(rejected).toEqual([])
    expect(assemble(meta, blocks).equals(data)).toBe(true)
    expect(server.requests).toEqual([{ path: '/movie.bin', range: `bytes=0-${data.length - 1}` }])
    expect(conn.downloaded).toBe(data.length)
    expect(conn.outstanding).toBe(0)
  })

  it('reports blocks still undelivered after the timeout, so the torrent can re-pick them', async () => {
    const data = randomData(2 * 32 * 1024)
    const { server, pool, meta } = await setup([{ path: 'slow.bin', data }], 'slow.bin', 32 * 1024, { server: { delayMs: 200 } })
    const conn = open(server, meta, pool)
    const refs = blocksOf(meta, [1])
    const done = fetchAll(conn, refs)
    const t0 = Date.now()
    expect(conn.timedOutRequests!(t0, 60_000)).toEqual([])
    expect(conn.timedOutRequests!(t0 + 60_000, 60_000)).toEqual(refs)
    await done
    expect(conn.timedOutRequests!(t0 + 60_000, 60_000)).toEqual([])
  })

  it('multi-file torrent: blocks spanning file boundaries map to per-file ranges with encoded paths', async () => {
    const files: FixtureFile[] = [
      { path: 'show s01/ép 1.bin', data: randomData(10_000) },
      { path: 'show s01/empty.txt', data: Buffer.alloc(0) },
      { path: 'show s01/sub/b#2.bin', data: randomData(30_001) },
      { path: 'show s01/c.bin', data: randomData(5) },
      { path: 'show s01/d.bin', data: randomData(20_000) },
    ]
    const { server, pool, meta } = await setup(files, 'show s01', 16 * 1024)
    const conn = open(server, meta, pool)
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta))
    expect(rejected).toEqual([])
    expect(assemble(meta, blocks).equals(Buffer.concat(files.map((f) => f.data)))).toBe(true)
    // one request per non-empty file, the whole file each time
    expect(server.requests.map((r) => r.path).sort()).toEqual(['/show s01/c.bin', '/show s01/d.bin', '/show s01/sub/b#2.bin', '/show s01/ép 1.bin'])
    expect(server.requests.find((r) => r.path === '/show s01/sub/b#2.bin')?.range).toBe('bytes=0-30000')
  })

  it('a range in the middle of a multi-file torrent asks each file only for the bytes it holds', async () => {
    const files: FixtureFile[] = [
      { path: 'd/a', data: randomData(40_000) },
      { path: 'd/b', data: randomData(40_000) },
    ]
    const { server, pool, meta } = await setup(files, 'd', 16 * 1024)
    const conn = open(server, meta, pool)
    // piece 2 = bytes 32768..49151: the tail of a and the head of b
    const { blocks } = await fetchAll(conn, blocksOf(meta, [2]))
    expect(blocks.get('2:0')?.equals(Buffer.concat(files.map((f) => f.data)).subarray(32_768, 49_152))).toBe(true)
    expect(server.requests.sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { path: '/d/a', range: 'bytes=32768-39999' },
      { path: '/d/b', range: 'bytes=0-9151' },
    ])
  })

  it('coalesces adjacent blocks up to maxRangeBytes and keeps gaps as separate requests', async () => {
    const data = randomData(16 * 64 * 1024)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', 64 * 1024)
    const conn = open(server, meta, pool, { maxRangeBytes: 256 * 1024 })
    // pieces 0-9 contiguous (640 KiB → 3 ranges of ≤ 256 KiB), then 12-13 after a gap
    const { blocks } = await fetchAll(conn, blocksOf(meta, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13]))
    expect(blocks.size).toBe(12 * 4)
    expect(server.requests.map((r) => r.range).sort()).toEqual(
      ['bytes=0-262143', 'bytes=262144-524287', 'bytes=524288-655359', 'bytes=786432-917503'].sort(),
    )
    expect(assemble(meta, blocks).subarray(0, 655_360).equals(data.subarray(0, 655_360))).toBe(true)
  })

  it('while a range is in flight, small top-up requests wait and go out as one larger range', async () => {
    const data = randomData(64 * BLOCK)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', 16 * BLOCK, { server: { delayMs: 30 } })
    const conn = open(server, meta, pool, { minRangeBytes: 8 * BLOCK })
    const all = blocksOf(meta)
    // a picker that keeps 8 blocks in flight and tops up one block per arrival
    let next = 0
    let received = 0
    const done = new Promise<void>((resolve) => {
      conn.on('block', () => {
        received++
        if (next < all.length) conn.request(all[next++] as BlockRef)
        if (received === all.length) resolve()
      })
    })
    while (next < 8) conn.request(all[next++] as BlockRef)
    await done
    // one block per request would be 57 requests; runs wait to reach 8 blocks (about 8 requests)
    expect(server.requests.length).toBeLessThanOrEqual(12)
  })

  it('scattered whole pieces go out as parallel ranges, at most maxParallelRanges at a time', async () => {
    const data = randomData(8 * 2 * BLOCK)
    const pool = createOriginPool({ maxConnectionsPerOrigin: 8 })
    const { server, meta } = await setup([{ path: 'f', data }], 'f', 2 * BLOCK, { server: { delayMs: 10 }, pool })
    const conn = open(server, meta, pool, { maxParallelRanges: 2 })
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta, [7, 1, 3, 5, 0]))
    expect(rejected).toEqual([])
    expect(blocks.size).toBe(10)
    expect(server.requests.length).toBe(4) // pieces 0-1 are adjacent: one range
    expect(server.maxInFlight).toBeLessThanOrEqual(2)
  })

  it('a failing origin (500s) is backed off with growing delays, then used again', async () => {
    const data = randomData(4 * BLOCK)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', 2 * BLOCK, {
      server: { failNext: { count: 2, status: 500 } },
    })
    const warnings: BitcdnError[] = []
    const conn = open(server, meta, pool, {}, warnings)

    const first = await fetchAll(conn, blocksOf(meta))
    expect(first.rejected.length).toBe(4)
    expect(warnings[0]?.code).toBe('BITCDN_ERR_WEBSEED_HTTP_STATUS')
    expect(warnings[0]?.details.status).toBe(500)
    expect(pool.state(server.origin).failures).toBe(1)
    expect(conn.maxOutstanding).toBe(0)
    // requests while backing off are turned away without touching the origin
    const during = await fetchAll(conn, blocksOf(meta, [0]))
    expect(during.rejected.length).toBe(2)
    expect(server.requests.length).toBe(1)

    await once(conn, 'unchoke')
    expect(conn.maxOutstanding).toBeGreaterThan(0)
    const second = await fetchAll(conn, blocksOf(meta))
    expect(second.rejected.length).toBe(4)
    expect(pool.state(server.origin).failures).toBe(2)

    await once(conn, 'unchoke')
    const third = await fetchAll(conn, blocksOf(meta))
    expect(third.rejected).toEqual([])
    expect(assemble(meta, third.blocks).equals(data)).toBe(true)
    // the success is recorded once the response has ended, just after its last block
    await new Promise((r) => setImmediate(r))
    expect(pool.state(server.origin).failures).toBe(0)
    expect(conn.peerChoking).toBe(false)
  })

  it('backoff doubles per failure and is capped', () => {
    let now = 0
    const pool = createOriginPool({ initialBackoffMs: 1000, maxBackoffMs: 60_000 }, { clock: { now: () => now } })
    cleanups.push(() => pool.destroy())
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      now += 1
      delays.push(pool.reportFailure('http://o', now))
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000])
    // a request that started before the last failure is part of the same outage
    expect(pool.reportFailure('http://o', 0)).toBe(60_000)
    expect(pool.state('http://o').failures).toBe(8)
    pool.reportSuccess('http://o')
    expect(pool.backoffRemainingMs('http://o')).toBe(0)
  })

  it('respects the per-origin connection limit across web-seed connections', async () => {
    const data = randomData(32 * BLOCK)
    const pool = createOriginPool({ maxConnectionsPerOrigin: 2 })
    const { server, meta } = await setup([{ path: 'f', data }], 'f', BLOCK, { server: { delayMs: 20 }, pool })
    const a = open(server, meta, pool)
    const b = open(server, meta, pool)
    // every other piece: 8 separate ranges per connection, 16 in all
    const even = blocksOf(meta, [0, 2, 4, 6, 8, 10, 12, 14])
    const odd = blocksOf(meta, [17, 19, 21, 23, 25, 27, 29, 31])
    const [ra, rb] = await Promise.all([fetchAll(a, even), fetchAll(b, odd)])
    expect(ra.rejected).toEqual([])
    expect(rb.rejected).toEqual([])
    expect(server.requests.length).toBe(16)
    expect(server.maxInFlight).toBe(2)
    expect(pool.state(server.origin)).toMatchObject({ active: 0, waiting: 0, limit: 2 })
  })

  it('rejects a 206 with the wrong Content-Range', async () => {
    const { server, pool, meta } = await setup([{ path: 'f', data: randomData(4 * BLOCK) }], 'f', BLOCK, { server: { shiftRange: 1 } })
    const warnings: BitcdnError[] = []
    const conn = open(server, meta, pool, {}, warnings)
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta, [1]))
    expect(blocks.size).toBe(0)
    expect(rejected).toEqual([{ index: 1, begin: 0, length: BLOCK }])
    expect(warnings.map((w) => w.code)).toEqual(['BITCDN_ERR_WEBSEED_BAD_RESPONSE'])
  })

  it('uses a 200 from an origin without range support when the bytes are near the start, else refuses', async () => {
    const data = randomData(8 * BLOCK)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', BLOCK, { server: { noRanges: true } })
    const warnings: BitcdnError[] = []
    const conn = open(server, meta, pool, { maxSkipBytes: 4 * BLOCK }, warnings)
    const near = await fetchAll(conn, blocksOf(meta, [2]))
    expect(near.blocks.get('2:0')?.equals(data.subarray(2 * BLOCK, 3 * BLOCK))).toBe(true)
    const far = await fetchAll(conn, blocksOf(meta, [6]))
    expect(far.rejected.length).toBe(1)
    expect(warnings.map((w) => w.code)).toEqual(['BITCDN_ERR_WEBSEED_RANGES_UNSUPPORTED'])
  })

  it('a connection reset mid-body delivers the complete blocks and rejects the rest', async () => {
    const data = randomData(8 * BLOCK)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', 2 * BLOCK, { server: { resetAfterBytes: 3 * BLOCK + 100 } })
    const warnings: BitcdnError[] = []
    const conn = open(server, meta, pool, {}, warnings)
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta))
    expect([...blocks.keys()].sort()).toEqual(['0:0', '0:16384', '1:0'])
    for (const [k, v] of blocks) {
      const [i, b] = k.split(':').map(Number) as [number, number]
      expect(v.equals(data.subarray(i * 2 * BLOCK + b, i * 2 * BLOCK + b + BLOCK))).toBe(true)
    }
    expect(rejected.length).toBe(5)
    expect(warnings[0]?.code).toMatch(/BITCDN_ERR_WEBSEED_(UNREACHABLE|BAD_RESPONSE)/)
    expect(conn.downloaded).toBe(3 * BLOCK)
  })

  it('a missing file (404) is a warning with the status, and an unreachable origin is too', async () => {
    const { server, pool, meta } = await setup([{ path: 'f', data: randomData(BLOCK) }], 'f', BLOCK)
    const warnings: BitcdnError[] = []
    const conn = createWebSeedConnection({ url: `${server.origin}/nope/`, metainfo: meta }, { originPool: pool, onWarning: (e) => warnings.push(e) })
    cleanups.push(() => conn.destroy())
    expect((await fetchAll(conn, blocksOf(meta))).rejected.length).toBe(1)
    expect(warnings[0]).toMatchObject({ code: 'BITCDN_ERR_WEBSEED_HTTP_STATUS', details: { status: 404 } })

    await server.close()
    const dead = createWebSeedConnection({ url: server.url, metainfo: meta }, { originPool: createOriginPool(), onWarning: (e) => warnings.push(e) })
    cleanups.push(() => dead.destroy())
    expect((await fetchAll(dead, blocksOf(meta))).rejected.length).toBe(1)
    expect(warnings[1]?.code).toBe('BITCDN_ERR_WEBSEED_UNREACHABLE')
  })

  it('cancelled requests are never fetched, and destroy emits close once', async () => {
    const { server, pool, meta } = await setup([{ path: 'f', data: randomData(4 * BLOCK) }], 'f', BLOCK)
    const conn = open(server, meta, pool)
    for (const r of blocksOf(meta)) conn.request(r)
    expect(conn.outstanding).toBe(4)
    for (const r of blocksOf(meta)) conn.cancel(r)
    expect(conn.outstanding).toBe(0)
    await new Promise((r) => setImmediate(r))
    expect(server.requests).toEqual([])
    let closes = 0
    conn.on('close', () => closes++)
    conn.destroy()
    conn.destroy()
    expect(closes).toBe(1)
    expect(conn.maxOutstanding).toBe(0)
  })

  it('rejects an invalid block request and refuses non-http URLs', async () => {
    const { server, pool, meta } = await setup([{ path: 'f', data: randomData(BLOCK) }], 'f', BLOCK)
    const conn = open(server, meta, pool)
    const r = fetchAll(conn, [{ index: 5, begin: 0, length: BLOCK }])
    expect((await r).rejected).toEqual([{ index: 5, begin: 0, length: BLOCK }])
    expect(() => createWebSeedConnection({ url: 'ftp://x/f', metainfo: meta })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_WEBSEED_URL_INVALID' }))
  })

  it('follows redirects to the file', async () => {
    const data = randomData(3 * BLOCK)
    const { server, pool, meta } = await setup([{ path: 'f', data }], 'f', BLOCK, { server: { redirectMoved: true } })
    const conn = createWebSeedConnection({ url: `${server.origin}/moved/f`, metainfo: meta }, { originPool: pool })
    cleanups.push(() => conn.destroy())
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta))
    expect(rejected).toEqual([])
    expect(assemble(meta, blocks).equals(data)).toBe(true)
    expect(server.requests.map((r) => r.path)).toEqual(['/moved/f', '/f'])
  })

  it('an origin that accepts the connection but never answers times out into a warning', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((sock) => sockets.add(sock))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => {
      for (const sock of sockets) sock.destroy()
      silent.close(() => r())
    }))
    const meta = buildMetainfo('f', [{ path: 'f', data: randomData(BLOCK) }], BLOCK)
    const pool = createOriginPool()
    cleanups.push(() => pool.destroy())
    const warnings: BitcdnError[] = []
    const conn = createWebSeedConnection(
      { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/f`, metainfo: meta, idleTimeoutMs: 100 },
      { originPool: pool, onWarning: (e) => warnings.push(e) },
    )
    cleanups.push(() => conn.destroy())
    expect((await fetchAll(conn, blocksOf(meta))).rejected.length).toBe(1)
    expect(warnings[0]?.code).toBe('BITCDN_ERR_WEBSEED_UNREACHABLE')
    expect(warnings[0]?.details.backoffMs).toBeGreaterThan(0)
  })

  it('never asks the origin for BEP 47 padding files: their bytes are zeros', async () => {
    const files: FixtureFile[] = [
      { path: 'p/a', data: randomData(10_000) },
      { path: 'p/.pad/6384', data: Buffer.alloc(6384), padding: true },
      { path: 'p/b', data: randomData(20_000) },
    ]
    const { server, pool, meta } = await setup(files, 'p', BLOCK)
    const conn = open(server, meta, pool)
    const { blocks, rejected } = await fetchAll(conn, blocksOf(meta))
    expect(rejected).toEqual([])
    expect(assemble(meta, blocks).equals(Buffer.concat(files.map((f) => f.data)))).toBe(true)
    expect(server.requests.map((r) => r.path).sort()).toEqual(['/p/a', '/p/b'])
  })

  it("honours an overloaded origin's Retry-After beyond the normal backoff", async () => {
    const { server, pool, meta } = await setup([{ path: 'f', data: randomData(BLOCK) }], 'f', BLOCK, {
      server: { failNext: { count: 1, status: 503, retryAfter: '30' } },
    })
    const warnings: BitcdnError[] = []
    const conn = open(server, meta, pool, {}, warnings)
    expect((await fetchAll(conn, blocksOf(meta))).rejected.length).toBe(1)
    expect(warnings[0]?.details).toMatchObject({ status: 503, retryAfterMs: 30_000 })
    // the pool's own backoff here is 20 ms; the origin asked for 30 s
    expect(pool.state(server.origin).backoffRemainingMs).toBeGreaterThan(20_000)
    expect(conn.maxOutstanding).toBe(0)
  })
})
