/**
 * Upload read cache: peers ask for 16 KiB blocks, usually in order through a piece. Reading each
 * block from the store is one disk round trip and one allocation per block; reading an aligned
 * chunk (a whole piece, at most 1 MiB) once and serving the following blocks from memory is what
 * libtorrent's read-ahead does. Bounded by bytes, least recently used out first.
 *
 * Chunk buffers are reused: a fresh 1 MiB buffer per chunk is external memory, and V8 answers
 * every few dozen MiB of it with a full mark-compact — most of a seeder's CPU went there. A block
 * handed out pins its chunk until the socket has taken the bytes (`release`), so a buffer is
 * refilled only when no pending write still points into it.
 *
 * A block may be sent as a view of its chunk (no copy) while that is bounded: `mayHold` says so
 * when the chunk is still cached and chunks evicted while still pinned hold less than
 * `maxPinnedBytes`. Memory is then at most the cache, plus `maxPinnedBytes`, plus the chunks that
 * were cached when their views went out — twice the cache and the bound, whatever peers do.
 */
import type { PieceStore } from '@bitcdn/content'

const CHUNK_BYTES = 1024 * 1024

/** A block to upload; call `release` once the bytes were written (or will never be). */
export interface CachedBlock {
  data: Buffer
  release: () => void
  /** The caller may keep `data` as a view until `release` (else copy it and release at once). */
  mayHold: boolean
}

interface Chunk {
  data: Promise<Buffer>
  /** The pooled buffer the chunk was read into (undefined: not ours to reuse). */
  own: Buffer | undefined
  size: number
  /** Blocks handed out and not yet released, plus one while the read is in flight. */
  pins: number
  evicted: boolean
}

const NOOP = () => {}

/**
 * @example
 * const cache = new ReadCache(store, pieceSize, 32 << 20)
 * const block = await cache.read(index, begin, length)
 * socket.write(block.data, block.release)
 */
export class ReadCache {
  readonly #store: PieceStore
  readonly #pieceSize: (index: number) => number
  readonly #maxBytes: number
  readonly #chunkBytes: number
  /** Insertion order is recency order (re-set on hit). */
  readonly #chunks = new Map<number, Chunk>()
  /** Spare chunk buffers (full chunk size), at most as many as the cache holds. */
  readonly #pool: Buffer[] = []
  #bytes = 0
  /** Bytes of evicted chunks that blocks still point into. */
  #pinnedEvicted = 0
  readonly #maxPinned: number

  constructor(store: PieceStore, pieceSize: (index: number) => number, maxBytes = 32 * 1024 * 1024, chunkBytes = CHUNK_BYTES, maxPinnedBytes = maxBytes / 2) {
    this.#store = store
    this.#pieceSize = pieceSize
    this.#maxBytes = maxBytes
    this.#maxPinned = maxPinnedBytes
    this.#chunkBytes = Math.min(chunkBytes, Math.max(1, pieceSize(0)))
  }

  /** Read `length` bytes at `begin` of piece `index`, through the cache. */
  async read(index: number, begin: number, length: number): Promise<CachedBlock> {
    const chunkBytes = this.#chunkBytes
    const chunkIndex = Math.floor(begin / chunkBytes)
    const chunkStart = chunkIndex * chunkBytes
    if (begin + length > chunkStart + chunkBytes) return { data: await this.#store.get(index, begin, length), release: NOOP, mayHold: true } // straddles: rare, its own buffer
    const key = index * 4096 + chunkIndex
    let chunk = this.#chunks.get(key)
    if (chunk !== undefined) {
      this.#chunks.delete(key)
      this.#chunks.set(key, chunk)
    } else {
      chunk = this.#load(key, index, chunkStart)
    }
    chunk.pins++
    const c = chunk
    let buf: Buffer
    try {
      buf = await c.data
    } catch (err) {
      this.#unpin(c)
      throw err
    }
    let released = false
    return {
      data: buf.subarray(begin - chunkStart, begin - chunkStart + length),
      mayHold: !c.evicted && this.#pinnedEvicted < this.#maxPinned,
      release: () => {
        if (released) return
        released = true
        this.#unpin(c)
      },
    }
  }

  clear(): void {
    for (const c of this.#chunks.values()) {
      if (c.pins > 0) this.#pinnedEvicted += c.size
      c.evicted = true
    }
    this.#chunks.clear()
    this.#pool.length = 0
    this.#bytes = 0
  }

  #load(key: number, index: number, chunkStart: number): Chunk {
    const size = Math.min(this.#chunkBytes, this.#pieceSize(index) - chunkStart)
    const own = this.#pool.pop() ?? Buffer.allocUnsafe(this.#chunkBytes)
    const chunk: Chunk = { data: this.#store.get(index, chunkStart, size, own), own, size, pins: 1, evicted: false }
    this.#chunks.set(key, chunk)
    this.#bytes += size
    chunk.data.then(
      () => this.#unpin(chunk),
      () => {
        this.#drop(key, chunk)
        chunk.own = undefined // a failed read may still be writing into it: never reuse
        this.#unpin(chunk)
      },
    )
    while (this.#bytes > this.#maxBytes && this.#chunks.size > 1) {
      const [oldestKey, oldest] = this.#chunks.entries().next().value!
      this.#drop(oldestKey, oldest)
    }
    return chunk
  }

  #drop(key: number, chunk: Chunk): void {
    if (this.#chunks.get(key) !== chunk) return
    this.#chunks.delete(key)
    this.#bytes -= chunk.size
    chunk.evicted = true
    if (chunk.pins === 0) this.#recycle(chunk)
    else this.#pinnedEvicted += chunk.size
  }

  #unpin(chunk: Chunk): void {
    chunk.pins--
    if (chunk.pins === 0 && chunk.evicted) {
      this.#pinnedEvicted -= chunk.size
      this.#recycle(chunk)
    }
  }

  /** Bytes of evicted chunks still pointed into by blocks not yet released (tests, metrics). */
  get pinnedEvictedBytes(): number {
    return this.#pinnedEvicted
  }

  #recycle(chunk: Chunk): void {
    const own = chunk.own
    chunk.own = undefined
    if (own !== undefined && this.#pool.length * this.#chunkBytes < this.#maxBytes) this.#pool.push(own)
  }
}
