/**
 * Content-addressed routes: `/t/{infohash}` (a single-file torrent's file, or a multi-file
 * torrent's listing), `/t/{infohash}/{path}` (a file, or a directory's listing as JSON). What the
 * address names never changes, so it is cached for a year and marked immutable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TorrentFile } from '@bitcdn/content'
import type { ContentEntry } from '../content-entry.js'
import type { ContentRegistry } from '../content-registry.js'
import { gatewayError } from '../errors.js'
import { contentTypeFor } from '../http/content-type.js'
import { serveRepresentation, type ServeComponents } from '../serve/representation.js'
import { errorSchema, listingSchema } from './schemas.js'

export const IMMUTABLE = 'public, max-age=31536000, immutable'
const INFOHASH = /^[0-9a-fA-F]{40}$/

export interface ContentRoutesOptions extends ServeComponents {
  content: ContentRegistry
}

/** Segments of a request path inside a torrent; throws on traversal and odd segments. */
export function safePathSegments(path: string): string[] {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path
  if (trimmed === '') return []
  const segs = trimmed.split('/')
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
      throw gatewayError('badPath', `path ${JSON.stringify(path)} has an empty, "." or ".." segment or a backslash`, { path })
    }
  }
  return segs
}

function entryOf(content: ContentRegistry, infohash: string): ContentEntry {
  if (!INFOHASH.test(infohash)) throw gatewayError('badInfoHash', `${JSON.stringify(infohash.slice(0, 64))} is not a 40-character hex info-hash`, { infohash: infohash.slice(0, 64) })
  const entry = content.get(infohash)
  if (entry === undefined) throw gatewayError('notFound', `no content ${infohash.toLowerCase()} on this gateway`, { infoHash: infohash.toLowerCase() })
  return entry
}

/** Files of a multi-file torrent relative to its name (`name/a/b` → `a/b`); padding files hidden. */
function innerFiles(entry: ContentEntry): Array<{ file: TorrentFile; index: number; rel: string }> {
  const m = entry.metainfo
  const single = m.files.length === 1 && m.files[0]!.path === m.name
  return m.files.flatMap((file, index) => (file.padding === true ? [] : [{ file, index, rel: single ? file.path : file.path.slice(m.name.length + 1) }]))
}

function listing(entry: ContentEntry, dir: string, reply: FastifyReply) {
  const prefix = dir === '' ? '' : `${dir}/`
  const files = innerFiles(entry).filter((f) => f.rel.startsWith(prefix))
  if (files.length === 0) throw gatewayError('notFound', `no file or directory ${dir} in ${entry.infoHash}`, { infoHash: entry.infoHash, path: dir })
  reply.header('cache-control', IMMUTABLE).header('etag', `"${entry.infoHash}:dir:${Buffer.from(dir).toString('base64url')}"`)
  return {
    infoHash: entry.infoHash,
    name: entry.metainfo.name,
    path: dir,
    length: entry.metainfo.length,
    files: files.map((f) => ({ path: f.rel, length: f.file.length, url: `/t/${entry.infoHash}/${f.rel.split('/').map(encodeURIComponent).join('/')}` })),
  }
}

function serveFile(req: FastifyRequest, reply: FastifyReply, entry: ContentEntry, f: { file: TorrentFile; index: number }, opts: ContentRoutesOptions) {
  return serveRepresentation(
    req,
    reply,
    {
      entry,
      offset: f.file.offset,
      length: f.file.length,
      // the info-hash names the bytes for ever; the index names the file within them
      etag: `"${entry.infoHash}-${f.index}"`,
      contentType: contentTypeFor(f.file.path),
      cacheControl: IMMUTABLE,
    },
    opts,
    'content',
  )
}

/**
 * @example
 * await app.register(contentRoutes, { content, pieces, budget, metrics, ... })
 */
export async function contentRoutes(app: FastifyInstance, opts: ContentRoutesOptions): Promise<void> {
  const params = { type: 'object', properties: { infohash: { type: 'string', description: 'BitTorrent v1 info-hash, 40 hex characters' } }, required: ['infohash'] } as const
  const responses = {
    200: { description: 'The whole file (or a multi-file torrent\'s listing, JSON)', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'application/json': { schema: listingSchema } } },
    206: { description: 'The requested byte range', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    304: { description: 'Not modified (If-None-Match)', type: 'null' },
    400: errorSchema('Bad info-hash or path'),
    404: errorSchema('Unknown content'),
    412: { description: 'Precondition failed (If-Match, If-Unmodified-Since)', type: 'null' },
    416: { description: 'Range not satisfiable; Content-Range: bytes */length', type: 'null' },
    504: errorSchema('Neither the swarm nor the origin delivered in time'),
  }
  app.get<{ Params: { infohash: string } }>(
    '/torrents/:infohash',
    { schema: { summary: 'The .torrent file of content this gateway serves (for nodes to pin)', params, response: { 200: { description: 'application/x-bittorrent', content: { 'application/x-bittorrent': { schema: { type: 'string', format: 'binary' } } } }, 400: errorSchema('Bad info-hash'), 404: errorSchema('Unknown content') } } },
    async (req, reply) => {
      const entry = entryOf(opts.content, req.params.infohash)
      return reply.header('content-type', 'application/x-bittorrent').header('cache-control', IMMUTABLE).send(entry.metainfo.torrentFile)
    },
  )
  app.route<{ Params: { infohash: string } }>({
    method: ['GET', 'HEAD'],
    url: '/t/:infohash',
    schema: { summary: 'A single-file torrent\'s file, or a multi-file torrent\'s listing', params, response: responses },
    handler: async (req, reply) => {
      const entry = entryOf(opts.content, req.params.infohash)
      const files = innerFiles(entry)
      const m = entry.metainfo
      if (files.length === 1 && m.files[0]!.path === m.name) return serveFile(req, reply, entry, files[0]!, opts)
      return listing(entry, '', reply)
    },
  })
  app.route<{ Params: { infohash: string; '*': string } }>({
    method: ['GET', 'HEAD'],
    url: '/t/:infohash/*',
    schema: {
      summary: 'A file of a torrent by its path, or a directory\'s listing (JSON)',
      params: { type: 'object', properties: { ...params.properties, '*': { type: 'string', description: 'Path inside the torrent' } }, required: ['infohash'] },
      response: responses,
    },
    handler: async (req, reply) => {
      const entry = entryOf(opts.content, req.params.infohash)
      const segs = safePathSegments(req.params['*'] ?? '')
      const rel = segs.join('/')
      const file = innerFiles(entry).find((f) => f.rel === rel)
      if (file !== undefined && !req.params['*'].endsWith('/')) return serveFile(req, reply, entry, file, opts)
      return listing(entry, rel, reply)
    },
  })
}
