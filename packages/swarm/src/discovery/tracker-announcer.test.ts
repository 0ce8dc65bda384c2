/**
 * A tracker that is down when a torrent starts is asked again with backoff, so a seeder started
 * before its tracker is found once the tracker comes up (a real tracker server on loopback).
 */
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createTrackerServer, type TrackerServer } from '../tracker/index.js'
import { TrackerAnnouncer, type TrackerAnnounceResult } from './tracker-announcer.js'

const INFO_HASH = 'cd'.repeat(20)

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('TrackerAnnouncer', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('retries an unreachable tracker with backoff until it comes up, and is then listed there', async () => {
    const port = await freePort()
    const seeder = new TrackerAnnouncer({
      announceUrl: `http://127.0.0.1:${port}/announce`,
      infoHash: INFO_HASH,
      peerId: Buffer.from('-BC0100-aaaaaaaaaaaa').toString('hex'),
      port: 7001,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
      retryBaseMs: 100,
      retryMaxMs: 400,
    })
    cleanups.push(() => seeder.stop())
    const warnings: string[] = []
    seeder.on('warning', (w) => warnings.push(w.code))
    const announced = new Promise<TrackerAnnounceResult>((r) => seeder.once('announced', r))
    seeder.start()
    // a few failed attempts while the tracker is down
    while (warnings.length < 2) await new Promise((r) => setTimeout(r, 50))
    expect(warnings.every((c) => c === 'BITCDN_ERR_TRACKER_UNREACHABLE')).toBe(true)

    const tracker: TrackerServer = createTrackerServer({ port, udp: false })
    await tracker.start()
    cleanups.push(() => tracker.stop())
    const r = await announced
    expect(r.seeders).toBe(1)

    // a leecher asking the tracker now gets the seeder
    const leecher = new TrackerAnnouncer({
      announceUrl: `http://127.0.0.1:${port}/announce`,
      infoHash: INFO_HASH,
      peerId: Buffer.from('-BC0100-bbbbbbbbbbbb').toString('hex'),
      port: 7002,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
    })
    cleanups.push(() => leecher.stop())
    const peers = new Set<string>()
    leecher.on('peer', (p) => peers.add(p))
    const answered = new Promise<TrackerAnnounceResult>((res) => leecher.once('announced', res))
    leecher.start()
    await answered
    await new Promise((r) => setTimeout(r, 50))
    expect(peers).toContain('127.0.0.1:7001')
  })
})
