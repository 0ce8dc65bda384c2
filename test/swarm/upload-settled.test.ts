/**
 * The `uploadSettled` seam over real TCP: every request the upload gate let through is reported
 * exactly once — sent when the block went to the socket, dropped when the peer cancelled it while
 * it was being read, or closed. A paid seller charges on `sent`, so blocks granted and then
 * dropped never become debt (review F5). The seeder's store answers slowly, so cancels and the
 * close land while reads are in flight; a raw hostile peer sends the exact requests and cancels.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { PieceStore } from '@bitcdn/content'
import { createSwarmClient, type BlockRef, type SwarmClient } from '@bitcdn/swarm'
import { blockMessage, frame, HostilePeer } from './hostile-peer.js'
import { filledStore, makeTorrent, testData } from './swarm-helpers.js'

const BLOCK = 16 * 1024
let seeder: SwarmClient | undefined
afterEach(async () => {
  await seeder?.stop()
  seeder = undefined
})

/** `store`, with every read taking `ms` longer. */
function slow(store: PieceStore, ms: number): PieceStore {
  return new Proxy(store, {
    get(target, prop, recv) {
      if (prop !== 'get') return Reflect.get(target, prop, recv)
      return async (...args: Parameters<PieceStore['get']>) => {
        await new Promise((r) => setTimeout(r, ms))
        return target.get(...args)
      }
    },
  })
}

describe('uploadSettled', () => {
  it('attack: requests cancelled or abandoned while being read are reported dropped, never sent (no phantom charge)', async () => {
    const data = testData(4 * 1024 * 1024, 'settled')
    const m = await makeTorrent(data, { pieceLength: 256 * 1024 })
    let granted = 0
    const sent: BlockRef[] = []
    const dropped: BlockRef[] = []
    seeder = createSwarmClient(
      {},
      {
        uploadGate: () => {
          granted++
          return true
        },
        uploadSettled: (_conn, ref, _infoHash, ok) => (ok ? sent : dropped).push(ref),
      },
    )
    await seeder.start()
    await seeder.add(m, { store: slow(await filledStore(m, data), 300) })
    const p = new HostilePeer(seeder.port)
    await p.open(m.infoHash)
    p.write(frame(2)) // interested
    await p.until(() => p.got(1), 'an unchoke')

    // 16 requests from piece 1 (its first read is slow), then 8 of them cancelled at once
    for (let b = 0; b < 16; b++) p.write(blockMessage(6, 1, b * BLOCK, BLOCK))
    for (let b = 8; b < 16; b++) p.write(blockMessage(8, 1, b * BLOCK, BLOCK))
    await p.until(() => sent.length + dropped.length === 16, 'all 16 settled')
    expect(granted).toBe(16)
    await p.until(() => p.pieceBytes === sent.length * BLOCK, 'the sent blocks')
    expect(dropped.length).toBeGreaterThan(0)
    // the cancelled ones are the dropped ones; what was sent is what the peer received
    for (const r of dropped) expect(r.begin / BLOCK).toBeGreaterThanOrEqual(8)
    expect(sent.length + dropped.length).toBe(16)

    // 8 more from another piece, and the peer leaves before they are read: all dropped
    const before = { sent: sent.length, dropped: dropped.length }
    for (let b = 0; b < 8; b++) p.write(blockMessage(6, 2, b * BLOCK, BLOCK))
    await new Promise((r) => setTimeout(r, 50))
    p.destroy()
    await new Promise((r) => setTimeout(r, 800))
    expect(granted).toBe(24)
    expect(sent.length - before.sent + dropped.length - before.dropped).toBe(8)
    expect(sent.length).toBe(before.sent) // nothing of piece 2 reached a closed socket as "sent"
  })
})
