/**
 * Per-request timeouts: a peer that unchokes, answers most requests, but holds one block forever
 * (a lost request, a buggy or hostile client) keeps delivering, so it is never snubbed as silent.
 * The held block must move to another peer after its timeout, not wait for endgame.
 */
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import Wire from 'bittorrent-protocol'
import type { Metainfo } from '@bitcdn/content'
import { addr, filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'

const h = harness()
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) s.close()
  await h.cleanup()
})

/** A seeder that answers every request except the first one for a middle block, which it holds forever. */
async function holdingSeeder(m: Metainfo, data: Buffer): Promise<{ addr: string; held: () => number | undefined }> {
  let held: number | undefined
  const server = createServer((socket) => {
    socket.on('error', () => {})
    const wire = new Wire()
    socket.pipe(wire).pipe(socket)
    wire.on('error', () => {})
    wire.on('handshake', () => {
      wire.handshake(m.infoHash, Buffer.from('-XX0001-' + 'h'.repeat(12)), { dht: false, fast: false })
      const bits = new Uint8Array(Math.ceil(m.pieceCount / 8))
      for (let i = 0; i < m.pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7)
      wire.bitfield(bits)
      wire.unchoke()
    })
    wire.on('request', (index: number, begin: number, length: number, respond: (err: Error | null, data?: Buffer) => void) => {
      if (held === undefined && begin === 16 * 1024) {
        held = index
        return // never answered
      }
      const at = index * m.pieceLength + begin
      respond(null, data.subarray(at, at + length))
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const a = server.address()
  return { addr: `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, held: () => held }
}

describe('request timeouts', () => {
  it('moves a block a peer holds forever to another seeder long before endgame', async () => {
    const data = testData(8 * 1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const holder = await holdingSeeder(m, data)
    const good = await h.client()
    await good.add(m, { store: await filledStore(m, data) })
    // silence-based snubbing is far off; only the per-request timeout can free the block early
    const leecher = await h.client({ requestTimeoutMs: 300, snubTimeoutMs: 60_000, downloadRateLimit: 2 * 1024 * 1024 })
    const t = await leecher.add(m, { peers: [holder.addr, addr(good)] })
    const warnings: { code?: string; details?: Record<string, unknown> }[] = []
    t.on('warning', (w) => warnings.push(w))
    let verifiedWhenHeldDone: number | undefined
    t.on('piece', (i) => {
      if (i === holder.held()) verifiedWhenHeldDone = t.stats().verifiedPieces
    })
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
    expect(holder.held()).toBeDefined()
    // endgame would only have rescued it as one of the very last pieces
    expect(verifiedWhenHeldDone).toBeLessThan(m.pieceCount * 0.75)
    expect(warnings.some((w) => w.code === 'BITCDN_ERR_PEER_SNUBBED' && w.details?.reason === 'requestTimeout')).toBe(true)
  })
})
