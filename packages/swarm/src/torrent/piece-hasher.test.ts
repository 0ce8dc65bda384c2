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

  it('hashes shared piece buffers on the worker to the same SHA-1 as inline', async () => {
    const h = make()
    const pieces = [WORKER_MIN_BYTES, 1024 * 1024, 1024 * 1024 + 7].map((n) => randomFillSync(allocPieceBuffer(n)))
    expect(pieces.every((p) => p.buffer instanceof SharedArrayBuffer)).toBe(true)
    const pending = pieces.map((p) => h.sha1(p))
    expect(h.pending).toBe(3) // all three went to the worker
    const digests = await Promise.all(pending)
    digests.forEach((d, i) => expect(d.equals(sha1(pieces[i]!))).toBe(true))
    expect(h.pending).toBe(0)
  })

  it('hashes a view at an offset into shared memory (only its own bytes)', async () => {
    const h = make()
    const whole = randomFillSync(Buffer.from(new SharedArrayBuffer(3 * WORKER_MIN_BYTES)))
    const view = whole.subarray(WORKER_MIN_BYTES, 2 * WORKER_MIN_BYTES + 5)
    expect((await h.sha1(view)).equals(sha1(view))).toBe(true)
  })

  it('hashes small and unshared buffers inline, without the worker', async () => {
    const h = make()
    const small = randomFillSync(allocPieceBuffer(16 * 1024))
    const unshared = randomFillSync(Buffer.allocUnsafe(WORKER_MIN_BYTES * 2))
    const a = h.sha1(small)
    const b = h.sha1(unshared)
    expect(h.pending).toBe(0)
    expect((await a).equals(sha1(small))).toBe(true)
    expect((await b).equals(sha1(unshared))).toBe(true)
  })

  it('finishes pending hashes inline when closed mid-flight (a corrupt byte still fails)', async () => {
    const h = make()
    const piece = randomFillSync(allocPieceBuffer(4 * WORKER_MIN_BYTES))
    const good = sha1(piece)
    piece[10]! ^= 1
    const p = h.sha1(piece)
    await h.close()
    expect((await p).equals(good)).toBe(false)
    expect((await p).equals(sha1(piece))).toBe(true)
  })
})
