/**
 * Serves the built website (a folder of static files) at `/` without another dependency: GET/HEAD
 * of files under `root` only (paths normalized and kept inside it), `index.html` for `/` and for
 * unknown paths without an extension (client-side routes), long caching for hashed assets.
 */
import { createReadStream, statSync } from 'node:fs'
import { extname, join, normalize, sep } from 'node:path'
import type { FastifyInstance } from 'fastify'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

export default async function staticSite(app: FastifyInstance, opts: { root: string }): Promise<void> {
  const root = normalize(opts.root)
  const file = (p: string) => {
    const full = normalize(join(root, p))
    if (full !== root && !full.startsWith(root + sep)) return undefined
    try {
      return statSync(full).isFile() ? full : undefined
    } catch {
      return undefined
    }
  }
  app.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    schema: { hide: true },
    handler: async (req, reply) => {
      const path = decodeURIComponent((req.params as { '*': string })['*'] ?? '')
      const found = file(path) ?? (extname(path) === '' ? file('index.html') : undefined)
      if (!found) return reply.status(404).send({ code: 'BITCDN_ERR_HTTP_NOT_FOUND', message: `no such page: /${path}` })
      reply.header('content-type', TYPES[extname(found)] ?? 'application/octet-stream')
      reply.header('cache-control', found.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache')
      return reply.send(createReadStream(found))
    },
  })
}
