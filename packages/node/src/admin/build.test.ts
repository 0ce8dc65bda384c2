/**
 * The admin API over a real node (real swarm on loopback, real SQLite in a temp dir, no chain),
 * driven with fastify's inject(): no port.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import type { FastifyInstance } from 'fastify'
import { createNode, type BitcdnNode } from '../node.js'
import { nodePaths } from '../paths.js'
import { parseConfig } from '../config/load.js'
import { renderConfigTemplate } from '../config/template.js'
import { build } from './build.js'

const home = mkdtempSync(join(tmpdir(), 'bitcdn-admin-'))
const token = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${token}` }
let node: BitcdnNode
let app: FastifyInstance
let metainfo: Metainfo
const content = join(home, 'content')

beforeAll(async () => {
  const paths = nodePaths(home)
  mkdirSync(paths.dir, { recursive: true })
  const config = parseConfig(renderConfigTemplate({ dataDir: join(home, 'data'), listenHost: '127.0.0.1', listenPort: 0, storageQuota: '1MiB' }), paths.config)
  mkdirSync(content)
  writeFileSync(join(content, 'site.bin'), Buffer.alloc(200_000, 7))
  metainfo = await createTorrent(join(content, 'site.bin'))
  node = createNode({ config, paths })()
  await node.start()
  app = await build({ node, token })
})
afterAll(async () => {
  await app?.close()
  await node?.stop()
  rmSync(home, { recursive: true, force: true })
})

describe('admin API', () => {
  it('refuses a request without the token, or with a wrong one', async () => {
    const none = await app.inject({ method: 'GET', url: '/status' })
    expect(none.statusCode).toBe(401)
    expect(none.json().code).toBe('BITCDN_ERR_ADMIN_UNAUTHORIZED')
    const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope-nope-nope-nope' } })
    expect(wrong.statusCode).toBe(401)
    const pin = await app.inject({ method: 'POST', url: '/pins', payload: { magnet: metainfo.infoHash } })
    expect(pin.statusCode).toBe(401)
  })

  it('pins a .torrent seeded in place, lists it, unpins and deletes it', async () => {
    const pin = await app.inject({ method: 'POST', url: '/pins', headers: auth, payload: { torrent: metainfo.torrentFile.toString('base64'), dir: content, free: true } })
    expect(pin.statusCode).toBe(201)
    expect(pin.json()).toMatchObject({ infoHash: metainfo.infoHash, name: 'site.bin', pinned: true, free: true, inPlace: true, bytes: 200_000 })
    const status = (await app.inject({ method: 'GET', url: '/status', headers: auth })).json()
    expect(status.torrents).toHaveLength(1)
    expect(status.torrents[0]).toMatchObject({ infoHash: metainfo.infoHash, progress: 1, done: true })
    expect(status.storage.usedBytes).toBe(0) // in place: not the node's bytes
    expect(status.pricePerGiBUnits).toBe('500000')

    const unpin = await app.inject({ method: 'DELETE', url: `/pins/${metainfo.infoHash}`, headers: auth })
    expect(unpin.statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/status', headers: auth })).json().torrents[0].pinned).toBe(false)
    const del = await app.inject({ method: 'DELETE', url: `/pins/${metainfo.infoHash}?delete=true`, headers: auth })
    expect(del.statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/status', headers: auth })).json().torrents).toEqual([])
  })

  it('refuses content over the storage quota with BITCDN_ERR_NODE_QUOTA (507)', async () => {
    writeFileSync(join(content, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 1))
    const big = await createTorrent(join(content, 'big.bin'))
    const r = await app.inject({ method: 'POST', url: '/pins', headers: auth, payload: { torrent: big.torrentFile.toString('base64') } })
    expect(r.statusCode).toBe(507)
    expect(r.json().code).toBe('BITCDN_ERR_NODE_QUOTA')
  })

  it('evicts the least valuable cached content (and its data folder) to fit a pin; pinned content stays', async () => {
    const make = async (name: string) => {
      writeFileSync(join(content, name), Buffer.alloc(400_000, name.charCodeAt(0)))
      return createTorrent(join(content, name))
    }
    const [a, b, c] = [await make('a.bin'), await make('b.bin'), await make('c.bin')]
    const post = (m: Metainfo, cache: boolean) =>
      app.inject({ method: 'POST', url: '/pins', headers: auth, payload: { torrent: m.torrentFile.toString('base64'), cache } })
    // cached, to be fetched into data_dir (no peer has it here: it only takes room)
    expect((await post(a, true)).statusCode).toBe(201)
    expect((await post(b, true)).statusCode).toBe(201)
    const dirA = join(home, 'data', a.infoHash)
    expect(existsSync(dirA)).toBe(true)
    // 3 × 400 kB > 1 MiB: the oldest-served, least-earning cached torrent makes room
    expect((await post(c, false)).statusCode).toBe(201)
    const s = (await app.inject({ method: 'GET', url: '/status', headers: auth })).json() as { torrents: { infoHash: string; pinned: boolean }[]; storage: { usedBytes: number } }
    const held = s.torrents.map((t) => t.infoHash)
    expect(held).toContain(c.infoHash)
    expect(held.filter((h) => h === a.infoHash || h === b.infoHash)).toHaveLength(1)
    expect(s.storage.usedBytes).toBeLessThanOrEqual(1024 * 1024)
    const evicted = held.includes(a.infoHash) ? b : a
    expect(existsSync(join(home, 'data', evicted.infoHash))).toBe(false)
    // a second pin that fits only by evicting pinned content is refused
    const d = await make('d.bin')
    const e = await make('e.bin')
    expect((await post(d, false)).statusCode).toBe(201) // evicts the other cached one
    expect((await post(e, false)).statusCode).toBe(507)
    for (const m of [c, d]) await app.inject({ method: 'DELETE', url: `/pins/${m.infoHash}?delete=true`, headers: auth })
  })

  it('answers bad input with a coded 4xx, never a crash', async () => {
    const both = await app.inject({ method: 'POST', url: '/pins', headers: auth, payload: { magnet: 'x', url: 'http://x' } })
    expect(both.statusCode).toBe(400)
    expect(both.json().code).toBe('BITCDN_ERR_ADMIN_BAD_REQUEST')
    const garbage = await app.inject({ method: 'POST', url: '/pins', headers: auth, payload: { torrent: Buffer.from('not bencode').toString('base64') } })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.json().code).toBe('BITCDN_ERR_TORRENT_INVALID')
    const unknown = await app.inject({ method: 'DELETE', url: `/pins/${'ab'.repeat(20)}`, headers: auth })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().code).toBe('BITCDN_ERR_PIN_UNKNOWN')
    const earnings = await app.inject({ method: 'GET', url: '/earnings', headers: auth })
    expect(earnings.statusCode).toBe(409)
    expect(earnings.json().code).toBe('BITCDN_ERR_NODE_NO_CHAIN')
  })

  it('serves Prometheus metrics and an OpenAPI 3.1 document', async () => {
    const m = await app.inject({ method: 'GET', url: '/metrics', headers: auth })
    expect(m.statusCode).toBe(200)
    expect(m.headers['content-type']).toContain('text/plain')
    for (const name of ['bitcdn_bytes_served_total', 'bitcdn_cheques_accepted_total', 'bitcdn_cheques_refused_total', 'bitcdn_earnings_accrued_units', 'bitcdn_earnings_claimed_units', 'bitcdn_peers', 'bitcdn_pieces', 'bitcdn_errors_total']) {
      expect(m.body).toContain(name)
    }
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(doc.statusCode).toBe(200)
    const spec = doc.json()
    expect(spec.openapi).toBe('3.1.0')
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/status', '/pins', '/pins/{infoHash}', '/earnings', '/cashout', '/cheques', '/metrics']))
  })
})
