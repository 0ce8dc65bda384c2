/**
 * The seams the paid protocol plugs into, over real TCP: a BEP 10 extension sees the handshake on
 * incoming and outgoing connections and exchanges real extension messages; a custom ChokePolicy
 * decides the quick unchoke too and `rechoke()` applies it at once; the `piece` event names who
 * delivered each verified piece's bytes; `requestLimit` steers requests between peers; a burst after
 * a pause asks for a whole piece at once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { WireExtensionInstance } from 'bittorrent-protocol'
import { createSwarmClient, rateChokePolicy, type ChokePolicy, type HardenedWire, type PieceSource, type SwarmClient, type SwarmClientComponents } from '@bitcdn/swarm'
import { createMemoryStore, type PieceStore } from '@bitcdn/content'
import { filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'
import { frame, HostilePeer } from './hostile-peer.js'

const h = harness()
const extra: SwarmClient[] = []
afterEach(async () => {
  await Promise.all(extra.splice(0).map((c) => c.stop().catch(() => {})))
  await h.cleanup()
})

async function client(components: SwarmClientComponents): Promise<SwarmClient> {
  const c = createSwarmClient({ stateDir: await h.stateDir(), snubTimeoutMs: 3000 }, components)
  await c.start()
  extra.push(c)
  return c
}

/** A ping/pong extension recording what it saw. */
function pingExtension(log: string[], role: string) {
  return (wire: HardenedWire) => {
    class Ping implements WireExtensionInstance {
      onHandshake(infoHash: string): void {
        log.push(`${role}:handshake:${infoHash.slice(0, 8)}`)
      }
      onExtendedHandshake(): void {
        wire.extended('test_ping', Buffer.from(`ping from ${role}`))
      }
      onMessage(buf: Uint8Array): void {
        const text = Buffer.from(buf).toString()
        log.push(`${role}:got:${text}`)
        if (text.startsWith('ping')) wire.extended('test_ping', Buffer.from(`pong from ${role}`))
      }
    }
    ;(Ping.prototype as unknown as { name: string }).name = 'test_ping'
    wire.use(Ping as never)
  }
}

describe('swarm extension seams', () => {
  it('an extension sees the handshake on incoming connections and exchanges messages both ways', async () => {
    const data = testData(256 * 1024)
    const m = await makeTorrent(data)
    const log: string[] = []
    const seeder = await client({ extendWire: pingExtension(log, 'seeder') })
    const leecher = await client({ extendWire: pingExtension(log, 'leecher') })
    await seeder.add(m, { store: await filledStore(m, data) })
    const t = await leecher.add(m, { store: createMemoryStore(m), peers: [`127.0.0.1:${seeder.port}`] })
    await t.whenDone()
    await expect.poll(() => log.length).toBeGreaterThanOrEqual(6)
    const ih = m.infoHash.slice(0, 8)
    // the seeder's connection is incoming: its extension saw the handshake all the same
    expect(log).toContain(`seeder:handshake:${ih}`)
    expect(log).toContain(`leecher:handshake:${ih}`)
    expect(log).toEqual(expect.arrayContaining(['seeder:got:ping from leecher', 'leecher:got:ping from seeder', 'seeder:got:pong from leecher', 'leecher:got:pong from seeder']))
  })

  it('a custom ChokePolicy governs the quick unchoke, and rechoke() applies a changed decision at once', async () => {
    const data = testData(512 * 1024, 'choke')
    const m = await makeTorrent(data)
    let allow = false
    let calls = 0
    let asked = 0
    const policy: ChokePolicy = {
      mayUnchoke() {
        asked++
        return allow
      },
      unchokeSort(peers, opts) {
        calls++
        if (!allow) return { unchoke: new Set(), optimistic: new Map() }
        return rateChokePolicy.unchokeSort(peers, opts)
      },
    }
    const seeder = await client({ chokePolicy: policy })
    const leecher = await h.client()
    const st = await seeder.add(m, { store: await filledStore(m, data) })
    const t = await leecher.add(m, { store: createMemoryStore(m), peers: [`127.0.0.1:${seeder.port}`] })
    await expect.poll(() => asked).toBeGreaterThan(0) // the interested peer was put to the policy
    await new Promise((r) => setTimeout(r, 500))
    expect(t.stats().downloaded).toBe(0) // refused by the policy: no quick unchoke around it
    allow = true
    const before = calls
    st.rechoke()
    expect(calls).toBe(before + 1)
    await t.whenDone()
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
  })

  it('keepsIdle: an unchoked peer that asks nothing keeps its slot only while the policy says so (a paying buyer waiting on its credit)', async () => {
    const data = testData(512 * 1024, 'idle')
    const m = await makeTorrent(data)
    const keep = new Set<string>()
    const policy: ChokePolicy = {
      mayUnchoke: () => true,
      unchokeSort: (peers) => ({ unchoke: new Set(peers.filter((p) => p.interested).map((p) => p.id)), optimistic: new Map() }),
      keepsIdle: (p) => keep.has(p.address ?? p.id),
    }
    const seeder = await client({ chokePolicy: policy })
    await seeder.add(m, { store: await filledStore(m, data) })
    const open = async (): Promise<HostilePeer> => {
      const p = new HostilePeer(seeder.port)
      await p.open(m.infoHash)
      p.write(frame(2)) // interested, then nothing
      await p.until(() => p.got(1), 'an unchoke')
      return p
    }
    const kept = await open()
    keep.add(`127.0.0.1:${kept.socket.localPort}`)
    const idle = await open()
    try {
      // the idle rule chokes a peer that asked nothing 2 s after its unchoke
      await idle.until(() => idle.got(0), 'the idle peer choked', 10_000)
      await new Promise((r) => setTimeout(r, 1500))
      expect(kept.count(0)).toBe(0)
      expect(kept.closed).toBe(false)
    } finally {
      kept.destroy()
      idle.destroy()
    }
  })

  it('the verified and piece events name each connection that delivered bytes of a verified piece, verified before the store', async () => {
    const data = testData(1024 * 1024, 'prov')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const a = await h.client()
    const b = await h.client()
    const leecher = await h.client()
    await a.add(m, { store: await filledStore(m, data) })
    await b.add(m, { store: await filledStore(m, data) })
    const t = await leecher.add(m, { store: createMemoryStore(m), peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] })
    const seen = new Map<number, PieceSource[]>()
    const verified = new Map<number, { sources: PieceSource[]; stored: boolean }>()
    // 'verified' first, before the store has the piece (payers count there), with the same sources
    t.on('verified', (i, sources) => verified.set(i, { sources, stored: t.hasPiece(i) || seen.has(i) }))
    t.on('piece', (i, sources) => seen.set(i, sources))
    await t.whenDone()
    expect(seen.size).toBe(m.pieceCount)
    expect([...verified.keys()].sort((x, y) => x - y)).toEqual([...seen.keys()].sort((x, y) => x - y))
    for (const [i, v] of verified) {
      expect(v.stored).toBe(false)
      expect(v.sources).toEqual(seen.get(i))
    }
    const ids = new Set<string>()
    for (const [i, sources] of seen) {
      const size = i === m.pieceCount - 1 ? m.length - i * m.pieceLength : m.pieceLength
      expect(sources.reduce((s, x) => s + x.bytes, 0)).toBe(size)
      for (const s of sources) ids.add(s.id)
    }
    expect([...ids].every((id) => /^127\.0\.0\.1:\d+$/.test(id))).toBe(true)
    expect(ids.size).toBeGreaterThanOrEqual(1)
  })

  it('requestLimit 0 asks a connection for nothing: every byte comes from the other peer', async () => {
    const data = testData(2 * 1024 * 1024, 'limit')
    const m = await makeTorrent(data)
    const a = await h.client()
    const b = await h.client()
    await a.add(m, { store: await filledStore(m, data) })
    await b.add(m, { store: await filledStore(m, data) })
    const blocked = `127.0.0.1:${b.port}`
    const leecher = await client({ requestLimit: (conn) => (conn.id === blocked ? 0 : undefined) })
    const t = await leecher.add(m, { store: createMemoryStore(m), peers: [`127.0.0.1:${a.port}`, blocked] })
    const from = new Map<string, number>()
    const wires = new Set<string>()
    t.on('wire', (id) => wires.add(id))
    t.on('piece', (_i, sources) => sources.forEach((s) => from.set(s.id, (from.get(s.id) ?? 0) + s.bytes)))
    await t.whenDone()
    expect(wires).toContain(blocked) // connected, unchoked by b, and still asked for nothing
    expect(from.get(blocked) ?? 0).toBe(0)
    expect(from.get(`127.0.0.1:${a.port}`)).toBe(m.length)
  })

  it('a burst after a pause asks for a whole piece at once: the idle time does not shrink the pipeline', async () => {
    const data = testData(2 * 1024 * 1024, 'burst')
    const m = await makeTorrent(data, { pieceLength: 256 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    let conn: { outstanding: number } | undefined
    const leecher = await client({ requestLimit: (c) => ((conn = c), undefined) })
    const t = await leecher.add(m, { store: createMemoryStore(m), peers: [`127.0.0.1:${seeder.port}`], onDemand: true })
    const piece = (i: number) => new Promise<void>((resolve) => t.on('piece', (j) => j === i && resolve()))
    // connected and idle for longer than a rate window, then one piece, then idle again
    await new Promise((r) => setTimeout(r, 600))
    let got = piece(0)
    let release = t.prioritize(new Map([[0, 7]]))
    await got
    release()
    await new Promise((r) => setTimeout(r, 600))
    got = piece(1)
    release = t.prioritize(new Map([[1, 7]]))
    // all 16 blocks of the piece requested at once (the idle windows measured ~0 B/s: 4 at a time)
    expect(conn?.outstanding).toBe(16)
    await got
    release()
  })

  it('a store that keeps the buffers it is given gets each piece in a buffer of its own, never reused', async () => {
    // many small pieces: buffers of stored pieces would be reused for later ones
    const data = testData(4 * 1024 * 1024, 'keeps')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const kept = new Map<number, Buffer>()
    const store: PieceStore = {
      pieceLength: m.pieceLength,
      pieceCount: m.pieceCount,
      length: m.length,
      keepsData: true,
      put: async (i, d) => void kept.set(i, d),
      get: async (i, o, l) => kept.get(i)!.subarray(o, o + l),
      flush: async () => {},
      close: async () => {},
    }
    const leecher = await h.client()
    const t = await leecher.add(m, { store, have: [], peers: [`127.0.0.1:${seeder.port}`] })
    await t.whenDone()
    // had a buffer gone back to the assembler's pool, a later piece would have overwritten it
    for (let i = 0; i < m.pieceCount; i++) expect(kept.get(i)!.equals(data.subarray(i * m.pieceLength, (i + 1) * m.pieceLength))).toBe(true)
    expect(new Set(kept.values()).size).toBe(m.pieceCount)
  })
})
