/**
 * The body of one response: torrent bytes `[first, last]` as a stream that pulls pieces through
 * the piece source as the client reads (backpressure: nothing is fetched further than
 * `parallel` pieces ahead of what the socket accepted). The swarm is asked only for the pieces
 * the range needs, a window at a time, plus `readAheadPieces` beyond the range for a sequential
 * reader (video): those are prefetched into the cache at a low priority and never waited on.
 */
import { Readable } from 'node:stream'
import type { ContentEntry } from '../content-entry.js'
import type { ByteBudget } from './byte-budget.js'
import type { Piece, PieceSource } from './piece-source.js'

/** How long a finished response's read-ahead stays prioritized at most, ms. */
const PREFETCH_HOLD_MS = 30_000

/** Every response that ends destroys its stream: one reason, not an Error (and its stack) each. */
const CLOSED = new Error('response closed')

export interface BodyStreamInit {
  entry: ContentEntry
  /** First and last byte, inclusive, in torrent offsets. */
  first: number
  last: number
  /** Pieces fetched at once ahead of the reader. @default 4 */
  parallel?: number
  /** Pieces beyond `last` prefetched for a sequential reader. @default 0 */
  readAheadPieces?: number
}

export interface BodyStreamComponents {
  pieces: PieceSource
  budget: ByteBudget
  /** Each piece handed to the response. */
  onPiece?: (piece: Piece, bytes: number) => void
}

/** The body, and the hook its writer calls once the socket took a chunk (pooled buffers return). */
export interface BodyStream extends Readable {
  written(chunk: unknown): void
  /**
   * Start fetching the first `parallel` pieces now and wait for the first: the response sends its
   * headers only once that arrived (a swarm and origin that both fail still get a clean 504),
   * while the pieces after it are already on their way — not asked for only once the first is in.
   */
  head(): Promise<void>
}

/**
 * @example
 * const body = createBodyStream({ entry, first: 0, last: 1023 }, { pieces, budget })
 * await body.head() // 504 if it throws; else send the headers
 * body.pipe(reply.raw)
 */
export function createBodyStream(init: BodyStreamInit, c: BodyStreamComponents): BodyStream {
  const { entry, first, last } = init
  const m = entry.metainfo
  const firstIndex = Math.floor(first / m.pieceLength)
  const lastIndex = Math.floor(last / m.pieceLength)
  const parallel = Math.max(1, init.parallel ?? 4)
  const aheadEnd = Math.min(m.pieceCount - 1, lastIndex + (init.readAheadPieces ?? 0))
  const abort = new AbortController()
  // pieces requested, in order, each holding its bytes of the budget until pushed
  const queue: Array<{ index: number; bytes: number; granted: boolean; piece: Promise<Piece> }> = []
  let nextIndex = firstIndex
  let releasePrefetch: (() => void) | undefined
  let pushing = false
  // chunks pushed whose buffer is pooled: given back once written
  const pooled = new WeakMap<Buffer, Piece>()

  const enqueue = (): void => {
    while (queue.length < parallel && nextIndex <= lastIndex) {
      const index = nextIndex++
      const bytes = Math.min(m.pieceLength, m.length - index * m.pieceLength)
      const item = { index, bytes, granted: false, piece: undefined as unknown as Promise<Piece> }
      item.piece = c.budget.take(bytes, abort.signal).then(() => {
        item.granted = true
        return c.pieces.get(entry, index, abort.signal)
      })
      item.piece.catch(() => {})
      queue.push(item)
    }
    if (nextIndex > lastIndex && releasePrefetch === undefined && aheadEnd > lastIndex) {
      const prios = new Map<number, number>()
      for (let i = lastIndex + 1; i <= aheadEnd; i++) if (!entry.torrent.hasPiece(i)) prios.set(i, 2)
      if (prios.size > 0) releasePrefetch = entry.torrent.prioritize(prios)
    }
  }

  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (pushing) return
      enqueue()
      const head = queue[0]
      if (head === undefined) {
        this.push(null)
        return
      }
      pushing = true
      head.piece.then(
        (piece) => {
          if (stream.destroyed) return
          queue.shift()
          pushing = false
          const start = head.index * m.pieceLength
          const from = Math.max(first, start) - start
          const to = Math.min(last, start + piece.data.length - 1) - start + 1
          c.onPiece?.(piece, to - from)
          c.budget.give(head.bytes)
          const chunk = piece.data.subarray(from, to)
          if (piece.pooled === true) pooled.set(chunk, piece)
          const more = this.push(chunk)
          if (queue.length === 0 && nextIndex > lastIndex) this.push(null)
          else if (more) enqueue()
        },
        (err: Error) => {
          pushing = false
          this.destroy(err)
        },
      )
    },
    destroy(err, cb) {
      abort.abort(err ?? CLOSED)
      releasePrefetch?.()
      // budgets of pieces still queued: given back whether they arrived or not
      for (const q of queue.splice(0)) {
        const give = () => (q.granted ? c.budget.give(q.bytes) : undefined)
        q.piece.then(give, give)
      }
      cb(err)
    },
  })
  const body = stream as BodyStream
  body.head = async () => {
    enqueue()
    await queue[0]?.piece
  }
  body.written = (chunk) => {
    const piece = Buffer.isBuffer(chunk) ? pooled.get(chunk) : undefined
    if (piece === undefined) return
    pooled.delete(chunk as Buffer)
    c.pieces.release(piece)
  }
  // a prefetch outlives the response for a while (the reader's next range wants those pieces);
  // its priorities are dropped when they are all in, looked at once a second — a 'piece'
  // listener per response piled up on the torrent for a video's stream of ranges
  stream.once('end', () => {
    if (releasePrefetch === undefined) return
    const r = releasePrefetch
    releasePrefetch = undefined
    const until = Date.now() + PREFETCH_HOLD_MS
    const check = () => {
      let pending = false
      for (let i = lastIndex + 1; i <= aheadEnd && !pending; i++) pending = !entry.torrent.hasPiece(i)
      if (!pending || Date.now() >= until) return r()
      setTimeout(check, 1000).unref()
    }
    check()
  })
  return body
}
