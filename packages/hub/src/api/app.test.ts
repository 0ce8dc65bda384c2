/**
 * The hub API through fastify's inject(): registration rules (signed, fresh, this network), what a
 * replay or a forged signature gets, stale nodes dropping off, the catalogue, statistics, and the
 * OpenAPI document matching what the routes answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { buildHubApp } from './app.js'
import { openSqliteHubStore } from '../store/sqlite-store.js'
import { signRegistration, STALE_MS, type RegistrationInput } from '../registry/registration.js'
import { signCatalogueEntry } from '../registry/catalogue.js'
import { computeStats } from '../stats/network-stats.js'
import type { HubStore } from '../store/hub-store.js'

const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const TOKEN = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'
let clock = 1_800_000_000_000
const now = () => clock
const reg = (payee: `0x${string}`, over: Partial<RegistrationInput> = {}): RegistrationInput => ({
  payee, endpoint: '127.0.0.1:6881', pricePerGiB: '10000', token: TOKEN, chainId: 31337, escrow: ESCROW, hub: 'test', timestamp: clock, servedBytes: '1000', ...over,
})

let store: HubStore
let app: FastifyInstance
beforeAll(async () => {
  store = openSqliteHubStore(':memory:')
  await store.migrate()
  app = await buildHubApp({ store, hubId: 'test', chainId: 31337, escrow: ESCROW, now, stats: () => computeStats({ store, now }) })
})
afterAll(async () => {
  await app.close()
  await store.close()
})

describe('node registry', () => {
  it('registers a node signed by its payout key (201), refreshes it (200), and lists it', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    const first = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(acct, reg(acct.address)) })
    expect(first.statusCode).toBe(201)
    expect(first.json()).toMatchObject({ payee: acct.address, online: true, pricePerGiB: '10000' })
    clock += 1000
    const again = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(acct, reg(acct.address, { timestamp: clock, pricePerGiB: '9000' })) })
    expect(again.statusCode).toBe(200)
    const list = (await app.inject({ url: '/api/v1/nodes' })).json() as { nodes: { payee: string; pricePerGiB: string }[] }
    expect(list.nodes.find((n) => n.payee === acct.address)?.pricePerGiB).toBe('9000')
  })

  it('refuses a replayed registration with 409 BITCDN_ERR_HUB_REPLAYED and keeps the newer one', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    const old = await signRegistration(acct, reg(acct.address, { timestamp: clock, pricePerGiB: '1' }))
    clock += 10
    const fresh = await signRegistration(acct, reg(acct.address, { timestamp: clock, pricePerGiB: '2' }))
    expect((await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: fresh })).statusCode).toBe(201)
    const replay = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: old })
    expect(replay.statusCode).toBe(409)
    expect(replay.json().code).toBe('BITCDN_ERR_HUB_REPLAYED')
    expect((await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: fresh })).statusCode).toBe(409)
    expect((await app.inject({ url: `/api/v1/nodes/${acct.address}` })).json().pricePerGiB).toBe('2')
  })

  it('refuses a registration signed by another key (401) — no one registers a payee they do not hold', async () => {
    const victim = privateKeyToAccount(generatePrivateKey())
    const attacker = privateKeyToAccount(generatePrivateKey())
    const forged = await signRegistration(attacker, reg(victim.address, { endpoint: '10.6.6.6:6881' }))
    const r = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: forged })
    expect(r.statusCode).toBe(401)
    expect(r.json().code).toBe('BITCDN_ERR_HUB_SIGNATURE_MISMATCH')
    expect((await app.inject({ url: `/api/v1/nodes/${victim.address}` })).statusCode).toBe(404)
  })

  it('refuses a registration whose fields were changed after signing (401)', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    const body = await signRegistration(acct, reg(acct.address))
    const tampered = { ...body, fields: { ...body.fields, pricePerGiB: '1' } }
    expect((await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: tampered })).statusCode).toBe(401)
  })

  it('refuses registrations for another hub, chain or escrow (403) and far-off clocks (409)', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    for (const over of [{ hub: 'other' }, { chainId: 8453 }, { escrow: TOKEN }]) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(acct, reg(acct.address, over)) })
      expect(r.statusCode).toBe(403)
      expect(r.json().code).toBe('BITCDN_ERR_HUB_WRONG_NETWORK')
    }
    const late = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(acct, reg(acct.address, { timestamp: clock - 3_600_000 })) })
    expect(late.statusCode).toBe(409)
  })

  it('answers malformed bodies with 400 BITCDN_ERR_HUB_MESSAGE_INVALID naming the field', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    const body = await signRegistration(acct, reg(acct.address))
    for (const [payload, field] of [
      [{ ...body, fields: { ...body.fields, endpoint: 'nope' } }, 'endpoint'],
      [{ ...body, fields: { ...body.fields, pricePerGiB: '-1' } }, 'pricePerGiB'],
      [{ ...body, fields: { ...body.fields, pinned: Array(257).fill('a'.repeat(40)) } }, 'pinned'],
      [{ ...body, fields: { ...body.fields, extra: 1 } }, 'fields'],
      [{ ...body, signature: '0x12' }, 'signature'],
    ] as const) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload })
      expect(r.statusCode, field).toBe(400)
      expect(r.json().code).toBe('BITCDN_ERR_HUB_MESSAGE_INVALID')
      expect(r.json().message).toMatch(/registration invalid|body/)
    }
    const big = await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: { fields: { x: 'a'.repeat(100_000) }, signature: '0x' } })
    expect(big.statusCode).toBe(413)
  })

  it('drops a node that stops refreshing after STALE_MS from the list (kept as offline by address)', async () => {
    const acct = privateKeyToAccount(generatePrivateKey())
    await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(acct, reg(acct.address)) })
    clock += STALE_MS + 1
    const list = (await app.inject({ url: '/api/v1/nodes' })).json() as { nodes: { payee: string }[] }
    expect(list.nodes.map((n) => n.payee)).not.toContain(acct.address)
    expect((await app.inject({ url: `/api/v1/nodes/${acct.address}` })).json().online).toBe(false)
  })
})

describe('catalogue and statistics', () => {
  it('takes a signed catalogue entry and lists it; refuses a forged publisher', async () => {
    const pub = privateKeyToAccount(generatePrivateKey())
    const entry = await signCatalogueEntry(pub, { publisher: pub.address, infoHash: 'ab'.repeat(20), name: 'Big Buck Bunny', length: '1048576', magnet: `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, hub: 'test', timestamp: clock })
    expect((await app.inject({ method: 'POST', url: '/api/v1/catalogue', payload: entry })).statusCode).toBe(201)
    const other = privateKeyToAccount(generatePrivateKey())
    const forged = await signCatalogueEntry(other, { ...entry.fields, publisher: pub.address, name: 'malware', timestamp: clock + 1 })
    expect((await app.inject({ method: 'POST', url: '/api/v1/catalogue', payload: forged })).statusCode).toBe(401)
    const list = (await app.inject({ url: '/api/v1/catalogue' })).json() as { entries: { name: string }[] }
    expect(list.entries.map((e) => e.name)).toEqual(['Big Buck Bunny'])
  })

  it('statistics count online nodes, sum reported bytes and give the price spread', async () => {
    const a = privateKeyToAccount(generatePrivateKey())
    const b = privateKeyToAccount(generatePrivateKey())
    await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(a, reg(a.address, { pricePerGiB: '5000', servedBytes: '100' })) })
    await app.inject({ method: 'POST', url: '/api/v1/nodes', payload: await signRegistration(b, reg(b.address, { pricePerGiB: '7000', servedBytes: '250' })) })
    const s = (await app.inject({ url: '/api/v1/stats' })).json()
    expect(s).toMatchObject({ nodesOnline: 2, bytesServedReported: '350', bytesServedProven: '0', priceMin: '5000', priceMax: '7000', prices: ['5000', '7000'] })
  })

  it('serves an OpenAPI 3.1 document whose paths and statuses match what the routes answer', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
    expect(doc.openapi).toBe('3.1.0')
    const answered: [string, string, string, number][] = [
      ['post', '/api/v1/nodes', '/api/v1/nodes', 400],
      ['get', '/api/v1/nodes', '/api/v1/nodes', 200],
      ['get', '/api/v1/nodes/{payee}', `/api/v1/nodes/0x${'1'.repeat(40)}`, 404],
      ['get', '/api/v1/stats', '/api/v1/stats', 200],
      ['get', '/api/v1/info', '/api/v1/info', 200],
    ]
    for (const [method, path, url, status] of answered) {
      const r = await app.inject({ method: method.toUpperCase() as 'GET', url, payload: method === 'post' ? {} : undefined })
      expect(r.statusCode, `${method} ${url}`).toBe(status)
      expect(Object.keys(doc.paths[path]?.[method]?.responses ?? {}), `${method} ${path} documents ${status}`).toContain(String(status))
    }
  })
})
