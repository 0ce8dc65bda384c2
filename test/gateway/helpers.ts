/**
 * Fixtures for gateway integration tests: a real HTTP origin with byte ranges (a small static file
 * server, stoppable and countable), seeders over TCP, gateways on loopback ports, raw HTTP.
 */
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import http from 'node:http'
import { join } from 'node:path'

export interface Origin {
  url: string
  /** Requests by path. */
  hits: Map<string, number>
  /** Ranges asked for (`Range` header values). */
  ranges: string[]
  /** Make every request fail with 503 (an origin that is down but listening). */
  down: boolean
  stop(): Promise<void>
}

/**
 * A static origin for `root`: GET/HEAD with single byte ranges (206/416), 404 for missing files.
 * @example
 * const origin = await startOrigin(dir); ... await origin.stop()
 */
export interface OriginOptions {
  /** Handle a request first; return true when answered. */
  extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean
  /** Extra response headers per path (Cache-Control...). */
  headers?: (path: string) => Record<string, string>
  /** Send a strong ETag from the file's content and answer If-None-Match with 304. */
  etags?: boolean
  /** Listen on this port (a restarted origin at the same URL). @default any */
  port?: number
}

export async function startOrigin(root: string, opts: OriginOptions = {}): Promise<Origin> {
  const extra = opts.extra
  const o: Origin = { url: '', hits: new Map(), ranges: [], down: false, stop: async () => {} }
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    o.hits.set(path, (o.hits.get(path) ?? 0) + 1)
    if (o.down) {
      res.writeHead(503).end()
      return
    }
    if (extra?.(req, res) === true) return
    const file = join(root, ...path.split('/').filter((s) => s !== '' && s !== '..'))
    const st = await stat(file).catch(() => undefined)
    if (st === undefined || !st.isFile()) {
      res.writeHead(404).end()
      return
    }
    const extraHeaders = opts.headers?.(path) ?? {}
    if (opts.etags === true) {
      const tag = `"${createHash('sha1').update(await readFile(file)).digest('hex').slice(0, 16)}"`
      extraHeaders['etag'] = tag
      if (req.headers['if-none-match'] === tag) {
        res.writeHead(304, extraHeaders).end()
        return
      }
    }
    for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v)
    const range = req.headers.range
    if (range !== undefined) o.ranges.push(range)
    const m = range === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(range)
    if (m !== null) {
      const start = Number(m[1])
      const end = m[2] === '' ? st.size - 1 : Math.min(Number(m[2]), st.size - 1)
      if (start >= st.size) {
        res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end()
        return
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${st.size}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' })
      if (req.method === 'HEAD') return res.end()
      createReadStream(file, { start, end }).pipe(res)
      return
    }
    res.writeHead(200, { 'content-length': st.size, 'accept-ranges': 'bytes' })
    if (req.method === 'HEAD') return res.end()
    createReadStream(file).pipe(res)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()))
  const addr = server.address() as { port: number }
  o.url = `http://127.0.0.1:${addr.port}`
  o.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return o
}

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** True when the body ended early (connection aborted). */
  aborted: boolean
}

/**
 * One HTTP request with a raw path (no normalisation of `..`), the whole body read.
 * @example
 * const r = await get(`${gw.url}/t/${ih}`, { range: 'bytes=0-0' })
 */
export function request(url: string, headers: Record<string, string> = {}, method = 'GET', rawPath?: string): Promise<RawResponse> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath ?? u.pathname + u.search, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let aborted = false
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('aborted', () => (aborted = true))
      res.on('error', () => (aborted = true))
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), aborted: aborted || !res.complete }))
    })
    req.on('error', reject)
    req.end()
  })
}
