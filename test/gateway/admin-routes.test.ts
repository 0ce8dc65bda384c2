/**
 * `POST /admin/torrents` over real parts: a gateway listening on loopback (with signed URLs on,
 * so the admin route's own token is what guards it), a seeder over TCP, real HTTP requests.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createGateway, signUrl, type Gateway } from '@bitcdn/gateway'
import { addr, harness, testData } from '../swarm/swarm-helpers.js'
import { request } from './helpers.js'

const h = harness()
const TOKEN = 'admin-token-0123456789abcdef'
const SIGNING = 'signing-key-for-this-test'
let gw: Gateway
let a: Metainfo
let b: Metainfo
const dataA = testData(300_001, 'a')
const dataB = testData(70_000, 'b')

beforeAll(async () => {
  const src = await h.tempDir()
  await writeFile(join(src, 'a.bin'), dataA)
  await writeFile(join(src, 'b.bin'), dataB)
  a = await createTorrent(join(src, 'a.bin'), { pieceLength: 64 * 1024 })
  b = await createTorrent(join(src, 'b.bin'), { pieceLength: 32 * 1024 })
  const seeder = await h.client()
  await seeder.add(a, { dir: src })
  await seeder.add(b, { dir: src })
  gw = createGateway({ cacheDir: await h.tempDir(), port: 0, adminToken: TOKEN, signingKey: SIGNING, swarm: { stateDir: await h.stateDir() }, defaults: { peers: [addr(seeder)] } })()
  await gw.start()
})

afterAll(async () => {
  await gw?.stop()
  await h.cleanup()
})

// a Buffer is sent as its bytes (fetch's BodyInit types want a plain Uint8Array)
const post = (body: BodyInit | Buffer, headers: Record<string, string>) => fetch(`${gw.url}/admin/torrents`, { method: 'POST', body: Buffer.isBuffer(body) ? new Uint8Array(body) : body, headers })

describe('POST /admin/torrents', () => {
  it('unauthenticated admin call: no token or a wrong token gets 401 and adds nothing', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const r = await post(a.torrentFile, { 'content-type': 'application/x-bittorrent', ...(auth ? { authorization: auth } : {}) })
      expect(r.status, auth).toBe(401)
      expect(((await r.json()) as { code: string }).code).toBe('BITCDN_ERR_GATEWAY_UNAUTHORIZED')
    }
    expect(gw.content.get(a.infoHash)).toBeUndefined()
  })

  it('refuses a body that is not a .torrent with 400 BITCDN_ERR_GATEWAY_BAD_TORRENT', async () => {
    const raw = await post(Buffer.from('d4:infoi1ee'), { 'content-type': 'application/x-bittorrent', authorization: `Bearer ${TOKEN}` })
    expect(raw.status).toBe(400)
    expect(((await raw.json()) as { code: string }).code).toBe('BITCDN_ERR_GATEWAY_BAD_TORRENT')
    const json = await post(JSON.stringify({ torrent: Buffer.from('not bencode').toString('base64') }), { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` })
    expect(json.status).toBe(400)
    expect(gw.content.entries).toHaveLength(0)
  })

  it('adds a raw .torrent (201, then 200 when known) and the content is served from the swarm', async () => {
    const r = await post(a.torrentFile, { 'content-type': 'application/x-bittorrent', authorization: `Bearer ${TOKEN}` })
    expect(r.status).toBe(201)
    expect(await r.json()).toEqual({ infoHash: a.infoHash, name: 'a.bin', length: dataA.length, url: `/t/${a.infoHash}` })
    const again = await post(a.torrentFile, { 'content-type': 'application/x-bittorrent', authorization: `Bearer ${TOKEN}` })
    expect(again.status).toBe(200)
    // the content routes stay behind signed URLs; the admin token does not open them
    expect((await request(`${gw.url}/t/${a.infoHash}`)).status).toBe(403)
    const signed = await request(`${gw.url}/t/${a.infoHash}?${signUrl(SIGNING, `/t/${a.infoHash}`, Math.floor(Date.now() / 1000) + 60)}`)
    expect(signed.status).toBe(200)
    expect(signed.body.equals(dataA)).toBe(true)
  })

  it('adds a base64 .torrent in JSON', async () => {
    const r = await post(JSON.stringify({ torrent: b.torrentFile.toString('base64') }), { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` })
    expect(r.status).toBe(201)
    expect(gw.content.get(b.infoHash)?.metainfo.length).toBe(dataB.length)
  })

  it('is documented in the OpenAPI document with its bearer scheme', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, { post?: { security?: unknown } }> }
    expect(doc.paths['/admin/torrents']?.post?.security).toEqual([{ bearer: [] }])
  })
})
