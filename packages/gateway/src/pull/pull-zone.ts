/**
 * The pull zone: `GET /any/path` maps to the origin's `/any/path`. A first request is proxied from
 * the origin while the body is written to a temporary file; once complete, the object is hashed
 * into a torrent whose web seed is its origin URL, announced, and its pieces warm the cache. Later
 * requests are served from the cache and the swarm (the origin only as per-piece fallback) for as
 * long as the origin's caching rules (RFC 9111) say the copy is fresh; a stale copy is revalidated
 * (If-None-Match / If-Modified-Since): a 304 keeps the torrent, a 200 is a changed object and
 * becomes a new torrent. What the origin marks uncacheable is passed through and never enters
 * the swarm; methods other than GET and HEAD are forwarded unchanged.
 *
 * The zone asks the origin for `identity` encoding only: a torrent's bytes must be the bytes a
 * web-seed range request gets.
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, unlink } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import type { ContentRegistry } from '../content-registry.js'
import type { PieceCache } from '../cache/piece-cache.js'
import { gatewayError } from '../errors.js'
import { serveRepresentation, type ServeComponents } from '../serve/representation.js'
import { freshnessLifetimeS, isStorable, mustRevalidate, parseCacheControl, varyNames } from './cache-policy.js'
import { openObjectIndex, variantKey, type StoredObject } from './object-index.js'
import { endToEnd, originRequest } from './origin-request.js'

export interface PullZoneInit {
  /** The origin, e.g. `https://www.example.com` (a path prefix is kept). */
  origin: string
  /** Temporary files of objects being hashed. */
  tmpDir: string
  /** Objects larger than this are passed through, never hashed, bytes. @default 4 GiB */
  maxObjectBytes?: number
  /** Put a new object's pieces into the piece cache at once. @default true */
  warmCache?: boolean
  /** Trackers the new torrents announce to. */
  announce?: string[]
}

export interface PullZoneComponents extends ServeComponents {
  content: ContentRegistry
  cache: PieceCache
  /** A new torrent was made from an origin object (ask nodes to pin it here). */
  onPublish?: (metainfo: Metainfo, url: string) => void
}

const KEPT_HEADERS = ['content-type', 'etag', 'last-modified', 'cache-control', 'vary', 'content-disposition', 'content-language', 'expires']

function keep(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of KEPT_HEADERS) {
    const v = headers[k]
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** A torrent name for an object URL: its last path segment, made safe, or `object`. */
function objectName(url: string): string {
  const path = url.split('?')[0]!
  const last = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1))
  const safe = last.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '')
  return safe === '' ? 'object' : safe.slice(0, 200)
}

/**
 * @example
 * await app.register((a) => pullZoneRoutes(a, { origin: 'http://origin', tmpDir }, deps))
 */
export async function pullZoneRoutes(app: FastifyInstance, init: PullZoneInit, c: PullZoneComponents): Promise<void> {
  const base = new URL(init.origin)
  const agent = base.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true })
  app.addHook('onClose', async () => agent.destroy())
  const objects = openObjectIndex(c.cache.db)
  const maxObjectBytes = init.maxObjectBytes ?? 4 * 2 ** 30
  const hashing = new Set<string>()
  await mkdir(init.tmpDir, { recursive: true })
  const originUrl = (path: string) => new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base.href : `${base.href}/`).href

  // bodies of forwarded requests go to the origin as they came: no parsing
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload))

  const passThrough = (res: http.IncomingMessage, reply: FastifyReply, method: string) => {
    reply.code(res.statusCode ?? 502).headers(endToEnd(res.headers))
    res.on('data', (chunk: Buffer) => c.metrics.countProxied(chunk.length))
    if (method === 'HEAD') {
      res.resume()
      return reply.send()
    }
    return reply.send(res)
  }

  async function publish(file: string, url: string, key: string, vary: string[], headers: http.IncomingHttpHeaders): Promise<void> {
    try {
      const m = await createTorrent(file, { name: objectName(url), urlList: [originUrl(url)], announce: init.announce })
      if (init.warmCache !== false) {
        const fh = await open(file, 'r')
        try {
          for (let i = 0; i < m.pieceCount; i++) {
            const size = Math.min(m.pieceLength, m.length - i * m.pieceLength)
            const buf = Buffer.allocUnsafe(size)
            await fh.read(buf, 0, size, i * m.pieceLength)
            await c.cache.put(m.infoHash, i, buf)
          }
        } finally {
          await fh.close()
        }
      }
      await c.content.add(m.torrentFile, { origins: [originUrl(url)] })
      objects.put({ url, key, infoHash: m.infoHash, headers: keep(headers), validatedAt: Date.now(), lifetimeS: freshnessLifetimeS(headers, Date.now()) }, vary)
      c.logger.info({ url, infoHash: m.infoHash, bytes: m.length }, 'pull zone: object published as a torrent')
      c.onPublish?.(m, url)
    } catch (err) {
      c.metrics.errors.inc({ kind: 'publish' })
      c.logger.warn({ url, err: (err as Error).message }, 'pull zone: could not publish object')
    } finally {
      await unlink(file).catch(() => {})
      hashing.delete(key)
    }
  }

  /** A full origin response to a GET: served to the client, and hashed when storable. */
  function fromOrigin(req: FastifyRequest, reply: FastifyReply, res: http.IncomingMessage, key: string) {
    const vary = varyNames(res.headers)
    const length = Number(res.headers['content-length'] ?? NaN)
    const storable =
      isStorable('GET', req.headers, res.statusCode ?? 0, res.headers) &&
      !(length > maxObjectBytes) &&
      !hashing.has(key) &&
      res.headers['content-encoding'] === undefined
    if (!storable) return passThrough(res, reply, req.method)
    hashing.add(key)
    const vkey = variantKey(req.url, vary, req.headers)
    const file = join(init.tmpDir, `${randomBytes(8).toString('hex')}.part`)
    const toClient = new PassThrough()
    let bytes = 0
    let tooBig = false
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      c.metrics.countProxied(chunk.length)
      if (bytes > maxObjectBytes) tooBig = true
    })
    const toFile = createWriteStream(file)
    res.pipe(toClient)
    pipeline(res, toFile).then(
      () => {
        if (tooBig || !res.complete || (Number.isFinite(length) && bytes !== length)) {
          hashing.delete(key)
          return unlink(file).catch(() => {})
        }
        return publish(file, req.url, vkey, vary, res.headers)
      },
      () => {
        hashing.delete(key)
        return unlink(file).catch(() => {})
      },
    )
    reply.code(200).headers(endToEnd(res.headers))
    return reply.send(toClient)
  }

  async function hashInBackground(req: FastifyRequest, key: string): Promise<void> {
    try {
      const res = await originRequest(base, agent, { method: 'GET', path: req.url, headers: originHeaders(req) })
      const length = Number(res.headers['content-length'] ?? NaN)
      if (!isStorable('GET', req.headers, res.statusCode ?? 0, res.headers) || length > maxObjectBytes || hashing.has(key) || res.headers['content-encoding'] !== undefined) {
        res.resume()
        return
      }
      hashing.add(key)
      const vary = varyNames(res.headers)
      const file = join(init.tmpDir, `${randomBytes(8).toString('hex')}.part`)
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        c.metrics.countProxied(chunk.length)
        if (bytes > maxObjectBytes) res.destroy()
      })
      try {
        await pipeline(res, createWriteStream(file))
      } catch {
        hashing.delete(key)
        await unlink(file).catch(() => {})
        return
      }
      if (Number.isFinite(length) && bytes !== length) {
        hashing.delete(key)
        await unlink(file).catch(() => {})
        return
      }
      await publish(file, req.url, variantKey(req.url, vary, req.headers), vary, res.headers)
    } catch (err) {
      c.logger.warn({ url: req.url, err: (err as Error).message }, 'pull zone: background fetch failed')
    }
  }

  function serveObject(req: FastifyRequest, reply: FastifyReply, obj: StoredObject) {
    const entry = c.content.get(obj.infoHash)!
    const etag = obj.headers['etag'] !== undefined && !obj.headers['etag'].startsWith('W/') ? obj.headers['etag'] : `"${obj.infoHash}"`
    const lm = obj.headers['last-modified'] !== undefined ? Date.parse(obj.headers['last-modified']) : NaN
    const headers: Record<string, string> = { age: String(Math.max(0, Math.floor((Date.now() - obj.validatedAt) / 1000))), 'x-bitcdn-infohash': obj.infoHash }
    for (const k of ['vary', 'content-disposition', 'content-language']) if (obj.headers[k] !== undefined) headers[k] = obj.headers[k]!
    return serveRepresentation(
      req,
      reply,
      {
        entry,
        offset: 0,
        length: entry.metainfo.length,
        etag,
        lastModifiedMs: Number.isNaN(lm) ? undefined : lm,
        contentType: obj.headers['content-type'] ?? 'application/octet-stream',
        cacheControl: obj.headers['cache-control'] ?? `public, max-age=${obj.lifetimeS}`,
        headers,
      },
      c,
      'pull',
    )
  }

  const originHeaders = (req: FastifyRequest, extra: Record<string, string> = {}) =>
    ({ ...endToEnd(req.headers, ['host', 'range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'accept-encoding']), 'accept-encoding': 'identity', ...extra })

  const originError = (err: unknown) => {
    c.metrics.errors.inc({ kind: 'origin' })
    return gatewayError('originFailed', `the origin ${base.host} failed: ${(err as Error).message}`, { origin: base.host }, err)
  }

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/*',
    schema: { summary: 'Pull zone: the origin\'s object at this path, served from the swarm and cache while fresh', hide: false },
    handler: async (req, reply) => {
      const path = req.url.split('?')[0]!
      let decoded: string
      try {
        decoded = decodeURIComponent(path)
      } catch {
        throw gatewayError('badPath', `path ${JSON.stringify(path.slice(0, 200))} is not valid percent-encoding`)
      }
      if (decoded.split('/').some((s) => s === '..' || s === '.') || decoded.includes('\0') || decoded.includes('\\')) {
        throw gatewayError('badPath', `path ${JSON.stringify(path.slice(0, 200))} has a "." or ".." segment`, { path: path.slice(0, 200) })
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        // forwarded unchanged (body included), never cached
        const res = await originRequest(base, agent, { method: req.method, path: req.url, headers: endToEnd(req.headers, ['host']), body: (req.body as Readable | undefined) ?? req.raw }).catch((e) => {
          throw originError(e)
        })
        return passThrough(res, reply, req.method)
      }
      const vary = objects.varyOf(req.url) ?? []
      const key = variantKey(req.url, vary, req.headers)
      const obj = objects.get(key)
      const reqCC = parseCacheControl(req.headers['cache-control'])
      if (obj !== undefined && c.content.get(obj.infoHash) !== undefined) {
        const age = (Date.now() - obj.validatedAt) / 1000
        if (age < obj.lifetimeS && !reqCC.has('no-cache')) return serveObject(req, reply, obj)
        const cond: Record<string, string> = {}
        if (obj.headers['etag'] !== undefined) cond['if-none-match'] = obj.headers['etag']
        if (obj.headers['last-modified'] !== undefined) cond['if-modified-since'] = obj.headers['last-modified']
        let res: http.IncomingMessage
        try {
          res = await originRequest(base, agent, { method: 'GET', path: req.url, headers: originHeaders(req, cond) })
        } catch (err) {
          // the origin is unreachable: a stale copy beats an error, unless the origin forbade it
          if (!mustRevalidate(obj.headers)) {
            c.logger.warn({ url: req.url, err: (err as Error).message }, 'pull zone: origin down, serving stale')
            return serveObject(req, reply, obj)
          }
          throw originError(err)
        }
        if (res.statusCode === 304) {
          res.resume()
          const merged = { ...obj.headers, ...keep(res.headers) }
          objects.revalidated(key, Date.now(), merged, freshnessLifetimeS({ ...obj.headers, ...res.headers }, Date.now()))
          return serveObject(req, reply, objects.get(key)!)
        }
        if ((res.statusCode ?? 500) >= 500 && !mustRevalidate(obj.headers)) {
          res.resume()
          return serveObject(req, reply, obj)
        }
        if (res.statusCode === 200) objects.remove(key)
        // a changed object: fresh from the origin, and a new torrent once hashed
        return fromOrigin(req, reply, res, key)
      }
      if (req.method === 'HEAD' || req.headers.range !== undefined) {
        // a miss asked for part of an object (or none of it): pass it through, and fetch the
        // whole object alongside so the next request finds it published
        if (req.method === 'GET' && !hashing.has(key)) void hashInBackground(req, key)
        const res = await originRequest(base, agent, { method: req.method, path: req.url, headers: { ...endToEnd(req.headers, ['host', 'accept-encoding']), 'accept-encoding': 'identity' } }).catch((e) => {
          throw originError(e)
        })
        return passThrough(res, reply, req.method)
      }
      const res = await originRequest(base, agent, { method: 'GET', path: req.url, headers: originHeaders(req) }).catch((e) => {
        throw originError(e)
      })
      return fromOrigin(req, reply, res, key)
    },
  })
}
