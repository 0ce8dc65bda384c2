/**
 * The hub as operators run it: two hub instances on one real PostgreSQL agree on the registry and
 * the statistics and push them live; the prober meets a real BitCDN seeder over TCP and reports an
 * unreachable node; escrow deposits on a real anvil show up in the statistics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createHub, openPgHubStore, openSqliteHubStore, probeNode, signRegistration, type Hub, type NetworkStats } from '@bitcdn/hub'
import { postgresBin, startPostgres, type ThrowawayPostgres } from '../../bench/lib/postgres.js'
import { registration } from './fixtures.js'
import { filledStore, harness, makeTorrent, testData } from '../swarm/swarm-helpers.js'
import { startPayChain, type PayChain } from '../pay/helpers.js'

const havePg = postgresBin() !== undefined
if (!havePg) console.warn('skipping two hubs on one PostgreSQL: PostgreSQL is not installed (apt-get install postgresql)')

describe.skipIf(!havePg)('two hubs on one PostgreSQL', () => {
  let pgServer: ThrowawayPostgres
  let hubs: Hub[] = []
  beforeAll(async () => {
    pgServer = await startPostgres()
    const url = await pgServer.createDatabase('hubs')
    // both start at once: migrations must not race
    hubs = await Promise.all([0, 1].map(() => createHub({ hubId: 'test', port: 0, trackerPort: 0, probeIntervalMs: 0, statsIntervalMs: 60_000 }, { store: openPgHubStore(url) })))
    await Promise.all(hubs.map((h) => h.start()))
  })
  afterAll(async () => {
    await Promise.all(hubs.map((h) => h.stop()))
    await pgServer?.stop()
  })

  it('a node registered through one hub is listed by the other, and their statistics agree', async () => {
    const [a, b] = hubs as [Hub, Hub]
    const node = privateKeyToAccount(generatePrivateKey())
    const body = await signRegistration(node, registration(node.address, { servedBytes: '4096', pricePerGiB: '25000' }))
    const r = await fetch(`${a.url}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(r.status).toBe(201)
    const listed = (await (await fetch(`${b.url}/api/v1/nodes`)).json()) as { nodes: { payee: string }[] }
    expect(listed.nodes.map((n) => n.payee)).toContain(node.address)
    // the replay through the other instance is refused too: freshness is decided in the database
    const replay = await fetch(`${b.url}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(replay.status).toBe(409)
    const [sa, sb] = await Promise.all([a.tick(), b.tick()])
    const pick = (s: NetworkStats) => ({ nodesOnline: s.nodesOnline, bytesServedReported: s.bytesServedReported, prices: s.prices })
    expect(pick(sa)).toEqual({ nodesOnline: 1, bytesServedReported: '4096', prices: ['25000'] })
    expect(pick(sb)).toEqual(pick(sa))
  })

  it('pushes fresh statistics live over Server-Sent Events', async () => {
    const [a, b] = hubs as [Hub, Hub]
    const res = await fetch(`${b.url}/api/v1/stats/live`)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = res.body!.getReader()
    const events: NetworkStats[] = []
    let text = ''
    const next = async () => {
      for (;;) {
        const m = text.match(/event: stats\ndata: (.*)\n\n/)
        if (m) {
          text = text.slice(m.index! + m[0].length)
          return JSON.parse(m[1]!) as NetworkStats
        }
        const { value } = await reader.read()
        text += new TextDecoder().decode(value)
      }
    }
    events.push(await next())
    const node = privateKeyToAccount(generatePrivateKey())
    const body = await signRegistration(node, registration(node.address, { servedBytes: '1000' }))
    expect((await fetch(`${a.url}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status).toBe(201)
    await b.tick()
    events.push(await next())
    await reader.cancel()
    expect(events[1]!.nodesOnline).toBe(events[0]!.nodesOnline + 1)
    expect(BigInt(events[1]!.bytesServedReported) - BigInt(events[0]!.bytesServedReported)).toBe(1000n)
  })
})

describe('the prober', () => {
  const h = harness()
  afterAll(() => h.cleanup())

  it('finds a real seeder reachable, answering the handshake for its pinned torrent, and says it offers no paid extension', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 256 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const r = await probeNode('0x0000000000000000000000000000000000000001', `127.0.0.1:${seeder.port}`, m.infoHash)
    expect(r).toMatchObject({ reachable: true, handshake: true, paid: false })
    expect(r.detail).toMatch(/not bitcdn_pay/)
    // a torrent it does not have: the handshake fails, and the record says so
    const other = await probeNode('0x0000000000000000000000000000000000000001', `127.0.0.1:${seeder.port}`, 'cd'.repeat(20))
    expect(other.reachable).toBe(true)
    expect(other.handshake).toBe(false)
    expect(other.detail).not.toBe('')
  })

  it('reports an unreachable node in one line', async () => {
    const r = await probeNode('0x0000000000000000000000000000000000000001', '127.0.0.1:1', 'ab'.repeat(20))
    expect(r.reachable).toBe(false)
    expect(r.detail).toMatch(/^connect to 127\.0\.0\.1:1 failed: .*ECONNREFUSED/)
  })
})

describe('statistics from the escrow', () => {
  let chain: PayChain
  let hub: Hub
  beforeAll(async () => {
    chain = await startPayChain()
    const d = chain.deployment
    hub = await createHub(
      { hubId: 'test', port: 0, trackerPort: false, probeIntervalMs: 0, statsIntervalMs: 60_000, chain: { rpcUrl: chain.anvil.rpcUrl, chainId: d.chainId, escrow: d.escrow, fromBlock: BigInt(d.deployedAtBlock) } },
      { store: openSqliteHubStore(':memory:') },
    )
    await hub.start()
  })
  afterAll(async () => {
    await hub?.stop()
    await chain?.anvil.stop()
  })

  it('counts stablecoin deposited into the escrow from its Deposited events', async () => {
    const before = BigInt((await hub.tick()).deposited ?? '-1')
    await chain.deposit(chain.accounts[1]!.privateKey, 12_500_000n)
    await chain.deposit(chain.accounts[2]!.privateKey, 500_000n)
    const after = await hub.tick()
    expect(BigInt(after.deposited!) - before).toBe(13_000_000n)
    expect(after.claimed).toBe('0')
  })
})
