/**
 * The hub's tracker speaks WebSocket (the WebTorrent tracker protocol) on its HTTP port: a plain
 * `ws` client sends the JSON announce a browser's WebTorrent sends, and the swarm counts, the
 * offer relay between peers, the `stopped` on disconnect and the hub's statistics all follow. (The
 * `bittorrent-tracker` client's WebSocket path needs a WebRTC stack, which is not installable here;
 * the wire messages are the same.)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createHub, openSqliteHubStore, type Hub } from '@bitcdn/hub'

/** WebTorrent sends info_hash and peer_id as 20-character binary strings. */
const bin = (b: Buffer) => b.toString('latin1')

interface Msg {
  action?: string
  complete?: number
  incomplete?: number
  interval?: number
  offer?: unknown
  offer_id?: string
  peer_id?: string
  'failure reason'?: string
}

async function connect(url: string): Promise<{ ws: WebSocket; next: () => Promise<Msg> }> {
  const ws = new WebSocket(url)
  const queue: Msg[] = []
  const waiting: Array<(m: Msg) => void> = []
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Msg
    const w = waiting.shift()
    if (w) w(m)
    else queue.push(m)
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const next = () =>
    new Promise<Msg>((resolve, reject) => {
      const m = queue.shift()
      if (m) return resolve(m)
      const t = setTimeout(() => reject(new Error('no WebSocket message within 5 s')), 5000)
      waiting.push((x) => {
        clearTimeout(t)
        resolve(x)
      })
    })
  return { ws, next }
}

describe('the hub tracker over WebSocket', () => {
  let dir: string
  let hub: Hub
  let wsUrl: string
  const infoHash = randomBytes(20)
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitcdn-hub-ws-'))
    hub = await createHub({ hubId: 'test', port: 0, trackerPort: 0, probeIntervalMs: 0, statsIntervalMs: 60_000 }, { store: openSqliteHubStore(join(dir, 'hub.sqlite')) })
    await hub.start()
    wsUrl = hub.trackers.find((t) => t.startsWith('ws://'))!
  })
  afterAll(async () => {
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists a ws:// announce URL on the same port as the HTTP tracker', async () => {
    const httpUrl = hub.trackers.find((t) => t.startsWith('http://'))!
    expect(wsUrl).toBe(httpUrl.replace('http://', 'ws://').replace('/announce', ''))
    const info = (await (await fetch(`${hub.url}/api/v1/info`)).json()) as { trackers: string[] }
    expect(info.trackers).toContain(wsUrl)
  })

  it('counts WebSocket seeders and leechers, relays offers, and drops a peer that disconnects', async () => {
    const seeder = await connect(wsUrl)
    const leecher = await connect(wsUrl)
    const seederId = randomBytes(20)
    seeder.ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: bin(seederId), uploaded: 0, downloaded: 0, left: 0, event: 'started', numwant: 0, offers: [] }))
    const a = await seeder.next()
    expect(a).toMatchObject({ action: 'announce', complete: 1, incomplete: 0 })
    expect(a.interval).toBeGreaterThan(0)

    // the leecher sends one WebRTC offer; the tracker hands it to the seeder
    const offer = { type: 'offer', sdp: 'v=0 test-sdp' }
    leecher.ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: bin(randomBytes(20)), uploaded: 0, downloaded: 0, left: 1000, event: 'started', numwant: 1, offers: [{ offer, offer_id: bin(randomBytes(20)) }] }))
    expect(await leecher.next()).toMatchObject({ action: 'announce', complete: 1, incomplete: 1 })
    const relayed = await seeder.next()
    expect(relayed.offer).toEqual(offer)

    let s = await hub.tick()
    expect(s.trackerTorrents).toBe(1)
    expect(s.trackerPeers).toBe(2)

    // closing the socket is a `stopped` announce for every swarm it joined
    leecher.ws.close()
    for (let i = 0; i < 50 && (await hub.tick()).trackerPeers !== 1; i++) await new Promise((r) => setTimeout(r, 50))
    s = await hub.tick()
    expect(s.trackerPeers).toBe(1)
    seeder.ws.send(JSON.stringify({ action: 'announce', info_hash: bin(infoHash), peer_id: bin(seederId), uploaded: 0, downloaded: 0, left: 0, numwant: 0, offers: [] }))
    expect(await seeder.next()).toMatchObject({ action: 'announce', complete: 1, incomplete: 0 })
    seeder.ws.close()
  })

  it('answers a malformed WebSocket announce with a failure reason and keeps serving', async () => {
    const c = await connect(wsUrl)
    c.ws.send(JSON.stringify({ action: 'announce', info_hash: 'short', peer_id: bin(randomBytes(20)) }))
    expect((await c.next())['failure reason']).toMatch(/info_hash/)
    c.ws.send('not json')
    expect((await c.next())['failure reason']).toBeTruthy()
    c.ws.send(JSON.stringify({ action: 'scrape', info_hash: bin(infoHash) }))
    expect(await c.next()).toMatchObject({ action: 'scrape' })
    c.ws.close()
  })

  it('stops promptly while a WebSocket peer is still connected', async () => {
    const d = await mkdtemp(join(tmpdir(), 'bitcdn-hub-ws2-'))
    const h = await createHub({ hubId: 'test', port: 0, trackerPort: 0, probeIntervalMs: 0 }, { store: openSqliteHubStore(join(d, 'hub.sqlite')) })
    await h.start()
    const c = await connect(h.trackers.find((t) => t.startsWith('ws://'))!)
    const closed = new Promise<void>((r) => c.ws.once('close', () => r()))
    // an open upgraded socket used to hold the tracker's HTTP server (and the process) open
    const stopped = await Promise.race([h.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))])
    expect(stopped).toBe('stopped')
    await closed
    await rm(d, { recursive: true, force: true })
  })
})
