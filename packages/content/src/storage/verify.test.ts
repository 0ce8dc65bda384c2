import { describe, expect, it } from 'vitest'
import { createTorrent } from '../metainfo/create.js'
import { createMemoryStore } from './memory-store.js'
import { checkPieces, verifyPiece } from './verify.js'

const data = Buffer.from(Array.from({ length: 40_000 }, (_, i) => i & 0xff))

describe('verifyPiece', () => {
  it('accepts the right bytes and rejects a flipped bit or a wrong length', async () => {
    const m = await createTorrent(data, { name: 'd', pieceLength: 16384 })
    const p2 = Buffer.from(data.subarray(32768))
    expect(verifyPiece(m, 2, p2)).toBe(true)
    expect(verifyPiece(m, 2, Buffer.concat([p2, Buffer.alloc(1)]))).toBe(false)
    p2[0]! ^= 1
    expect(verifyPiece(m, 2, p2)).toBe(false)
    expect(verifyPiece(m, 3, p2)).toBe(false)
  })
})

describe('checkPieces', () => {
  it('finds which pieces a store holds, and stops when aborted', async () => {
    const m = await createTorrent(data, { name: 'd', pieceLength: 16384 })
    const store = createMemoryStore(m)
    await store.put(1, data.subarray(16384, 32768))
    expect(await checkPieces(store, m)).toEqual([false, true, false])
    const ac = new AbortController()
    ac.abort(new Error('cancelled'))
    await expect(checkPieces(store, m, { signal: ac.signal })).rejects.toThrow('cancelled')
  })
})
