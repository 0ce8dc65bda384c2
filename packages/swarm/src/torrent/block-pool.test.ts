import { describe, expect, it } from 'vitest'
import { BlockPool } from './block-pool.js'

describe('BlockPool', () => {
  it('copies a 16 KiB view into a buffer of its own and reuses it once recycled', () => {
    const pool = new BlockPool()
    const chunk = Buffer.alloc(1024 * 1024, 7)
    const a = pool.copy(chunk.subarray(16384, 32768))
    expect(a.buffer).not.toBe(chunk.buffer)
    expect(a.buffer.byteLength).toBe(16384)
    expect(a.every((x) => x === 7)).toBe(true)
    chunk.fill(1) // the copy does not follow the chunk
    expect(a[0]).toBe(7)
    pool.recycle(a)
    expect(pool.spare).toBe(1)
    const b = pool.copy(chunk.subarray(0, 16384))
    expect(b).toBe(a)
    expect(b.every((x) => x === 1)).toBe(true)
  })

  it('keeps no more spare bytes than its bound, and never pools odd sizes or foreign buffers', () => {
    const pool = new BlockPool(2 * 16384)
    const bufs = [0, 1, 2].map(() => pool.copy(Buffer.alloc(16384)))
    for (const b of bufs) pool.recycle(b)
    expect(pool.spare).toBe(2)
    const odd = pool.copy(Buffer.alloc(1000, 3))
    expect(odd.length).toBe(1000)
    const roomy = new BlockPool()
    roomy.recycle(odd)
    roomy.recycle(Buffer.alloc(1024 * 1024).subarray(0, 16384)) // a view of a bigger buffer
    expect(roomy.spare).toBe(0)
  })
})
