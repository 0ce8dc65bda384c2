// One contract, every store: the memory store and the file store must behave the same.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTorrent } from '../metainfo/create.js'
import type { Metainfo } from '../metainfo/types.js'
import { createFileStore } from './file-store.js'
import { createMemoryStore } from './memory-store.js'
import type { PieceStore } from './types.js'

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed * 13) & 0xff))

// Files of 5000, 0, 30000, 1 and 12000 bytes in 16 KiB pieces: pieces cross every boundary.
const files = [
  { path: 'a.bin', data: bytes(5000, 1) },
  { path: 'empty', data: Buffer.alloc(0) },
  { path: 'd/b.bin', data: bytes(30000, 2) },
  { path: 'd/one', data: bytes(1, 3) },
  { path: 'z.bin', data: bytes(12000, 4) },
]
const whole = Buffer.concat(files.map((f) => f.data))

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

const makers: Array<[string, (m: Metainfo) => Promise<PieceStore>]> = [
  ['memory store', async (m) => createMemoryStore(m)],
  [
    'file store',
    async (m) => {
      const dir = await mkdtemp(join(tmpdir(), 'bitcdn-store-'))
      cleanups.push(() => rm(dir, { recursive: true, force: true }))
      return createFileStore(m, { dir, maxOpenFiles: 2 })
    },
  ],
]

describe.each(makers)('%s', (_, make) => {
  async function setup() {
    const m = await createTorrent(files, { name: 'site', pieceLength: 16384 })
    const store = await make(m)
    cleanups.unshift(() => store.close())
    return { m, store }
  }
  const piece = (m: Metainfo, i: number) => whole.subarray(i * m.pieceLength, Math.min(whole.length, (i + 1) * m.pieceLength))

  it('round-trips pieces put in any order, and reads ranges that cross file boundaries', async () => {
    const { m, store } = await setup()
    expect([store.pieceLength, store.pieceCount, store.length]).toEqual([16384, 3, whole.length])
    for (const i of [2, 0, 1]) await store.put(i, piece(m, i))
    await store.flush()
    for (let i = 0; i < m.pieceCount; i++) expect((await store.get(i, 0, piece(m, i).length)).equals(piece(m, i))).toBe(true)
    // 4990..5010 crosses a.bin → (empty) → d/b.bin
    expect((await store.get(0, 4990, 20)).equals(whole.subarray(4990, 5010))).toBe(true)
    // piece 2 starts inside d/b.bin and runs through d/one into z.bin
    expect((await store.get(2, 2600, 20)).equals(whole.subarray(32768 + 2600, 32768 + 2620))).toBe(true)
    expect((await store.get(1, 0, 0)).length).toBe(0)
  })

  it('reads into a caller buffer when given one (no allocation per read), a view of it with the right bytes', async () => {
    const { m, store } = await setup()
    for (let i = 0; i < m.pieceCount; i++) await store.put(i, piece(m, i))
    const into = Buffer.alloc(m.pieceLength, 0xee)
    const got = await store.get(0, 4990, 20, into)
    expect(got.equals(whole.subarray(4990, 5010))).toBe(true)
    expect(got.buffer === into.buffer && got.byteOffset === into.byteOffset).toBe(true)
    expect(into.subarray(0, 20).equals(whole.subarray(4990, 5010))).toBe(true)
    expect(into[20]).toBe(0xee) // nothing past the range is touched
  })

  it('rejects a piece of the wrong size and ranges outside the torrent', async () => {
    const { m, store } = await setup()
    await expect(store.put(0, piece(m, 0).subarray(1))).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await expect(store.put(3, Buffer.alloc(1))).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await expect(store.get(-1, 0, 1)).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await expect(store.get(2, 0, piece(m, 2).length + 1)).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await expect(store.get(0, 1.5, 1)).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
  })

  it('reports a piece never written as missing', async () => {
    const { m, store } = await setup()
    await store.put(0, piece(m, 0))
    const err = await store.get(2, 0, 10).catch((e: unknown) => e)
    expect(['BITCDN_ERR_PIECE_MISSING', 'BITCDN_ERR_FILE_NOT_FOUND']).toContain((err as { code: string }).code)
  })

  it('refuses use after close', async () => {
    const { m, store } = await setup()
    await store.close()
    await expect(store.put(0, piece(m, 0))).rejects.toMatchObject({ code: 'BITCDN_ERR_STORE_CLOSED' })
    await expect(store.get(0, 0, 1)).rejects.toMatchObject({ code: 'BITCDN_ERR_STORE_CLOSED' })
  })
})
