/**
 * Where a response's pieces come from, in order: the piece cache, the swarm, the origin. A piece
 * not cached is asked of the swarm at the top priority; when the swarm has not delivered it
 * within `hedgeDelayMs` of a response starting to wait on it, it is also fetched from the origin
 * with range requests (BEP 19 URL rules) and hash-verified, and the first verified copy wins.
 * A piece is handed over the moment it verified, as the cache begins to store it, not once its
 * file is written. When neither delivers within `pieceTimeoutMs` the wait fails with `BITCDN_ERR_GATEWAY_TIMEOUT`:
 * no response ever waits forever. Concurrent waits for one piece share one fetch.
 *
 * Paid buying plugs in below this seam: the swarm client the torrents live in carries the
 * market buyer (its wire extension and policy), so "the swarm" here means free and paid nodes.
 */
import type http from 'node:http'
import { pieceSize } from '@bitcdn/content'
import { silentLogger, type Logger } from '@bitcdn/core'
import { fetchPieceFromWebSeed } from '@bitcdn/swarm'
import type { PieceCache } from '../cache/piece-cache.js'
import type { ContentEntry } from '../content-entry.js'
import { gatewayError } from '../errors.js'
import type { GatewayMetrics, PieceOrigin } from '../metrics.js'

export interface PieceSourceInit {
  /** Wait this long for the swarm before asking the origin too, ms. @default 300 */
  hedgeDelayMs?: number
  /** Give up on a piece after this long, ms (504 before headers, an aborted body after). @default 15000 */
  pieceTimeoutMs?: number
  /** An origin range request with no byte for this long fails, ms. @default 5000 */
  originIdleTimeoutMs?: number
}

const FIND_PEERS_EVERY_MS = 5_000
/**
 * Abort reasons, one instance each: a settled fetch aborts its origin requests on the path to the
 * first byte, and `abort()` with no reason builds a DOMException with a stack each time.
 */
const SETTLED = new Error('piece settled')
const NO_READER = new Error('no reader left')

export interface PieceSourceComponents {
  cache: PieceCache
  metrics: GatewayMetrics
  logger?: Logger
  /** Keep-alive agent for an origin URL. */
  agent?: (url: string) => http.Agent | undefined
}

export interface Piece {
  data: Buffer
  source: PieceOrigin
  /** `data` is this response's own buffer from the cache's pool: `release` it once written. */
  pooled?: true
}

interface Fetch {
  promise: Promise<Piece>
  waiters: number
  abort: AbortController
}

export interface PieceSource {
  /**
   * Piece `index` of `entry`, verified.
   * @throws BitcdnError `BITCDN_ERR_GATEWAY_TIMEOUT`; `signal.reason` when aborted.
   */
  get(entry: ContentEntry, index: number, signal?: AbortSignal): Promise<Piece>
  /** Give a pooled piece's buffer back once the socket took its bytes (others are ignored). */
  release(piece: Piece): void
}

/**
 * @example
 * const pieces = createPieceSource({ hedgeDelayMs: 300 }, { cache, metrics })
 * const { data, source } = await pieces.get(entry, 12, req.signal)
 */
export function createPieceSource(init: PieceSourceInit, c: PieceSourceComponents): PieceSource {
  const hedgeDelayMs = init.hedgeDelayMs ?? 300
  const pieceTimeoutMs = init.pieceTimeoutMs ?? 15_000
  const log = c.logger ?? silentLogger
  const fetches = new Map<string, Fetch>()
  // per torrent (bounded by the registry): when trackers were last asked for peers
  const lastFind = new Map<string, number>()
  /** No peer connected: seeders may have joined since the last announce (nodes that pinned it). */
  const findPeersIfNone = (entry: ContentEntry) => {
    if (entry.torrent.stats().peers > 0) return
    const now = Date.now()
    if (now - (lastFind.get(entry.infoHash) ?? 0) < FIND_PEERS_EVERY_MS) return
    lastFind.set(entry.infoHash, now)
    entry.torrent.findPeers()
  }

  function fetchPiece(entry: ContentEntry, index: number, abort: AbortController): Promise<Piece> {
    const { torrent, metainfo: m } = entry
    const size = pieceSize(m, index)
    // the cache lost it (evicted or torn) while the torrent still counts it: fetch it again
    if (torrent.hasPiece(index)) torrent.dropPiece(index)
    return new Promise<Piece>((resolve, reject) => {
      let settled = false
      let originStoring = false
      const release = torrent.prioritize(new Map([[index, 7]]))
      const finish = (err: Error | undefined, piece?: Piece) => {
        if (settled) return
        settled = true
        clearTimeout(hedgeTimer)
        clearTimeout(deadline)
        clearInterval(finder)
        unwatch()
        torrent.off('piece', onPiece)
        release()
        abort.abort(SETTLED)
        if (err !== undefined) reject(err)
        else resolve(piece!)
      }
      const onPiece = (i: number) => {
        if (i !== index || originStoring) return
        c.cache.get(entry.infoHash, index, size).then(
          (data) => (data !== undefined ? finish(undefined, { data, source: 'swarm' }) : undefined),
          () => {},
        )
      }
      torrent.on('piece', onPiece)
      // the verified piece as its store begins: the response does not wait for the disk write
      const unwatch = c.cache.whenPut(entry.infoHash, index, (data) => (originStoring ? undefined : finish(undefined, { data, source: 'swarm' })))
      const hedge = async () => {
        for (const url of entry.origins) {
          if (settled) return
          const started = Date.now()
          try {
            const data = await fetchPieceFromWebSeed(url, m, index, { signal: abort.signal, idleTimeoutMs: init.originIdleTimeoutMs ?? 5_000, agent: c.agent?.(url) })
            if (settled) return
            originStoring = true
            const ok = await torrent.putPiece(index, data)
            originStoring = false
            if (ok) {
              c.metrics.hedges.inc({ outcome: 'delivered' })
              log.info({ infoHash: entry.infoHash, piece: index, ms: Date.now() - started }, 'piece from origin (swarm late)')
              return finish(undefined, { data, source: 'origin' })
            }
            c.metrics.hedges.inc({ outcome: 'hash_failed' })
            c.metrics.errors.inc({ kind: 'origin_hash' })
            log.warn({ infoHash: entry.infoHash, piece: index, origin: url }, 'origin piece failed its hash check')
          } catch (err) {
            originStoring = false
            if (settled) return
            c.metrics.hedges.inc({ outcome: 'failed' })
            c.metrics.errors.inc({ kind: 'origin' })
            log.warn({ infoHash: entry.infoHash, piece: index, origin: url, code: (err as { code?: string }).code, err: (err as Error).message }, 'origin piece fetch failed')
          }
        }
      }
      findPeersIfNone(entry)
      const finder = setInterval(() => findPeersIfNone(entry), FIND_PEERS_EVERY_MS)
      // no peer connected: the swarm cannot deliver, so do not make the reader wait for it
      const delay = torrent.stats().peers === 0 ? 0 : hedgeDelayMs
      const hedgeTimer = entry.origins.length > 0 ? setTimeout(() => void hedge(), delay) : undefined
      const deadline = setTimeout(() => {
        c.metrics.errors.inc({ kind: 'timeout' })
        log.warn({ infoHash: entry.infoHash, piece: index, ms: pieceTimeoutMs }, 'piece timed out (swarm and origin)')
        finish(gatewayError('timeout', `piece ${index} of ${entry.infoHash} did not arrive within ${pieceTimeoutMs} ms from the swarm or the origin`, { infoHash: entry.infoHash, index }))
      }, pieceTimeoutMs)
      abort.signal.addEventListener('abort', () => finish(abort.signal.reason instanceof Error ? abort.signal.reason : new Error('aborted')), { once: true })
    })
  }

  return {
    release(piece) {
      if (piece.pooled === true) c.cache.release(piece.data)
    },
    async get(entry, index, signal) {
      const size = pieceSize(entry.metainfo, index)
      const cached = await c.cache.get(entry.infoHash, index, size)
      if (cached !== undefined) {
        c.metrics.countPiece('cache', size)
        // read for this caller alone (each get reads its own copy), so it may be pooled
        return { data: cached, source: 'cache', pooled: true }
      }
      signal?.throwIfAborted()
      const key = `${entry.infoHash}:${index}`
      let f = fetches.get(key)
      if (f === undefined) {
        const abort = new AbortController()
        const promise = fetchPiece(entry, index, abort).finally(() => fetches.delete(key))
        promise.then((p) => c.metrics.countPiece(p.source, size), () => {})
        f = { promise, waiters: 0, abort }
        fetches.set(key, f)
      }
      const shared = f
      shared.waiters++
      try {
        if (signal === undefined) return await shared.promise
        return await new Promise<Piece>((resolve, reject) => {
          const onAbort = () => reject(signal.reason)
          signal.addEventListener('abort', onAbort, { once: true })
          shared.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
        })
      } finally {
        // the last waiter gone: stop fetching a piece nobody wants any more
        if (--shared.waiters === 0 && fetches.get(key) === shared) shared.abort.abort(NO_READER)
      }
    },
  }
}
