import { createHash, randomFillSync } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { PieceHasher, WORKER_MIN_BYTES, allocPieceBuffer } from './piece-hasher.js'

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest()

describe('PieceHasher', () => {
  const hashers: PieceHasher[] = []
  const make = () => {
    const h = new PieceHasher()
    hashers.push(h)
    return h
  }
  afterEach(async () => {
    for (const h of hashers.splice(0)) await h.close()
  })

  it('hashes pieces on the worker to the inline SHA-1 and hands the same bytes back', async () => {
    const h = make()
    const pieces = [WORKER_MIN_BYTES, 1024 * 1024, 1024 * 1024 + 7].map((n) => randomFillSync(allocPieceBuffer(n)))
    const copies = pieces.map((p) => Buffer.from(p))
    const pending = pieces.map((p) => h.sha1(p))
    expect(h.pending).toBe(3) // all three went to the worker
    expect(pieces.every((p) => p.byteLength === 0)).toBe(true) // moved, not copied: detached here
    const results = await Promise.all(pending)
    results.forEach((r, i) => {
      expect(r.lost).toBeUndefined()
      expect(r.digest!.equals(sha1(copies[i]!))).toBe(true)
      expect(r.data!.equals(copies[i]!)).toBe(true)
    })
    expect(h.pending).toBe(0)
  })

  it('hashes small pieces and views of a larger buffer inline, leaving them usable', async () => {
    const h = make()
    const small = randomFillSync(allocPieceBuffer(16 * 1024))
    const view = randomFillSync(Buffer.alloc(4 * WORKER_MIN_BYTES)).subarray(WORKER_MIN_BYTES, 3 * WORKER_MIN_BYTES)
    const a = h.sha1(small)
    const b = h.sha1(view)
    expect(h.pending).toBe(0)
    expect((await a).digest!.equals(sha1(small))).toBe(true)
    expect((await b).digest!.equals(sha1(view))).toBe(true)
    expect((await b).data).toBe(view)
  })

  it('finds a flipped byte (the digest differs from the good one)', async () => {
    const h = make()
    const piece = randomFillSync(allocPieceBuffer(4 * WORKER_MIN_BYTES))
    const good = sha1(piece)
    piece[10]! ^= 1
    const r = await h.sha1(piece)
    expect(r.digest!.equals(good)).toBe(false)
  })

  it('reports pieces on a worker that stops as lost, and hashes inline-sized ones after', async () => {
    const h = make()
    const p = h.sha1(randomFillSync(allocPieceBuffer(4 * WORKER_MIN_BYTES)))
    await h.close()
    expect((await p).lost).toBe(true)
    const small = randomFillSync(allocPieceBuffer(1024))
    expect((await h.sha1(small)).digest!.equals(sha1(small))).toBe(true)
  })
})
