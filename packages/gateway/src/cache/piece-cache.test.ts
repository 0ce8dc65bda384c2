import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openPieceCache } from './piece-cache.js'

const IH = 'ab'.repeat(20)
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})
async function dir() {
  const d = await mkdtemp(join(tmpdir(), 'bitcdn-cache-'))
  dirs.push(d)
  return d
}

describe('piece cache', () => {
  it('evicts the least recently used pieces beyond its size limit and says which', async () => {
    const evicted: number[] = []
    const cache = openPieceCache({ dir: await dir(), maxBytes: 3000 }, { onEvict: (_ih, i) => evicted.push(i) })
    for (let i = 0; i < 3; i++) await cache.put(IH, i, Buffer.alloc(1000, i))
    expect((await cache.get(IH, 0, 1000))?.[0]).toBe(0) // 0 is now the most recent
    await cache.put(IH, 3, Buffer.alloc(1000, 3))
    expect(evicted).toEqual([1])
    expect(cache.bytes).toBe(3000)
    expect(await cache.get(IH, 1, 1000)).toBeUndefined()
    expect(cache.pieces(IH).sort()).toEqual([0, 2, 3])
    await cache.close()
  })

  it('keeps pieces, their order and torrents across a reopen', async () => {
    const d = await dir()
    const a = openPieceCache({ dir: d, maxBytes: 2000 })
    await a.put(IH, 0, Buffer.alloc(1000, 7))
    await a.put(IH, 1, Buffer.alloc(1000, 8))
    await a.get(IH, 0, 1000)
    a.saveTorrent(IH, Buffer.from('torrent'))
    await a.close()
    const b = openPieceCache({ dir: d, maxBytes: 2000 })
    expect(b.bytes).toBe(2000)
    expect(b.torrents()).toEqual([{ infoHash: IH, torrent: Buffer.from('torrent') }])
    await b.put(IH, 2, Buffer.alloc(1000, 9))
    // 1 was the least recently used before the restart
    expect(b.pieces(IH).sort()).toEqual([0, 2])
    await b.close()
  })

  it('close waits for a store in flight: a piece handed to a waiting response before its file was written is kept across a restart', async () => {
    const d = await dir()
    const a = openPieceCache({ dir: d })
    const handed: Buffer[] = []
    a.whenPut(IH, 0, (b) => handed.push(b))
    const putting = a.put(IH, 0, Buffer.alloc(4000, 5))
    // the response has its bytes at once; the gateway stops right after answering it
    expect(handed.length).toBe(1)
    await a.close()
    await putting
    await expect(a.put(IH, 1, Buffer.alloc(10))).rejects.toMatchObject({ code: 'BITCDN_ERR_GATEWAY_CACHE' })
    const b = openPieceCache({ dir: d })
    expect(b.pieces(IH)).toEqual([0])
    expect((await b.get(IH, 0, 4000))?.equals(Buffer.alloc(4000, 5))).toBe(true)
    await b.close()
  })

  it('drops a piece whose file was torn (wrong size) instead of serving it', async () => {
    const d = await dir()
    // no memory tier: the file is what is read (a verified copy in memory would still be served)
    const cache = openPieceCache({ dir: d, memoryBytes: 0 })
    await cache.put(IH, 5, Buffer.alloc(1000, 1))
    await writeFile(join(d, 'pieces', IH, '5'), Buffer.alloc(10))
    expect(await cache.get(IH, 5, 1000)).toBeUndefined()
    expect(cache.pieces(IH)).toEqual([])
    expect(cache.bytes).toBe(0)
    await cache.close()
  })

  it('serves recently used pieces from memory, and reads a piece evicted from memory from its file', async () => {
    const d = await dir()
    const cache = openPieceCache({ dir: d, memoryBytes: 2000 })
    for (let i = 0; i < 3; i++) await cache.put(IH, i, Buffer.alloc(1000, i + 1))
    // piece 0 left the memory tier (2000 bytes hold two): its file is read
    await writeFile(join(d, 'pieces', IH, '2'), Buffer.alloc(1000, 0xee))
    expect((await cache.get(IH, 2, 1000))!.equals(Buffer.alloc(1000, 3))).toBe(true)
    expect((await cache.get(IH, 0, 1000))!.equals(Buffer.alloc(1000, 1))).toBe(true)
    await cache.close()
  })

  it('after a restart, keeps pieces read back in memory while the tier has room, and never evicts for them', async () => {
    const d = await dir()
    const a = openPieceCache({ dir: d })
    for (let i = 0; i < 3; i++) await a.put(IH, i, Buffer.alloc(1000, i + 1))
    await a.close()
    // a fresh process: nothing in memory; room for two pieces
    const b = openPieceCache({ dir: d, memoryBytes: 2000 })
    const first = await b.get(IH, 0, 1000)
    b.release(first!) // a response done with it: it must not go back to the pool (memory holds it)
    await b.get(IH, 1, 1000)
    // now served from memory: the same bytes even once the file changed behind the cache's back
    await writeFile(join(d, 'pieces', IH, '0'), Buffer.alloc(1000, 0xee))
    const again = await b.get(IH, 0, 1000)
    expect(again).toBe(first)
    expect(again!.equals(Buffer.alloc(1000, 1))).toBe(true)
    // the tier is full: piece 2 is read from its file each time (a pooled copy per read), and
    // pieces 0 and 1 stay in memory
    const r1 = await b.get(IH, 2, 1000)
    expect(r1!.equals(Buffer.alloc(1000, 3))).toBe(true)
    b.release(r1!)
    await writeFile(join(d, 'pieces', IH, '2'), Buffer.alloc(1000, 0xdd))
    const r2 = await b.get(IH, 2, 1000)
    expect(r2!.equals(Buffer.alloc(1000, 0xdd))).toBe(true)
    expect(await b.get(IH, 0, 1000)).toBe(first)
    await b.close()
  })

  it('hands a piece to its watchers as its store begins, before the file exists, and serves it while it is written', async () => {
    const d = await dir()
    const cache = openPieceCache({ dir: d, memoryBytes: 0 })
    const seen: Array<{ bytes: number; fileExists: boolean }> = []
    const { existsSync } = await import('node:fs')
    const off = cache.whenPut(IH, 3, (data) => seen.push({ bytes: data.length, fileExists: existsSync(join(d, 'pieces', IH, '3')) }))
    const source = Buffer.alloc(1000, 5)
    const storing = cache.put(IH, 3, source)
    // the caller may reuse its buffer: the watcher and readers hold the cache's copy
    source.fill(0)
    expect(seen).toEqual([{ bytes: 1000, fileExists: false }])
    expect((await cache.get(IH, 3, 1000))!.equals(Buffer.alloc(1000, 5))).toBe(true)
    await storing
    off()
    await cache.put(IH, 3, Buffer.alloc(1000, 6))
    expect(seen).toHaveLength(1)
    expect((await cache.get(IH, 3, 1000))!.equals(Buffer.alloc(1000, 6))).toBe(true)
    await cache.close()
  })

  it('keeps a buffer handed over (owned) without a copy: watchers and readers get that buffer', async () => {
    const d = await dir()
    const cache = openPieceCache({ dir: d, memoryBytes: 4000 })
    const given = Buffer.alloc(1000, 7)
    let watched: Buffer | undefined
    const off = cache.whenPut(IH, 4, (data) => (watched = data))
    const storing = cache.put(IH, 4, given, { owned: true })
    expect(watched).toBe(given)
    expect(await cache.get(IH, 4, 1000)).toBe(given)
    await storing
    off()
    // from the memory tier, and the file holds the same bytes
    expect(await cache.get(IH, 4, 1000)).toBe(given)
    const { readFile } = await import('node:fs/promises')
    expect((await readFile(join(d, 'pieces', IH, '4'))).equals(Buffer.alloc(1000, 7))).toBe(true)
    await cache.close()
  })
})
