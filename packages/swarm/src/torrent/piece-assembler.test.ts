import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { PieceAssembler, corruptSources } from './piece-assembler.js'
import { BanList, splitAddress } from './ban-list.js'

describe('PieceAssembler', () => {
  it('assembles blocks at their offsets and remembers each sender', () => {
    const a = new PieceAssembler(4, 8)
    a.add(0, 4, Buffer.from('efgh'), 'p2', 8)
    const piece = a.add(0, 0, Buffer.from('abcd'), 'p1', 8)
    expect(piece.data.toString()).toBe('abcdefgh')
    expect(piece.sources).toEqual(['p1', 'p2'])
    expect(a.take(0)).toBe(piece)
    expect(a.size).toBe(0)
  })

  it('hashes on arrival only the bytes contiguous from the start, out-of-order blocks once the gap fills', () => {
    const a = new PieceAssembler(4, 10)
    a.add(3, 4, Buffer.from('efgh'), 'p1', 10, true)
    const piece = a.add(3, 8, Buffer.from('ij'), 'p1', 10)
    expect(piece.hashed).toBe(0)
    a.add(3, 0, Buffer.from('abcd'), 'p2', 10)
    expect(piece.hashed).toBe(10)
    expect(piece.hash!.digest().equals(createHash('sha1').update('abcdefghij').digest())).toBe(true)
    // not asked for: the worker hashes it
    expect(a.add(4, 0, Buffer.from('abcd'), 'p1', 10).hash).toBeUndefined()
  })

  it('names exactly the senders whose blocks differ from the good version', () => {
    const a = new PieceAssembler(4, 12)
    a.add(0, 0, Buffer.from('abcd'), 'honest', 12)
    a.add(0, 4, Buffer.from('eXgh'), 'liar', 12)
    const failed = a.add(0, 8, Buffer.from('ijkl'), 'honest2', 12)
    expect([...corruptSources(failed, Buffer.from('abcdefghijkl'), 4)]).toEqual(['liar'])
  })
})

describe('BanList', () => {
  it('bans by ip:port on loopback, by ip elsewhere, and always by peer id', () => {
    const bans = new BanList()
    bans.ban({ host: '127.0.0.1', port: 7000, peerId: 'aa' })
    expect(bans.isBanned({ host: '127.0.0.1', port: 7000 })).toBe(true)
    expect(bans.isBanned({ host: '127.0.0.1', port: 7001 })).toBe(false)
    expect(bans.isBanned({ host: '127.0.0.1', port: 7001, peerId: 'aa' })).toBe(true)
    bans.ban({ host: '203.0.113.9', port: 6881 })
    expect(bans.isBanned({ host: '203.0.113.9' })).toBe(true)
  })
  it('parses host:port and rejects junk', () => {
    expect(splitAddress('10.0.0.1:80')).toEqual({ host: '10.0.0.1', port: 80 })
    expect(splitAddress('[::1]:6881')).toEqual({ host: '::1', port: 6881 })
    expect(splitAddress('nope')).toBeUndefined()
    expect(splitAddress('1.2.3.4:70000')).toBeUndefined()
  })
})
