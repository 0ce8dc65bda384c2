/**
 * Upload read cache: peers ask for 16 KiB blocks, usually in order through a piece. Reading each
 * block from the store is one disk round trip and one allocation per block; reading an aligned
 * chunk (a whole piece, at most 1 MiB) once and serving the following blocks from memory is what
 * libtorrent's read-ahead does. Bounded by bytes, least recently used out first.
 */
import type { PieceStore } from '@bitcdn/content'

const CHUNK_BYTES = 1024 * 1024

/**
 * @example
 * const cache = new ReadCache(store, pieceSize, 32 << 20)
 * const block = await cache.read(index, begin, length)
 */
export class ReadCache {
  readonly #store: PieceStore
  readonly #pieceSize: (index: number) => number
  readonly #maxBytes: number
  readonly #chunkBytes: number
  /** Insertion order is recency order (re-set on hit). */
  readonly #chunks = new Map<number, Promise<Buffer>>()
  #bytes = 0

  constructor(store: PieceStore, pieceSize: (index: number) => number, maxBytes = 32 * 1024 * 1024, chunkBytes = CHUNK_BYTES) {
    this.#store = store
    this.#pieceSize = pieceSize
    this.#maxBytes = maxBytes
    this.#chunkBytes = chunkBytes
  }

  /** Read `length` bytes at `begin` of piece `index`, through the cache. */
  async read(index: number, begin: number, length: number): Promise<Buffer> {
    const chunk = Math.floor(begin / this.#chunkBytes)
    const chunkStart = chunk * this.#chunkBytes
    if (begin + length > chunkStart + this.#chunkBytes) return this.#store.get(index, begin, length) // straddles: rare
    const key = index * 4096 + chunk
    let p = this.#chunks.get(key)
    if (p !== undefined) {
      this.#chunks.delete(key)
      this.#chunks.set(key, p)
    } else {
      const size = Math.min(this.#chunkBytes, this.#pieceSize(index) - chunkStart)
      p = this.#store.get(index, chunkStart, size)
      this.#chunks.set(key, p)
      this.#bytes += size
      p.catch(() => this.#drop(key, size))
      while (this.#bytes > this.#maxBytes && this.#chunks.size > 1) {
        const oldest = this.#chunks.keys().next().value!
        this.#drop(oldest, this.#sizeOf(oldest))
      }
    }
    const buf = await p
    return buf.subarray(begin - chunkStart, begin - chunkStart + length)
  }

  clear(): void {
    this.#chunks.clear()
    this.#bytes = 0
  }

  #sizeOf(key: number): number {
    const index = Math.floor(key / 4096)
    const chunkStart = (key % 4096) * this.#chunkBytes
    return Math.min(this.#chunkBytes, this.#pieceSize(index) - chunkStart)
  }

  #drop(key: number, size: number): void {
    if (this.#chunks.delete(key)) this.#bytes -= size
  }
}
