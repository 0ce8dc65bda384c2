/**
 * The SDK's clients against real servers (a hub on SQLite, a gateway with an HTTP origin, a node
 * without a chain, all on loopback): what each API answers comes back typed, and each error answer
 * is a BitcdnApiError carrying the server's own BITCDN_ERR_* code and status — signatures forged,
 * replayed or for another hub, a wrong admin token, unknown content, an unsatisfiable range — and
 * a server that is not there is BITCDN_ERR_SDK_UNREACHABLE.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import type { Gateway } from '@bitcdn/gateway'
import type { Hub } from '@bitcdn/hub'
import { signCatalogueEntry } from '@bitcdn/hub/messages'
import { announceToCatalogue, createGatewayClient, createHubClient, createNodeAdminClient, pinOnNodes, BitcdnApiError, type GatewayClient, type HubClient } from '@bitcdn/sdk'
// @ts-expect-error plain JS script of the SDK, no declarations
import { serveApis } from '../../packages/sdk/scripts/serve-apis.js'
import { removeDir, tempDir } from '../interop/helpers/data.js'
import { startOrigin, type Origin } from '../gateway/helpers.js'
import { freePort } from '../node/helpers.js'

const A = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const B = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')

let apis: { urls: Record<string, string>; token: string; servers: { hub: Hub; gateway: Gateway }; stop(): Promise<void> }
let hub: HubClient
let gw: GatewayClient
let origin: Origin
let dir: string
let site: Metainfo
const files: Record<string, Buffer> = { 'index.html': Buffer.from('<h1>hello</h1>'), 'media/a clip #1.bin': Buffer.alloc(100_000, 7) }

/** The rejection of `p`, which must be a BitcdnApiError. */
async function apiFailure(p: Promise<unknown>): Promise<BitcdnApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(BitcdnApiError)
  return err as BitcdnApiError
}
async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(Error)
  return err as Error & { code?: string }
}

beforeAll(async () => {
  apis = await serveApis()
  hub = createHubClient({ url: apis.urls.hub! })
  gw = createGatewayClient({ url: apis.urls.gateway! })
  dir = tempDir('sdk-clients-')
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(dir, 'site', ...path.split('/').slice(0, -1)), { recursive: true })
    writeFileSync(join(dir, 'site', ...path.split('/')), data)
  }
  origin = await startOrigin(dir)
  site = await createTorrent(join(dir, 'site'), { urlList: [`${origin.url}/`], pieceLength: 16_384 })
  await apis.servers.gateway.content.add(site.torrentFile)
}, 120_000)
afterAll(async () => {
  await apis?.stop()
  await origin?.stop()
  removeDir(dir)
})

describe('hub client', () => {
  it('announces a signed entry, lists it, and the live feed counts it', async () => {
    const entry = await announceToCatalogue(hub, A, { infoHash: site.infoHash, name: 'site', length: site.length, magnet: site.magnetURI, description: 'test site' })
    expect(entry).toMatchObject({ publisher: A.address, infoHash: site.infoHash, length: String(site.length), hub: 'sdk' })
    expect((await hub.catalogue()).map((e) => e.infoHash)).toEqual([site.infoHash])
    await apis.servers.hub.tick()
    for await (const s of hub.live()) {
      expect(s.catalogueEntries).toBe(1)
      break
    }
    const series = await hub.series({ metric: 'nodesOnline' })
    expect(series.metric).toBe('nodesOnline')
    expect(series.points.length).toBeGreaterThan(0)
  })

  it('forged signature (B signs an entry naming A): BITCDN_ERR_HUB_SIGNATURE_MISMATCH, 401', async () => {
    const forged = await signCatalogueEntry(B, { publisher: A.address, infoHash: site.infoHash, name: 'forged', length: '1', magnet: site.magnetURI, hub: 'sdk', timestamp: Date.now() })
    const err = await apiFailure(hub.announce(forged))
    expect([err.code, err.status, err.api, err.operation]).toEqual(['BITCDN_ERR_HUB_SIGNATURE_MISMATCH', 401, 'hub', 'POST /api/v1/catalogue'])
  })

  it('replayed catalogue entry: BITCDN_ERR_HUB_REPLAYED, 409', async () => {
    const signed = await signCatalogueEntry(B, { publisher: B.address, infoHash: site.infoHash, name: 'once', length: '1', magnet: site.magnetURI, hub: 'sdk', timestamp: Date.now() })
    await hub.announce(signed)
    const err = await apiFailure(hub.announce(signed))
    expect([err.code, err.status]).toEqual(['BITCDN_ERR_HUB_REPLAYED', 409])
  })

  it('an entry for another hub network: BITCDN_ERR_HUB_WRONG_NETWORK, 403', async () => {
    const other = await signCatalogueEntry(A, { publisher: A.address, infoHash: site.infoHash, name: 'x', length: '1', magnet: site.magnetURI, hub: 'elsewhere', timestamp: Date.now() })
    const err = await apiFailure(hub.announce(other))
    expect([err.code, err.status]).toEqual(['BITCDN_ERR_HUB_WRONG_NETWORK', 403])
  })

  it('an unknown node: BITCDN_ERR_HUB_NODE_UNKNOWN, 404; a hub that is not there: BITCDN_ERR_SDK_UNREACHABLE', async () => {
    const err = await apiFailure(hub.node(B.address))
    expect([err.code, err.status]).toEqual(['BITCDN_ERR_HUB_NODE_UNKNOWN', 404])
    const gone = createHubClient({ url: `http://127.0.0.1:${await freePort()}` })
    expect((await failure(gone.stats())).code).toBe('BITCDN_ERR_SDK_UNREACHABLE')
  })
})

describe('node admin client', () => {
  it('reads the status and pins through the admin API; errors carry the node codes', async () => {
    const node = createNodeAdminClient({ url: apis.urls.nodeAdmin!, token: apis.token })
    const status = await node.status()
    expect(status.torrents).toEqual([])
    const [pinned] = await pinOnNodes([node], { torrent: site.torrentFile })
    expect(pinned).toMatchObject({ ok: true, content: { infoHash: site.infoHash, pinned: true } })
    expect((await node.status()).torrents.map((t) => t.infoHash)).toEqual([site.infoHash])
    await node.unpin(site.infoHash, { delete: true })
    const unknown = await apiFailure(node.unpin(site.infoHash))
    expect([unknown.code, unknown.status]).toEqual(['BITCDN_ERR_PIN_UNKNOWN', 404])
    const badMagnet = await apiFailure(node.pin({ magnet: 'magnet:?xt=urn:btih:nothex' }))
    expect([badMagnet.code, badMagnet.status]).toEqual(['BITCDN_ERR_MAGNET_INVALID', 400])
  })

  it('a wrong admin token: BITCDN_ERR_ADMIN_UNAUTHORIZED, 401', async () => {
    const intruder = createNodeAdminClient({ url: apis.urls.nodeAdmin!, token: 'x'.repeat(43) })
    const err = await apiFailure(intruder.status())
    expect([err.code, err.status, err.api]).toEqual(['BITCDN_ERR_ADMIN_UNAUTHORIZED', 401, 'node-admin'])
  })
})

describe('gateway client', () => {
  it('lists a multi-file torrent and fetches a file whose path has spaces and # by range', async () => {
    const root = await gw.listing(site.infoHash)
    expect(root.files.map((f) => f.path).sort()).toEqual(['index.html', 'media/a clip #1.bin'])
    expect((await gw.listing(site.infoHash, 'media')).files.map((f) => f.path)).toEqual(['media/a clip #1.bin'])
    const r = await gw.get(site.infoHash, { path: 'media/a clip #1.bin', range: { start: 1000, end: 1999 } })
    expect([r.status, r.length, r.totalLength]).toEqual([206, 1000, 100_000])
    expect(Buffer.from(await new Response(r.body).arrayBuffer()).equals(files['media/a clip #1.bin']!.subarray(1000, 2000))).toBe(true)
    expect(Buffer.from(await gw.bytes(site.infoHash, { path: 'index.html' })).toString()).toBe('<h1>hello</h1>')
    expect(Buffer.from(await gw.torrentFile(site.infoHash)).equals(site.torrentFile)).toBe(true)
    // a conditional request with the ETag it gave: 304, no body
    const page = await gw.get(site.infoHash, { path: 'index.html' })
    await page.body?.cancel()
    expect(page.etag).toMatch(/^"[0-9a-f]{40}-\d+"$/)
    const again = await gw.get(site.infoHash, { path: 'index.html', ifNoneMatch: page.etag! })
    expect([again.status, again.body]).toEqual([304, null])
  })

  it('unknown content: BITCDN_ERR_GATEWAY_NOT_FOUND, 404; a range past the end: BITCDN_ERR_SDK_HTTP_STATUS, 416', async () => {
    const missing = await apiFailure(gw.bytes('ab'.repeat(20)))
    expect([missing.code, missing.status]).toEqual(['BITCDN_ERR_GATEWAY_NOT_FOUND', 404])
    const past = await apiFailure(gw.bytes(site.infoHash, { path: 'index.html', range: { start: 10_000 } }))
    expect([past.code, past.status]).toEqual(['BITCDN_ERR_SDK_HTTP_STATUS', 416])
  })

  it('refuses a bad info-hash or range before any request: BITCDN_ERR_SDK_INVALID_ARGUMENT', async () => {
    const before = origin.hits.size
    expect((await failure(gw.bytes('../../etc/passwd'))).code).toBe('BITCDN_ERR_SDK_INVALID_ARGUMENT')
    expect((await failure(gw.bytes(site.infoHash, { range: { start: 5, end: 2 } }))).code).toBe('BITCDN_ERR_SDK_INVALID_ARGUMENT')
    expect(origin.hits.size).toBe(before)
  })
})
