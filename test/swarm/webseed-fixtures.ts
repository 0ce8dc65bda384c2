/**
 * Test fixtures for web seeds: real files in a temp dir, a hand-built `Metainfo` over them, and
 * a small range-capable static HTTP server (nginx-like: single `Range`, 206 with Content-Range,
 * 416 outside the file) that counts requests and concurrency and can be told to misbehave.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Metainfo } from '@bitcdn/content'

export interface FixtureFile {
  path: string
  data: Buffer
  /** A BEP 47 padding file: in the torrent, never on disk or on the origin. */
  padding?: boolean
}

/** Write files under a temp dir; `root` is what the server serves. */
export async function writeFixture(files: FixtureFile[]): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'bitcdn-webseed-'))
  for (const f of files) {
    if (f.padding) continue
    await mkdir(dirname(join(root, f.path)), { recursive: true })
    await writeFile(join(root, f.path), f.data)
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/**
 * A Metainfo over files laid end to end. Single-file when `files` is one file whose path is
 * `name`; multi-file paths must start with `name/`.
 */
export function buildMetainfo(name: string, files: FixtureFile[], pieceLength: number): Metainfo {
  const all = Buffer.concat(files.map((f) => f.data))
  const pieceCount = Math.ceil(all.length / pieceLength)
  const pieceHashes: Buffer[] = []
  for (let i = 0; i < pieceCount; i++) {
    pieceHashes.push(createHash('sha1').update(all.subarray(i * pieceLength, (i + 1) * pieceLength)).digest())
  }
  let offset = 0
  const tfiles = files.map((f) => {
    const t = { path: f.path, length: f.data.length, offset, ...(f.padding ? { padding: true } : {}) }
    offset += f.data.length
    return t
  })
  const infoHash = createHash('sha1').update(name).update(all).digest('hex')
  return {
    infoHash,
    name,
    length: all.length,
    pieceLength,
    pieceCount,
    lastPieceLength: all.length - (pieceCount - 1) * pieceLength,
    pieceHashes,
    files: tfiles,
    announce: [],
    urlList: [],
    private: false,
    infoBuffer: Buffer.alloc(0),
    torrentFile: Buffer.alloc(0),
    magnetURI: `magnet:?xt=urn:btih:${infoHash}`,
  }
}

export const randomData = (n: number): Buffer => randomBytes(n)

export interface StaticServerOptions {
  /** Answer the next N requests with this status (then serve normally). */
  failNext?: { count: number; status: number; retryAfter?: string }
  /** Hold every response this long before answering, in ms. */
  delayMs?: number
  /** Ignore Range and answer 200 with the whole file. */
  noRanges?: boolean
  /** Answer 206 with a Content-Range shifted by this many bytes. */
  shiftRange?: number
  /** Destroy the socket after sending this many body bytes of the next response. */
  resetAfterBytes?: number
  /** Requests under `/moved/` get a 302 to the same path without that prefix. */
  redirectMoved?: boolean
}

export interface StaticServer {
  url: string
  origin: string
  /** Every request seen, with its Range header. */
  requests: Array<{ path: string; range: string | undefined }>
  inFlight: number
  maxInFlight: number
  options: StaticServerOptions
  close(): Promise<void>
}

/** Serve `root` over HTTP on 127.0.0.1 with byte ranges. */
export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const s: StaticServer = {
    url: '',
    origin: '',
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    options,
    close: async () => {},
  }
  const server = http.createServer((req, res) => {
    s.inFlight++
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight)
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      s.inFlight--
    }
    res.on('close', finish)
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    s.requests.push({ path, range: req.headers.range })
    const respond = (): void => {
      const o = s.options
      if (o.redirectMoved && path.startsWith('/moved/')) {
        res.writeHead(302, { location: (req.url ?? '/').replace('/moved/', '/'), 'content-length': 0 }).end()
        return
      }
      if (o.failNext && o.failNext.count > 0) {
        o.failNext.count--
        res.writeHead(o.failNext.status, { 'content-length': 5, ...(o.failNext.retryAfter ? { 'retry-after': o.failNext.retryAfter } : {}) }).end('nope\n')
        return
      }
      const file = join(root, path)
      import('node:fs/promises')
        .then((fs) => fs.stat(file))
        .then((st) => {
          const size = st.size
          const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
          let start = 0
          let end = size - 1
          if (m && !o.noRanges) {
            start = Number(m[1])
            end = Math.min(Number(m[2]), size - 1)
            if (start >= size) {
              res.writeHead(416, { 'content-range': `bytes */${size}` }).end()
              return
            }
            const shift = o.shiftRange ?? 0
            res.writeHead(206, {
              'content-range': `bytes ${start + shift}-${end + shift}/${size}`,
              'content-length': end - start + 1,
              'accept-ranges': 'bytes',
            })
          } else {
            res.writeHead(200, { 'content-length': size })
          }
          const stream = createReadStream(file, { start, end })
          const resetAfter = o.resetAfterBytes
          if (resetAfter !== undefined) {
            o.resetAfterBytes = undefined
            let sent = 0
            stream.on('data', (chunk) => {
              const c = chunk as Buffer
              if (sent + c.length >= resetAfter) {
                res.write(c.subarray(0, resetAfter - sent), () => res.socket?.destroy())
                stream.destroy()
                return
              }
              sent += c.length
              res.write(c)
            })
            return
          }
          stream.pipe(res)
        })
        .catch(() => {
          res.writeHead(404, { 'content-length': 10 }).end('not found\n')
        })
    }
    if (s.options.delayMs) setTimeout(respond, s.options.delayMs)
    else respond()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  s.origin = `http://127.0.0.1:${port}`
  s.url = `${s.origin}/`
  s.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return s
}
