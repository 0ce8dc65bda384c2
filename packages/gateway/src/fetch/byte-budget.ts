/**
 * A budget of bytes in flight (piece buffers held for responses across the gateway): a response
 * takes a piece's bytes before fetching it and gives them back once the bytes were handed to the
 * socket, so memory stays bounded however many clients read slowly. Waiters are served in order.
 */

interface Waiter {
  bytes: number
  grant: () => void
  signal?: AbortSignal
  onAbort?: () => void
}

export class ByteBudget {
  readonly #limit: number
  #used = 0
  readonly #waiters: Waiter[] = []

  constructor(limitBytes: number) {
    this.#limit = limitBytes
  }

  get used(): number {
    return this.#used
  }

  /**
   * Resolves once `bytes` are granted (at once if one request alone is larger than the limit and
   * nothing else is in flight). Rejects with `signal.reason` when aborted.
   * @example
   * await budget.take(pieceLength, signal); try { ... } finally { budget.give(pieceLength) }
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#used += bytes
      return Promise.resolve()
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const w: Waiter = { bytes, grant: resolve, signal }
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w)
          if (i >= 0) this.#waiters.splice(i, 1)
          reject(signal.reason)
          this.#drain()
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.#waiters.push(w)
    })
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes)
    this.#drain()
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limit
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const w = this.#waiters.shift()!
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      this.#used += w.bytes
      w.grant()
    }
  }
}
