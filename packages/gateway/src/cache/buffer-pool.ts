/**
 * Piece-sized read buffers, reused. A fresh 256 KiB buffer per cached piece read is external
 * memory, and V8 answers every few dozen MiB of it with a full mark-compact: a third of the warm
 * path's CPU went to the collector (measured; the swarm's upload read cache found the same). A
 * buffer comes back once the socket has taken its bytes (`release` from the write callback), so
 * no pending write ever points into a buffer being refilled.
 */

export class BufferPool {
  readonly #free = new Map<number, Buffer[]>()
  // pooled buffers by their memory, so a view (subarray) finds its buffer; and which are free
  readonly #ours = new WeakMap<ArrayBufferLike, Buffer>()
  readonly #isFree = new WeakSet<ArrayBufferLike>()
  readonly #maxBytes: number
  #freeBytes = 0

  /** `maxBytes`: free buffers kept at most (beyond it a released buffer is left to the GC). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /**
   * A buffer of exactly `size` bytes (contents undefined).
   * @example const b = pool.take(262145); ...; pool.release(b)
   */
  take(size: number): Buffer {
    const b = this.#free.get(size)?.pop()
    if (b !== undefined) {
      this.#freeBytes -= size
      this.#isFree.delete(b.buffer)
      return b
    }
    // its own ArrayBuffer (not a slice of Node's shared pool), so the memory names the buffer
    const fresh = Buffer.allocUnsafeSlow(size)
    this.#ours.set(fresh.buffer, fresh)
    return fresh
  }

  /**
   * Take a buffer from `take` (or a view of one) out of the pool for good: a later `release` of it
   * is ignored, so whoever keeps it may hand it out again. False when it is not one of ours.
   */
  disown(buf: Buffer): boolean {
    const whole = this.#ours.get(buf.buffer)
    if (whole === undefined || this.#isFree.has(whole.buffer)) return false
    this.#ours.delete(whole.buffer)
    return true
  }

  /** Give back a buffer from `take`, or a view of one; anything else, or a second release, is ignored. */
  release(buf: Buffer): void {
    const whole = this.#ours.get(buf.buffer)
    if (whole === undefined || this.#isFree.has(whole.buffer)) return
    if (this.#freeBytes + whole.length > this.#maxBytes) return
    let list = this.#free.get(whole.length)
    if (list === undefined) this.#free.set(whole.length, (list = []))
    list.push(whole)
    this.#isFree.add(whole.buffer)
    this.#freeBytes += whole.length
  }
}
