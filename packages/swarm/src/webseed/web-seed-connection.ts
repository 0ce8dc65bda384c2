/**
 * A web seed (BEP 19) as a `PeerConnection`: an HTTP(S) origin that has every piece and never
 * chokes, so the torrent's picker and request glue treat it like any peer (libtorrent's
 * `web_peer_connection`).
 *
 * Block requests issued in the same tick are coalesced: sorted by torrent offset, adjacent ones
 * become one range of up to `maxRangeBytes`, fetched with one HTTP request per file it touches
 * and cut back into blocks as bytes stream in. While ranges are in flight, runs shorter than a
 * piece wait to grow (see `#flush`), so a picker topping up a few blocks at a time still produces
 * large ranges. A failed request rejects its blocks and backs the whole origin off (see
 * `origin-pool.ts`); `maxOutstanding` is 0 until the backoff ends, then `unchoke` is emitted as a
 * "ready again" nudge (`peerChoking` itself stays false).
 */
import { EventEmitter } from 'node:events'
import { BitcdnError, MiB, silentLogger, systemClock, type Clock, type Logger } from '@bitcdn/core'
import type { Metainfo } from '@bitcdn/content'
import type { BlockRef, PeerConnection, PeerConnectionEvents } from '../peer-connection.js'
import { fileSlices, type FileSlice } from './byte-ranges.js'
import { webSeedError } from './errors.js'
import { defaultOriginPool, type CaOption, type OriginPool } from './origin-pool.js'
import { fetchRange } from './range-request.js'
import { parseWebSeedUrl, webSeedFileUrls } from './web-seed-url.js'

export interface WebSeedConnectionInit {
  /** The web seed URL from the torrent's `url-list` (BEP 19). */
  url: string
  metainfo: Metainfo
  /** Concurrent HTTP requests to this URL's origin, shared by all connections to it. @default 4 */
  maxConnectionsPerOrigin?: number
  /** Largest byte range asked for in one HTTP request, in bytes. @default 8 MiB */
  maxRangeBytes?: number
  /**
   * While a range is in flight, queued requests wait until they add up to this many bytes, in
   * bytes. @default 1 MiB
   */
  minRangeBytes?: number
  /** Ranges this connection keeps in flight before short runs wait to grow. @default 4 */
  maxParallelRanges?: number
  /** Block requests in flight when the origin is healthy (`maxOutstanding`). @default 512 */
  maxOutstandingBlocks?: number
  /** A request that receives nothing for this long fails, in ms. @default 30000 */
  idleTimeoutMs?: number
  /** For origins that ignore `Range`: how far into a file a 200 may be skipped, in bytes. @default 4 MiB */
  maxSkipBytes?: number
  /**
   * Extra CA certificates (PEM) trusted for an `https://` web seed, on top of Node's trust store;
   * they apply to the whole origin in the pool. @default none: Node's trust store only
   */
  ca?: CaOption
}

export interface WebSeedConnectionComponents {
  /** Shared per-origin limits and backoff. @default defaultOriginPool() */
  originPool?: OriginPool
  logger?: Logger
  clock?: Clock
  /** Recoverable failures (each also rejected the affected blocks); codes `BITCDN_ERR_WEBSEED_*`. */
  onWarning?: (err: BitcdnError) => void
}

type BlockState = 'queued' | 'inflight' | 'done'

interface Block {
  ref: BlockRef
  /** Torrent byte offsets `[start, end)`. */
  start: number
  end: number
  state: BlockState
  buf: Buffer | null
  filled: number
  /** The range job fetching it, once dispatched. */
  job: Job | undefined
  /** When it was requested (clock ms), for the request timeout. */
  at: number
}

interface Slice extends FileSlice {
  /** Indices into the job's blocks covered by this slice. */
  first: number
  last: number
  /** First block that may still take bytes (a slice's bytes arrive in order). */
  cursor: number
  abort: AbortController
}

interface Job {
  blocks: Block[]
  slices: Slice[]
  running: number
}

const key = (index: number, begin: number): string => `${index}:${begin}`

class WebSeedConnection extends EventEmitter<PeerConnectionEvents> implements PeerConnection {
  readonly id: string
  readonly kind = 'webseed' as const
  readonly peerChoking = false
  readonly uploaded = 0
  readonly ready = true
  readonly isSeed = true
  /** Never filled: a failing origin backs off instead of refusing pieces. */
  readonly rejectedPieces = new Set<number>()
  snubbed = false

  #downloaded = 0
  #destroyed = false
  readonly #meta: Metainfo
  readonly #origin: string
  readonly #fileUrls: string[]
  readonly #pool: OriginPool
  readonly #log: Logger
  readonly #clock: Clock
  readonly #onWarning: ((err: BitcdnError) => void) | undefined
  readonly #maxRange: number
  readonly #minRange: number
  readonly #maxBlocks: number
  readonly #parallel: number
  readonly #idleTimeoutMs: number
  readonly #maxSkip: number
  /** Every outstanding block, queued or in flight. */
  readonly #blocks = new Map<string, Block>()
  #queued: Block[] = []
  readonly #jobs = new Set<Job>()
  #flushScheduled = false
  readonly #unsubscribe: () => void

  constructor(init: WebSeedConnectionInit, components: WebSeedConnectionComponents) {
    super()
    this.id = init.url
    this.#meta = init.metainfo
    this.#origin = parseWebSeedUrl(init.url).origin
    this.#fileUrls = webSeedFileUrls(init.url, init.metainfo)
    this.#pool = components.originPool ?? defaultOriginPool()
    this.#pool.register(this.#origin, init.maxConnectionsPerOrigin, init.ca === undefined ? undefined : { ca: init.ca })
    this.#log = (components.logger ?? silentLogger).child({ webseed: init.url })
    this.#clock = components.clock ?? systemClock
    this.#onWarning = components.onWarning
    this.#maxRange = init.maxRangeBytes ?? 8 * MiB
    this.#minRange = Math.min(init.minRangeBytes ?? 1 * MiB, this.#maxRange)
    this.#maxBlocks = init.maxOutstandingBlocks ?? 512
    this.#parallel = Math.max(1, init.maxParallelRanges ?? 4)
    this.#idleTimeoutMs = init.idleTimeoutMs ?? 30_000
    this.#maxSkip = init.maxSkipBytes ?? 4 * MiB
    this.#unsubscribe = this.#pool.onReady(this.#origin, () => {
      if (!this.#destroyed) this.emit('unchoke')
    })
  }

  get downloaded(): number {
    return this.#downloaded
  }

  get outstanding(): number {
    return this.#blocks.size
  }

  get maxOutstanding(): number {
    if (this.#destroyed || this.#pool.backoffRemainingMs(this.#origin) > 0) return 0
    return this.#maxBlocks
  }

  has(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.#meta.pieceCount
  }

  request(ref: BlockRef): void {
    if (this.#destroyed) return
    const k = key(ref.index, ref.begin)
    if (this.#blocks.has(k)) return
    const pieceLen = ref.index === this.#meta.pieceCount - 1 ? this.#meta.lastPieceLength : this.#meta.pieceLength
    const valid =
      this.has(ref.index) && Number.isInteger(ref.begin) && Number.isInteger(ref.length) && ref.begin >= 0 && ref.length > 0 && ref.begin + ref.length <= pieceLen
    if (!valid || this.#pool.backoffRemainingMs(this.#origin) > 0) {
      // asynchronous, like a peer's reject, so callers never re-enter themselves
      queueMicrotask(() => this.emit('reject', { ...ref }))
      return
    }
    const start = ref.index * this.#meta.pieceLength + ref.begin
    const block: Block = { ref: { ...ref }, start, end: start + ref.length, state: 'queued', buf: null, filled: 0, job: undefined, at: this.#clock.now() }
    this.#blocks.set(k, block)
    this.#queued.push(block)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => {
        this.#flushScheduled = false
        this.#flush()
      })
    }
  }

  cancel(ref: BlockRef): void {
    const k = key(ref.index, ref.begin)
    const block = this.#blocks.get(k)
    if (!block) return
    this.#blocks.delete(k)
    if (block.state === 'queued') {
      this.#queued = this.#queued.filter((b) => b !== block)
      return
    }
    block.state = 'done'
    block.buf = null
    // stop downloading bytes nobody wants any more
    const job = block.job
    if (!job) return
    for (const s of job.slices) {
      if (s.abort.signal.aborted || block.end <= s.torrentOffset || block.start >= s.torrentOffset + s.length) continue
      let live = false
      for (let i = s.first; i <= s.last && !live; i++) live = (job.blocks[i] as Block).state === 'inflight'
      if (!live) s.abort.abort(new Error('cancelled'))
    }
  }

  /**
   * Blocks requested more than `timeoutMs` ago and still not delivered (queued behind the origin's
   * connection limit or stuck in a slow response). Callers give web seeds a generous timeout.
   */
  timedOutRequests(now: number, timeoutMs: number): BlockRef[] {
    const out: BlockRef[] = []
    for (const b of this.#blocks.values()) if (now - b.at >= timeoutMs) out.push({ ...b.ref })
    return out
  }

  announceHave(): void {}
  setInterested(): void {}
  setChoking(): void {}
  sendBlock(): void {}

  get closed(): boolean {
    return this.#destroyed
  }

  destroy(err?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#unsubscribe()
    for (const job of this.#jobs) for (const s of job.slices) s.abort.abort(new Error('destroyed'))
    this.#jobs.clear()
    this.#blocks.clear()
    this.#queued = []
    this.emit('close', err)
  }

  /**
   * Turn queued blocks into range jobs. A run goes out when it is large (`minRangeBytes`), when
   * the connection would otherwise sit idle, or when it holds at least a piece and fewer than
   * `maxParallelRanges` ranges are in flight. Smaller runs wait: the next job to finish flushes
   * again, and by then neighbours have usually joined them.
   */
  #flush(): void {
    if (this.#destroyed || this.#queued.length === 0) return
    const queued = this.#queued.sort((a, b) => a.start - b.start)
    const small = Math.min(this.#minRange, this.#meta.pieceLength)
    const keep: Block[] = []
    let run: Block[] = []
    let runBytes = 0
    const close = (): void => {
      if (run.length === 0) return
      const jobs = this.#jobs.size
      if (jobs === 0 || runBytes >= this.#minRange || (runBytes >= small && jobs < this.#parallel)) this.#dispatch(run)
      else keep.push(...run)
      run = []
      runBytes = 0
    }
    for (const b of queued) {
      const last = run[run.length - 1]
      if (last && (b.start !== last.end || runBytes + b.ref.length > this.#maxRange)) close()
      run.push(b)
      runBytes += b.ref.length
    }
    close()
    this.#queued = keep
  }

  #dispatch(blocks: Block[]): void {
    const first = blocks[0] as Block
    const last = blocks[blocks.length - 1] as Block
    const job: Job = { blocks, slices: [], running: 0 }
    for (const b of blocks) {
      b.state = 'inflight'
      b.job = job
    }
    let bi = 0
    for (const fs of fileSlices(this.#meta.files, first.start, last.end)) {
      const sliceEnd = fs.torrentOffset + fs.length
      while ((blocks[bi] as Block).end <= fs.torrentOffset) bi++
      let bj = bi
      while (bj + 1 < blocks.length && (blocks[bj + 1] as Block).start < sliceEnd) bj++
      job.slices.push({ ...fs, first: bi, last: bj, cursor: bi, abort: new AbortController() })
    }
    this.#jobs.add(job)
    job.running = job.slices.length
    for (const s of job.slices) void this.#runSlice(job, s)
  }

  async #runSlice(job: Job, s: Slice): Promise<void> {
    if (this.#meta.files[s.fileIndex]?.padding) {
      // BEP 47 padding files are zeros by definition and exist on no origin: never ask for them
      await Promise.resolve()
      if (!this.#destroyed && !s.abort.signal.aborted) this.#onData(job, s, s.torrentOffset, Buffer.alloc(s.length))
      this.#sliceDone(job)
      return
    }
    let release: (() => void) | undefined
    try {
      release = await this.#pool.acquire(this.#origin, s.abort.signal)
      if (this.#destroyed || s.abort.signal.aborted) return
      if (this.#pool.backoffRemainingMs(this.#origin) > 0) {
        // the origin failed while this request waited for a slot: hand the blocks back
        this.#rejectSlice(job, s)
        return
      }
      const startedAt = this.#clock.now()
      const file = this.#meta.files[s.fileIndex]
      try {
        await fetchRange({
          url: this.#fileUrls[s.fileIndex] as string,
          start: s.fileOffset,
          end: s.fileOffset + s.length,
          fileLength: file?.length ?? 0,
          agent: this.#pool.agent(this.#origin),
          idleTimeoutMs: this.#idleTimeoutMs,
          maxSkipBytes: this.#maxSkip,
          signal: s.abort.signal,
          onData: (fileOffset, chunk) => this.#onData(job, s, s.torrentOffset + (fileOffset - s.fileOffset), chunk),
        })
        this.#pool.reportSuccess(this.#origin)
      } catch (err) {
        if (s.abort.signal.aborted || this.#destroyed) return
        const retryAfterMs = err instanceof BitcdnError && typeof err.details.retryAfterMs === 'number' ? err.details.retryAfterMs : 0
        const backoffMs = this.#pool.reportFailure(this.#origin, startedAt, retryAfterMs)
        this.#warn(err, backoffMs)
        this.#rejectSlice(job, s)
        // nothing queued can be served before the backoff ends
        for (const b of this.#queued) this.#reject(b)
        this.#queued = []
      }
    } catch {
      // aborted while waiting for a slot
    } finally {
      release?.()
      this.#sliceDone(job)
    }
  }

  #onData(job: Job, s: Slice, at: number, chunk: Buffer): void {
    const end = at + chunk.length
    while (s.cursor < s.last && (job.blocks[s.cursor] as Block).end <= at) s.cursor++
    for (let i = s.cursor; i <= s.last; i++) {
      const b = job.blocks[i] as Block
      if (b.end <= at) continue
      if (b.start >= end) break
      if (b.state !== 'inflight') continue
      const from = Math.max(at, b.start)
      const to = Math.min(end, b.end)
      if (b.filled === 0 && from === b.start && to === b.end) {
        // the whole block is in this chunk: hand out a view, no copy (socket chunks are never reused)
        this.#complete(b, chunk.subarray(from - at, to - at))
        continue
      }
      b.buf ??= Buffer.allocUnsafe(b.ref.length)
      chunk.copy(b.buf, from - b.start, from - at, to - at)
      b.filled += to - from
      if (b.filled === b.ref.length) this.#complete(b, b.buf)
    }
  }

  #complete(b: Block, data: Buffer): void {
    b.state = 'done'
    b.buf = null
    this.#blocks.delete(key(b.ref.index, b.ref.begin))
    this.#downloaded += b.ref.length
    this.emit('block', b.ref.index, b.ref.begin, data)
  }

  #rejectSlice(job: Job, s: Slice): void {
    for (let i = s.first; i <= s.last; i++) {
      const b = job.blocks[i] as Block
      if (b.state === 'inflight') this.#reject(b)
    }
  }

  #reject(b: Block): void {
    b.state = 'done'
    b.buf = null
    this.#blocks.delete(key(b.ref.index, b.ref.begin))
    this.emit('reject', { ...b.ref })
  }

  #sliceDone(job: Job): void {
    if (--job.running > 0) return
    this.#jobs.delete(job)
    if (this.#destroyed) return
    // every slice settled: a block still waiting for bytes will never get them
    for (const b of job.blocks) if (b.state === 'inflight') this.#reject(b)
    this.#flush()
  }

  #warn(err: unknown, backoffMs: number): void {
    const e = err instanceof BitcdnError ? err : webSeedError('unreachable', `web seed failed: ${String(err)}`, { url: this.id }, err)
    e.details.backoffMs = backoffMs
    this.#log.warn({ code: e.code, backoffMs, err: e.message }, 'web seed request failed; origin backed off')
    this.#onWarning?.(e)
  }
}

/**
 * Open a web seed (BEP 19) as a `PeerConnection` of kind `'webseed'`.
 * @throws BitcdnError `BITCDN_ERR_WEBSEED_URL_INVALID` when `url` is not http(s).
 * @example
 * const ws = createWebSeedConnection({ url: 'https://cdn.example.com/files/', metainfo })
 * ws.on('block', (index, begin, data) => picker.onBlock(index, begin, data))
 * ws.request({ index: 0, begin: 0, length: 16384 })
 */
export function createWebSeedConnection(
  init: WebSeedConnectionInit,
  components: WebSeedConnectionComponents = {},
): PeerConnection {
  return new WebSeedConnection(init, components)
}
