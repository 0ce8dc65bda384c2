/**
 * One peer's upload requests on their way out: read from storage only while that peer's socket
 * keeps up (at most `PEER_BUFFER_BYTES` read and not yet flushed to the kernel) and the client-wide
 * `UploadBudget` has room, under the upload rate limit. A peer that stops reading stops costing
 * memory: its requests wait here as 12-byte refs (bounded by the connection's request queue), not
 * as blocks. libtorrent does the same with its send-buffer watermark.
 */
import type { BlockRef } from '../peer-connection.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import type { UploadBudget } from '../choker/upload-budget.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import type { BlockPool } from './block-pool.js'

/** Bytes one peer may have read for it and not yet flushed (libtorrent's high-performance seed: 3 MiB). */
export const PEER_BUFFER_BYTES = 4 * 1024 * 1024
/** Bytes every peer may have in flight even when the budget is spent: peers that stop reading cannot lock the rest out. */
export const PEER_FLOOR_BYTES = 256 * 1024
/** A peer that leaves blocks unflushed this long has stopped reading; it is closed and its budget freed. */
export const SEND_STALL_MS = 60_000
/** Refs kept before cancelled and duplicate ones are swept out (the connection caps live requests). */
const COMPACT_AT = 1024

export interface UploadQueueDeps {
  budget: UploadBudget
  limiter: RateLimiter
  /** Reused buffers for blocks copied out of cached chunks. */
  blocks: BlockPool
  /** Read a block; `release` once the socket is done with `data` (a reused cache buffer). */
  read(index: number, begin: number, length: number): Promise<{ data: Buffer; release: () => void; mayHold?: boolean }>
  /** A block went out (bytes for the torrent's totals). */
  onSent(bytes: number): void
  onReadError(err: unknown): void
  /** The peer left `bytes` unflushed for `SEND_STALL_MS`: close it. */
  onStalled(conn: BitTorrentConnection, bytes: number): void
  /** Once per pushed ref: it went to the socket (true) or was dropped — cancelled, choked, closed, unreadable (false). */
  onSettled?(ref: BlockRef, sent: boolean): void
}

/**
 * @example
 * const q = new PeerUploadQueue(conn, deps)
 * conn.on('request', (ref) => q.push(ref))
 */
export class PeerUploadQueue {
  readonly #conn: BitTorrentConnection
  readonly #d: UploadQueueDeps
  #queue: BlockRef[] = []
  #head = 0
  /** Bytes taken from the budget for this peer: being read, or written and not yet flushed. */
  #inflight = 0
  #timer: NodeJS.Timeout | undefined
  #stallTimer: NodeJS.Timeout | undefined
  #lastFlushAt = Date.now()
  #closed = false
  readonly #retry = () => this.pump()

  constructor(conn: BitTorrentConnection, deps: UploadQueueDeps) {
    this.#conn = conn
    this.#d = deps
    conn.once('close', () => this.#close())
  }

  /** Bytes read for this peer and not yet flushed. */
  get buffered(): number {
    return this.#inflight
  }

  /** How long blocks have waited for this peer without any leaving (0 when none wait). */
  stalledMs(now: number): number {
    return this.#inflight === 0 ? 0 : now - this.#lastFlushAt
  }

  push(ref: BlockRef): void {
    if (this.#closed) return this.#d.onSettled?.(ref, false)
    this.#queue.push(ref)
    if (this.#queue.length - this.#head > COMPACT_AT) this.#compact()
    this.pump()
  }

  /** Start reads while this peer's buffer, the budget and the rate limit allow. */
  pump(): void {
    const conn = this.#conn
    const d = this.#d
    while (this.#head < this.#queue.length && !this.#closed) {
      if (conn.amChoking) break // choking drops every request (BEP 6 rejects them)
      const ref = this.#queue[this.#head]!
      if (!conn.isRequested(ref)) {
        this.#head++ // cancelled
        d.onSettled?.(ref, false)
        continue
      }
      if (this.#inflight > 0 && this.#inflight + ref.length > PEER_BUFFER_BYTES) return // a flush resumes us
      const floor = this.#inflight + ref.length <= PEER_FLOOR_BYTES
      if (!d.budget.take(ref.length, floor)) return d.budget.wait(this.#retry)
      if (!d.limiter.take(ref.length)) {
        d.budget.release(ref.length)
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined
            this.pump()
          }, Math.max(1, d.limiter.waitMs(ref.length)))
          this.#timer.unref()
        }
        return
      }
      this.#head++
      if (this.#inflight === 0) this.#armStallTimer()
      this.#inflight += ref.length
      d.read(ref.index, ref.begin, ref.length).then(
        ({ data, release, mayHold }) => {
          if (this.#closed) {
            d.onSettled?.(ref, false)
            return release()
          }
          // a view into a cached 1 MiB chunk pins the whole chunk until the socket wrote it; the
          // cache says when that is bounded (`mayHold`: the chunk is cached, few evicted chunks
          // are pinned) and then the block goes out without a copy. Otherwise a slow peer could
          // pin a chunk per 16 KiB of budget: the block is copied (into a pooled buffer — a fresh
          // one per block cost a fifth of the CPU in GC) and the chunk released at once.
          const pins = mayHold !== true && data.byteLength * 2 < data.buffer.byteLength
          const block = pins ? d.blocks.copy(data) : data
          if (pins) release()
          const written = () => {
            if (pins) d.blocks.recycle(block)
            else release()
            this.#flushed(ref.length)
          }
          if (conn.sendBlock(ref, block, written)) {
            d.onSent(ref.length)
            d.onSettled?.(ref, true)
          } else {
            written() // cancelled or choked while reading
            d.onSettled?.(ref, false)
          }
        },
        (err: unknown) => {
          this.#flushed(ref.length)
          d.onSettled?.(ref, false)
          d.onReadError(err)
        },
      )
    }
    if (this.#head >= this.#queue.length || this.#conn.amChoking) {
      this.#drop()
    }
  }

  #flushed(n: number): void {
    if (this.#closed) return // released in bulk on close
    this.#lastFlushAt = Date.now()
    this.#inflight -= n
    this.#d.budget.release(n)
    this.pump()
  }

  /** Watch for a peer that stopped reading: nothing flushed for `SEND_STALL_MS` while bytes wait. */
  #armStallTimer(): void {
    if (this.#stallTimer !== undefined) return
    this.#lastFlushAt = Date.now()
    const check = () => {
      this.#stallTimer = undefined
      if (this.#closed || this.#inflight === 0) return
      const idle = Date.now() - this.#lastFlushAt
      if (idle >= SEND_STALL_MS) return this.#d.onStalled(this.#conn, this.#inflight)
      this.#stallTimer = setTimeout(check, SEND_STALL_MS - idle)
      this.#stallTimer.unref()
    }
    this.#stallTimer = setTimeout(check, SEND_STALL_MS)
    this.#stallTimer.unref()
  }

  /** Drop cancelled and repeated refs: what is left is at most the connection's live requests. */
  #compact(): void {
    const seen = new Set<number>()
    const kept: BlockRef[] = []
    for (let i = this.#head; i < this.#queue.length; i++) {
      const ref = this.#queue[i]!
      const key = ref.index * 0x1_0000_0000 + ref.begin
      if (seen.has(key) || !this.#conn.isRequested(ref)) {
        this.#d.onSettled?.(ref, false)
        continue
      }
      seen.add(key)
      kept.push(ref)
    }
    this.#queue = kept
    this.#head = 0
  }

  #close(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    clearTimeout(this.#stallTimer)
    this.#d.budget.cancel(this.#retry)
    this.#d.budget.release(this.#inflight)
    this.#inflight = 0
    this.#drop()
  }

  /** Forget the refs not started (choked or closed), telling `onSettled` of each. */
  #drop(): void {
    const left = this.#queue
    const from = this.#head
    this.#queue = []
    this.#head = 0
    if (this.#d.onSettled !== undefined) for (let i = from; i < left.length; i++) this.#d.onSettled(left[i]!, false)
  }
}
