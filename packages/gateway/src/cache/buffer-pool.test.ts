import { describe, expect, it } from 'vitest'
import { BufferPool } from './buffer-pool.js'

describe('buffer pool', () => {
  it('reuses a released buffer (also when released through a view) and hands each out once', () => {
    const pool = new BufferPool(1 << 20)
    const a = pool.take(1000)
    pool.release(a.subarray(0, 999))
    const b = pool.take(1000)
    expect(b.buffer).toBe(a.buffer)
    // a second release of the same buffer must not put it in the free list twice
    pool.release(b)
    pool.release(b)
    const c = pool.take(1000)
    const d = pool.take(1000)
    expect(c.buffer).toBe(a.buffer)
    expect(d.buffer).not.toBe(a.buffer)
  })

  it('ignores buffers it did not make and keeps at most maxBytes free', () => {
    const pool = new BufferPool(1500)
    const foreign = Buffer.alloc(1000)
    pool.release(foreign)
    expect(pool.take(1000).buffer).not.toBe(foreign.buffer)
    const x = pool.take(1000)
    const y = pool.take(1000)
    pool.release(x)
    pool.release(y) // over the limit: left to the collector
    expect(pool.take(1000).buffer).toBe(x.buffer)
    expect(pool.take(1000).buffer).not.toBe(y.buffer)
  })

  it('never hands out again a buffer it disowned, even when released', () => {
    const pool = new BufferPool(1 << 20)
    const a = pool.take(1000)
    expect(pool.disown(a.subarray(0, 10))).toBe(true)
    pool.release(a)
    expect(pool.take(1000).buffer).not.toBe(a.buffer)
    expect(pool.disown(Buffer.alloc(10))).toBe(false)
  })
})
