/**
 * Answer a GET or HEAD for one representation (a file of a torrent) with RFC 9110 semantics:
 * validators and conditional requests (304, 412), byte ranges (206, 416, multipart as a full 200),
 * `HEAD` identical to `GET` without a body. The first piece is fetched before the headers are
 * sent, so a swarm and origin that both fail still get a clean 504; later failures abort the body
 * (the client sees a short read, never wrong bytes).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { hasCode, type Logger } from '@bitcdn/core'
import type { ContentEntry } from '../content-entry.js'
import { GatewayErrorCode } from '../errors.js'
import type { ByteBudget } from '../fetch/byte-budget.js'
import { createBodyStream } from '../fetch/body-stream.js'
import type { PieceSource } from '../fetch/piece-source.js'
import { evaluateConditions, rangeApplies } from '../http/conditional.js'
import { parseRange } from '../http/range.js'
import type { GatewayMetrics } from '../metrics.js'
import type { SequentialReaders } from './sequential-readers.js'

export interface Representation {
  entry: ContentEntry
  /** Where the representation starts in the torrent's byte space, and its length. */
  offset: number
  length: number
  /** Strong entity tag, quoted. */
  etag: string
  lastModifiedMs?: number
  contentType: string
  cacheControl: string
  /** More headers (pull zone: the origin's Vary, Content-Disposition...). */
  headers?: Record<string, string>
}

export interface ServeComponents {
  pieces: PieceSource
  budget: ByteBudget
  metrics: GatewayMetrics
  sequential: SequentialReaders
  logger: Logger
  /** Pieces a response fetches at once. */
  parallelPieces: number
  /** Pieces prefetched beyond a sequential reader's range. */
  readAheadPieces: number
}

/**
 * @example
 * return serveRepresentation(req, reply, { entry, offset: 0, length, etag, contentType, cacheControl }, deps, 'content')
 */
export async function serveRepresentation(req: FastifyRequest, reply: FastifyReply, rep: Representation, c: ServeComponents, route: string): Promise<FastifyReply> {
  const started = process.hrtime.bigint()
  const validators = { etag: rep.etag, lastModifiedMs: rep.lastModifiedMs }
  reply.header('accept-ranges', 'bytes').header('etag', rep.etag).header('cache-control', rep.cacheControl)
  if (rep.lastModifiedMs !== undefined) reply.header('last-modified', new Date(rep.lastModifiedMs).toUTCString())
  for (const [k, v] of Object.entries(rep.headers ?? {})) reply.header(k, v)
  const cond = evaluateConditions(req.headers, req.method, validators)
  if (cond === 'precondition-failed') return reply.code(412).send()
  if (cond === 'not-modified') return reply.code(304).send()

  reply.header('content-type', rep.contentType).header('x-content-type-options', 'nosniff')
  const range = rangeApplies(req.headers, validators) ? parseRange(req.headers.range, rep.length) : ({ kind: 'full' } as const)
  if (range.kind === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${rep.length}`).header('content-length', '0').send()
  }
  const start = range.kind === 'partial' ? range.start : 0
  const end = range.kind === 'partial' ? range.end : rep.length - 1
  const bytes = rep.length === 0 ? 0 : end - start + 1
  reply.code(range.kind === 'partial' ? 206 : 200).header('content-length', String(bytes))
  if (range.kind === 'partial') reply.header('content-range', `bytes ${start}-${end}/${rep.length}`)
  if (req.method === 'HEAD' || bytes === 0) return reply.send()

  const first = rep.offset + start
  const last = rep.offset + end
  const readAhead = c.sequential.seen(rep.entry.infoHash, first, last) ? c.readAheadPieces : 0
  let firstSource: string | undefined
  const body = createBodyStream(
    { entry: rep.entry, first, last, parallel: c.parallelPieces, readAheadPieces: readAhead },
    {
      pieces: c.pieces,
      budget: c.budget,
      onPiece: (p, n) => {
        if (firstSource === undefined) {
          firstSource = p.source
          c.metrics.ttfb.observe({ route, source: p.source }, Number(process.hrtime.bigint() - started) / 1e9)
        }
        c.metrics.servedBytes.inc({ route }, n)
      },
    },
  )
  let gone = false
  reply.raw.once('close', () => {
    gone = true
    body.destroy()
  })
  try {
    // the first piece before the headers (a 504 is still possible); the next ones are on their way
    await body.head()
  } catch (err) {
    body.destroy()
    if (gone) return reply
    throw err
  }
  body.once('error', (err) => {
    const kind = hasCode(err, GatewayErrorCode.timeout) ? 'timeout_after_headers' : 'body_aborted'
    if (!gone) {
      c.metrics.errors.inc({ kind })
      c.logger.warn({ infoHash: rep.entry.infoHash, code: (err as { code?: string }).code, err: err.message }, 'response body aborted')
    }
  })
  // the pipe fastify sets up writes without callbacks: this response's writes report which chunks
  // the socket took, so their pooled buffers are reused (never while a write still points at one)
  const raw = reply.raw
  const write = raw.write.bind(raw) as (chunk: unknown, encoding?: unknown, cb?: (err?: Error | null) => void) => boolean
  raw.write = ((chunk: unknown, a?: unknown, b?: unknown) => {
    const cb = (typeof a === 'function' ? a : b) as ((err?: Error | null) => void) | undefined
    const encoding = typeof a === 'function' ? undefined : a
    return write(chunk, encoding, (err) => {
      body.written(chunk)
      cb?.(err)
    })
  }) as typeof raw.write
  return reply.send(body)
}
