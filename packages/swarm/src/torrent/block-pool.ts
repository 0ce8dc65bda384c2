/**
 * Reused buffers for upload blocks copied out of the read cache. A fresh 16 KiB buffer per block
 * is its own ArrayBuffer of external memory: at line rate that is 65,536 of them per GiB, and V8
 * answered them with mark-compacts that took a fifth of a seeder's CPU. Buffers of the common
 * block size come back here once the socket wrote them; the pool keeps at most `maxBytes`.
 */

/** The block size every client asks for (BEP 3 recommends 16 KiB; larger requests are rare). */
const POOLED_BYTES = 16 * 1024

/**
 * @example
 * const pool = new BlockPool()
 * const block = pool.copy(view)
 * socket.write(block, () => pool.recycle(block))
 */
export class BlockPool {
  readonly #free: Buffer[] = []
  readonly #maxFree: number

  /** @param maxBytes spare bytes kept for reuse (one fast peer's read-ahead cycles within 4 MiB). */
  constructor(maxBytes = 8 * 1024 * 1024) {
    this.#maxFree = Math.floor(maxBytes / POOLED_BYTES)
  }

  /** A copy of `data` in a buffer of its own (pooled when it is 16 KiB). */
  copy(data: Uint8Array): Buffer {
    if (data.byteLength !== POOLED_BYTES) return Buffer.from(data)
    const out = this.#free.pop() ?? Buffer.allocUnsafeSlow(POOLED_BYTES)
    out.set(data)
    return out
  }

  /** Give back a buffer from `copy` once nothing reads it any more. */
  recycle(buf: Buffer): void {
    if (buf.byteLength === POOLED_BYTES && buf.buffer.byteLength === POOLED_BYTES && this.#free.length < this.#maxFree) this.#free.push(buf)
  }

  /** Spare buffers held (tests, metrics). */
  get spare(): number {
    return this.#free.length
  }
}
