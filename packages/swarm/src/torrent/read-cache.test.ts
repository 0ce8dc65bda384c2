import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '@bitcdn/content'
import { ReadCache } from './read-cache.js'

const PIECE = 64 * 1024

async function setup(pieces: number) {
  const store = createMemoryStore({ pieceLength: PIECE, pieceCount: pieces, length: pieces * PIECE })
  for (let i = 0; i < pieces; i++) await store.put(i, Buffer.alloc(PIECE, i + 1))
  // room for two chunks: the third read evicts the oldest
  return new ReadCache(store, () => PIECE, 2 * PIECE)
}

describe('ReadCache', () => {
  it('serves blocks from the right piece and offset', async () => {
    const cache = await setup(3)
    const b = await cache.read(2, 16384, 16384)
    expect(b.data.length).toBe(16384)
    expect(b.data.every((x) => x === 3)).toBe(true)
    b.release()
  })

  it('reuses an evicted chunk buffer once its blocks are released (no allocation per chunk)', async () => {
    const cache = await setup(4)
    const first = await cache.read(0, 0, 16384)
    first.release()
    ;(await cache.read(1, 0, 16384)).release()
    ;(await cache.read(2, 0, 16384)).release() // evicts piece 0; its buffer goes back to the pool
    const fourth = await cache.read(3, 0, 16384) // evicts piece 1, reads into piece 0's old buffer
    expect(fourth.data.buffer).toBe(first.data.buffer)
    expect(fourth.data.every((x) => x === 4)).toBe(true)
  })

  it('never refills a buffer a pending write still points into', async () => {
    const cache = await setup(5)
    const held = await cache.read(0, 0, 16384) // not released: a write is still in flight
    ;(await cache.read(1, 0, 16384)).release()
    ;(await cache.read(2, 0, 16384)).release() // evicts piece 0 while pinned
    ;(await cache.read(3, 0, 16384)).release()
    ;(await cache.read(4, 0, 16384)).release()
    expect(held.data.every((x) => x === 1)).toBe(true)
    held.release()
    held.release() // a second release is harmless
  })
})

describe('ReadCache zero-copy bound', () => {
  it('lets blocks of cached chunks be held as views, and stops once evicted pinned chunks reach the bound', async () => {
    const pieces = 6
    const store = createMemoryStore({ pieceLength: PIECE, pieceCount: pieces, length: pieces * PIECE })
    for (let i = 0; i < pieces; i++) await store.put(i, Buffer.alloc(PIECE, i + 1))
    // two chunks cached, at most one evicted chunk pinned before blocks must be copied
    const cache = new ReadCache(store, () => PIECE, 2 * PIECE, PIECE, PIECE)
    const a = await cache.read(0, 0, 16384)
    expect(a.mayHold).toBe(true)
    ;(await cache.read(1, 0, 16384)).release()
    ;(await cache.read(2, 0, 16384)).release() // evicts piece 0, still pinned by `a`
    expect(cache.pinnedEvictedBytes).toBe(PIECE)
    const b = await cache.read(3, 0, 16384) // a peer that never reads: the bound is reached
    expect(b.mayHold).toBe(false)
    b.release()
    a.release()
    expect(cache.pinnedEvictedBytes).toBe(0)
    const c = await cache.read(4, 0, 16384)
    expect(c.mayHold).toBe(true)
    expect(c.data.every((x) => x === 5)).toBe(true)
    c.release()
  })
})
