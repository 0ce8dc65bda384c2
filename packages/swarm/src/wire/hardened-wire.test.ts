import { describe, expect, it } from 'vitest'
import { HardenedWire } from './hardened-wire.js'

/** Feed a wire a handshake then raw bytes; return the protocol error it reported, if any. */
function feed(...chunks: Buffer[]): { error: string | undefined; events: string[] } {
  const wire = new HardenedWire()
  let error: string | undefined
  const events: string[] = []
  wire.onProtocolError = (r) => (error = r)
  wire.on('have', (i: number) => events.push(`have:${i}`))
  wire.on('piece', (i: number, b: number, d: Uint8Array) => events.push(`piece:${i}:${b}:${d.length}`))
  const hs = Buffer.concat([Buffer.from('\x13BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
  for (const c of [hs, ...chunks]) wire._write(c, () => {})
  return { error, events }
}

const msg = (id: number, payload: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(5 + payload.length)
  b.writeUInt32BE(1 + payload.length, 0)
  b[4] = id
  payload.copy(b, 5)
  return b
}

describe('HardenedWire', () => {
  it('parses messages split anywhere across reads', () => {
    const piece = msg(7, Buffer.concat([Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]), Buffer.alloc(100, 7)]))
    const have = msg(4, Buffer.from([0, 0, 0, 9]))
    const all = Buffer.concat([have, piece, msg(4, Buffer.from([0, 0, 0, 10]))])
    const r = feed(all.subarray(0, 3), all.subarray(3, 50), all.subarray(50))
    expect(r.error).toBeUndefined()
    expect(r.events).toEqual(['have:9', 'piece:3:0:100', 'have:10'])
  })
  it('reads offsets and lengths as unsigned 32-bit (a set top bit is never negative)', () => {
    const wire = new HardenedWire()
    const got: number[][] = []
    wire.on('request', (i: number, b: number, l: number) => got.push([i, b, l]))
    wire.on('have', (i: number) => got.push([i]))
    const hs = Buffer.concat([Buffer.from('\x13BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
    wire._write(hs, () => {})
    wire.unchoke()
    const req = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x80, 0, 0, 0])
    wire._write(Buffer.concat([msg(6, req), msg(4, Buffer.from([0x80, 0, 0, 1]))]), () => {})
    expect(got).toEqual([[0xffffffff, 0xffffc000, 0x80000000], [0x80000001]])
  })
  it('closes at once on a first byte other than 19 (an encrypted handshake) instead of waiting for more', () => {
    const wire = new HardenedWire()
    let error: string | undefined
    wire.onProtocolError = (r) => (error = r)
    wire._write(Buffer.from([0xa7, 1, 2, 3]), () => {})
    expect(error).toMatch(/byte 167/)
  })
  it('reports a 19-byte protocol name that is not BitTorrent', () => {
    const wire = new HardenedWire()
    let error: string | undefined
    wire.onProtocolError = (r) => (error = r)
    wire._write(Buffer.concat([Buffer.from('\x13BitTorrent protocoX'), Buffer.alloc(48)]), () => {})
    expect(error).toMatch(/does not name/)
  })
  it('attack: a flood of 20,000 allowed-fast messages keeps a bounded set', () => {
    const wire = new HardenedWire()
    const hs = Buffer.concat([Buffer.from('\x13BitTorrent protocol'), Buffer.alloc(7), Buffer.from([4]), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
    wire._write(hs, () => {})
    wire.handshake('01'.repeat(20), '02'.repeat(20), { fast: true })
    const flood: Buffer[] = []
    for (let i = 0; i < 20_000; i++) {
      const p = Buffer.alloc(4)
      p.writeUInt32BE(i)
      flood.push(msg(17, p))
    }
    wire._write(Buffer.concat(flood), () => {})
    expect((wire as unknown as { peerAllowedFastSet: number[] }).peerAllowedFastSet.length).toBeLessThanOrEqual(100)
  })
  it('reports an oversized length prefix instead of buffering it', () => {
    expect(feed(Buffer.from([0x7f, 0xff, 0xff, 0xff])).error).toMatch(/exceeds/)
  })
  it('reports a fixed-size message of the wrong length', () => {
    expect(feed(msg(4, Buffer.from([0, 0]))).error).toMatch(/message id 4/)
    expect(feed(msg(7, Buffer.from([0, 0]))).error).toMatch(/at least 9/)
  })
  it('parses reads from a reused buffer: keeps bitfields and split messages intact after the buffer is refilled', () => {
    const wire = new HardenedWire()
    let error: string | undefined
    wire.onProtocolError = (r) => (error = r)
    const blocks: string[] = []
    // a block listener copies at once, as the assembler does
    wire.on('piece', (i: number, b: number, d: Uint8Array) => blocks.push(`${i}:${b}:${Buffer.from(d).toString('hex')}`))
    const hs = Buffer.concat([Buffer.from('\x13BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
    const block = (i: number, fill: number) => msg(7, Buffer.concat([Buffer.from([0, 0, 0, i, 0, 0, 0, 0]), Buffer.alloc(3000, fill)]))
    const stream = Buffer.concat([hs, msg(5, Buffer.from([0b10100000])), block(1, 0x11), msg(4, Buffer.from([0, 0, 0, 3])), block(2, 0x22), block(3, 0x33)])
    const shared = Buffer.alloc(4096)
    // read sizes that split the handshake, the bitfield and every block
    for (let at = 0, k = 0; at < stream.length; k++) {
      const n = Math.min([7, 1000, 3, 2500, 61][k % 5]!, stream.length - at)
      stream.copy(shared, 0, at, at + n)
      wire.receive(shared.subarray(0, n), true)
      shared.fill(0xff) // the next read overwrites everything
      at += n
    }
    expect(error).toBeUndefined()
    expect(wire.peerId).toBe('02'.repeat(20))
    expect([0, 1, 2, 3].map((i) => wire.peerPieces.get(i))).toEqual([true, false, true, true])
    expect(blocks).toEqual([1, 2, 3].map((i) => `${i}:0:${Buffer.alloc(3000, i * 0x11).toString('hex')}`))
  })
})
