/**
 * Admin routes, behind a bearer token (`adminToken`; without one they do not exist):
 * `POST /admin/torrents` adds content by its .torrent — the raw bytes
 * (`Content-Type: application/x-bittorrent`) or JSON `{ torrent: base64, origins?, peers? }` —
 * so an operator (or a CMS) can make a gateway serve a new torrent without a restart. A bare
 * info-hash is not accepted: the gateway serves on demand and needs the piece hashes before the
 * first request, which only the .torrent carries.
 */
import type { FastifyInstance } from 'fastify'
import { hasCode } from '@bitcdn/core'
import { bearerChecker } from '@bitcdn/core/bearer-token'
import { ContentErrorCode, parseTorrentFile } from '@bitcdn/content'
import type { ContentRegistry } from '../content-registry.js'
import { gatewayError } from '../errors.js'
import { errorSchema } from './schemas.js'

/** Largest .torrent accepted (as a node accepts from a URL). */
export const MAX_TORRENT_BYTES = 16 * 1024 * 1024

export interface AdminRoutesOptions {
  content: ContentRegistry
  /** Bearer token, at least 16 characters. */
  token: string
}

const http = { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 2000, pattern: '^https?://' } } as const
const added = {
  type: 'object',
  properties: {
    infoHash: { type: 'string' },
    name: { type: 'string' },
    length: { type: 'integer', description: 'Bytes of the whole torrent' },
    url: { type: 'string', description: 'Where the gateway serves it' },
  },
  required: ['infoHash', 'name', 'length', 'url'],
} as const

/**
 * @example
 * await app.register(adminRoutes, { content, token: process.env.BITCDN_GATEWAY_ADMIN_TOKEN })
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const authorized = bearerChecker(opts.token)
  app.addContentTypeParser('application/x-bittorrent', { parseAs: 'buffer', bodyLimit: MAX_TORRENT_BYTES }, (_req, body, done) => done(null, body))
  app.addHook('onRequest', async (req) => {
    if (!authorized(req.headers.authorization)) throw gatewayError('unauthorized', 'admin routes need Authorization: Bearer <the gateway admin token>')
  })
  app.post<{ Body: Buffer | { torrent: string; origins?: string[]; peers?: string[] } }>(
    '/admin/torrents',
    {
      bodyLimit: MAX_TORRENT_BYTES * 2,
      schema: {
        summary: 'Serve a torrent: its .torrent as raw bytes (application/x-bittorrent) or base64 in JSON',
        security: [{ bearer: [] }],
        body: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { torrent: { type: 'string', maxLength: Math.ceil(MAX_TORRENT_BYTES / 3) * 4, description: 'The .torrent file, base64' }, origins: { ...http, description: 'Web seeds (BEP 19) to hedge to' }, peers: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 300 }, description: 'host:port of peers that have it' } },
                required: ['torrent'],
                additionalProperties: false,
              },
            },
            // no type: a schema of `string` would fail the Buffer the parser hands over
            'application/x-bittorrent': { schema: { description: 'The .torrent file, raw bytes' } },
          },
        },
        response: { 200: { description: 'Already served', ...added }, 201: { description: 'Added', ...added }, 400: errorSchema('Not a valid .torrent'), 401: errorSchema('No valid bearer token') },
      },
    },
    async (req, reply) => {
      const json = Buffer.isBuffer(req.body) ? undefined : req.body
      const bytes = json === undefined ? (req.body as Buffer) : Buffer.from(json.torrent, 'base64')
      let infoHash: string
      let known: boolean
      let entry
      try {
        infoHash = parseTorrentFile(bytes).infoHash
        known = opts.content.get(infoHash) !== undefined
        entry = await opts.content.add(bytes, { origins: json?.origins, peers: json?.peers })
      } catch (err) {
        if (hasCode(err, ContentErrorCode.torrentInvalid)) throw gatewayError('badTorrent', `not a valid .torrent: ${(err as Error).message}`, {}, err)
        throw err
      }
      req.log.info({ infoHash, known }, 'torrent added by the admin API')
      const m = entry.metainfo
      return reply.code(known ? 200 : 201).send({ infoHash: m.infoHash, name: m.name, length: m.length, url: `/t/${m.infoHash}` })
    },
  )
}
