/**
 * HTTPS web seeds: a throwaway self-signed certificate for 127.0.0.1/localhost is made with
 * openssl at test time; an `https.createServer` in front of the fixture's range-capable static
 * server serves the files. With the certificate trusted (`ca`) a web-seed-only download completes;
 * without it the origin reports `BITCDN_ERR_WEBSEED_TLS` and is backed off, never hammered.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTorrent } from '@bitcdn/content'
import type { BitcdnError } from '@bitcdn/core'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { createOriginPool, createWebSeedConnection, defaultOriginPool, WebSeedErrorCode, type CaOption, type OriginPool } from '../../packages/swarm/src/webseed/index.js'
import { harness, testData } from './swarm-helpers.js'
import { buildMetainfo, startStaticServer, writeFixture } from './webseed-fixtures.js'

const PIECE = 32 * 1024

interface Tls {
  key: Buffer
  cert: Buffer
  cleanup: () => Promise<void>
}

/** A self-signed EC certificate for 127.0.0.1 and localhost, valid one day. */
async function makeCertificate(): Promise<Tls> {
  const dir = await mkdtemp(join(tmpdir(), 'bitcdn-tls-'))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: 'pipe' },
    )
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: the HTTPS web-seed test needs it to make a certificate (.ci/run must install it)')
    throw new Error(`openssl could not make a test certificate: ${e.stderr?.toString() ?? e.message}`)
  }
  return { key: await readFile(keyFile), cert: await readFile(certFile), cleanup: () => rm(dir, { recursive: true, force: true }) }
}

interface HttpsOrigin {
  url: string
  origin: string
  /** TCP connections accepted (each one a TLS handshake attempt). */
  connections: number
  /** TLS handshakes the client aborted (untrusted certificate). */
  tlsErrors: number
  /** HTTP requests that got through TLS. */
  requests: number
  close(): Promise<void>
}

/**
 * HTTPS in front of the fixture's static server: every request is passed on to it, so its range
 * logic (206, Content-Range, 416) is the one under test.
 */
async function startHttpsOrigin(root: string, tls: Tls): Promise<HttpsOrigin> {
  const inner = await startStaticServer(root)
  const o: HttpsOrigin = { url: '', origin: '', connections: 0, tlsErrors: 0, requests: 0, close: async () => {} }
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    o.requests++
    const up = http.request(`${inner.origin}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
    })
    up.on('error', () => res.destroy())
    res.on('close', () => up.destroy())
    req.pipe(up)
  })
  server.on('connection', () => o.connections++)
  server.on('tlsClientError', () => o.tlsErrors++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  o.origin = `https://127.0.0.1:${port}`
  o.url = `${o.origin}/`
  o.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await inner.close()
  }
  return o
}

describe('HTTPS web seeds', () => {
  const h = harness()
  const cleanups: Array<() => Promise<void> | void> = []
  let tls: Tls
  beforeAll(async () => {
    tls = await makeCertificate()
  })
  afterAll(async () => {
    await tls?.cleanup()
  })
  afterEach(async () => {
    await h.cleanup()
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('with the CA trusted, a web-seed-only download over https completes and counts as web-seed bytes', async () => {
    const a = testData(10 * PIECE + 321, 'tls-a')
    const b = testData(3 * PIECE + 5, 'tls-b')
    const fx = await writeFixture([
      { path: 'site/a.bin', data: a },
      { path: 'site/b.bin', data: b },
    ])
    cleanups.push(fx.cleanup)
    const origin = await startHttpsOrigin(fx.root, tls)
    cleanups.push(() => origin.close())

    const meta = await createTorrent(
      [
        { path: 'a.bin', data: a },
        { path: 'b.bin', data: b },
      ],
      { name: 'site', pieceLength: PIECE, urlList: [origin.url] },
    )
    const client = await h.client({ webSeedCa: tls.cert })
    const dir = await h.tempDir()
    const warnings: BitcdnError[] = []
    const t = await client.add(meta, { dir, resume: false })
    t.on('warning', (w) => warnings.push(w))
    await t.whenDone()

    expect((await readFile(join(dir, 'site', 'a.bin'))).equals(a)).toBe(true)
    expect((await readFile(join(dir, 'site', 'b.bin'))).equals(b)).toBe(true)
    const s = t.stats()
    expect(s.done).toBe(true)
    expect(s.downloadedFromPeers).toBe(0)
    expect(s.downloadedFromWebSeeds).toBe(meta.length)
    expect(warnings.filter((w) => w.code.startsWith('BITCDN_ERR_WEBSEED'))).toEqual([])
    expect(origin.requests).toBeGreaterThan(0)
    expect(origin.tlsErrors).toBe(0)
    // keep-alive: far fewer TLS connections than requests' worth of handshakes
    expect(origin.connections).toBeLessThanOrEqual(4)
  })

  it('without the CA, the origin reports a TLS warning and is backed off, not hammered', async () => {
    const data = testData(6 * PIECE, 'tls-c')
    const fx = await writeFixture([{ path: 'c.bin', data }])
    cleanups.push(fx.cleanup)
    const origin = await startHttpsOrigin(fx.root, tls)
    cleanups.push(() => origin.close())
    const meta = await createTorrent(data, { name: 'c.bin', pieceLength: PIECE, urlList: [origin.url] })

    const client = await h.client()
    const t = await client.add(meta, { dir: await h.tempDir(), resume: false })
    const warnings: BitcdnError[] = []
    t.on('warning', (w) => warnings.push(w))
    await new Promise((r) => setTimeout(r, 2000))

    const tlsWarnings = warnings.filter((w) => w.code === WebSeedErrorCode.tls)
    expect(tlsWarnings.length).toBeGreaterThan(0)
    expect(tlsWarnings[0]?.details.tlsCode).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
    expect(tlsWarnings[0]?.details.backoffMs).toBeGreaterThan(0)
    expect(defaultOriginPool().state(origin.origin).failures).toBeGreaterThan(0)
    // backoff 1 s then 2 s: a handful of handshakes in 2 s, not a hot loop
    expect(origin.connections).toBeGreaterThan(0)
    expect(origin.connections).toBeLessThanOrEqual(8)
    expect(origin.requests).toBe(0)
    expect(t.stats().done).toBe(false)
  })

  it('a pool-level CA (createOriginPool({ ca })) trusts the origin for a bare web-seed connection', async () => {
    const data = testData(2 * PIECE, 'tls-d')
    const fx = await writeFixture([{ path: 'd.bin', data }])
    cleanups.push(fx.cleanup)
    const origin = await startHttpsOrigin(fx.root, tls)
    cleanups.push(() => origin.close())
    const meta = buildMetainfo('d.bin', [{ path: 'd.bin', data }], PIECE)

    const cases: Array<[OriginPool, { ca?: CaOption }]> = [
      [createOriginPool({ ca: tls.cert }), {}],
      [createOriginPool(), { ca: [tls.cert.toString()] }],
    ]
    for (const [pool, init] of cases) {
      cleanups.push(() => pool.destroy())
      const ws = createWebSeedConnection({ url: origin.url, metainfo: meta, ...init }, { originPool: pool })
      const got = await new Promise<Buffer>((resolve, reject) => {
        ws.on('block', (_i, _b, d) => resolve(Buffer.from(d)))
        ws.on('reject', () => reject(new Error('rejected')))
        ws.request({ index: 1, begin: 0, length: 16384 })
      })
      expect(got.equals(data.subarray(PIECE, PIECE + 16384))).toBe(true)
      expect(pool.agent(origin.origin)).toBeInstanceOf(https.Agent)
      ws.destroy()
    }
  })
})
