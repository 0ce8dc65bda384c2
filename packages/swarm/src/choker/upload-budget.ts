/**
 * The client-wide bound on upload read-ahead: bytes read from storage for peers and not yet handed
 * to the kernel. Without it a peer that queues requests and never reads makes the seeder read
 * blocks into its socket buffer without end (10 such peers took a seeder from 140 MB to 3.5 GB).
 * Blocks take from the budget before their read and give back once the socket flushed them; a
 * peer that finds it empty waits in line and is woken when bytes come back.
 */

export interface UploadBudgetInit {
  /** Bytes read for uploads and not yet flushed, across all peers. @default 64 MiB */
  maxBytes?: number
}

/**
 * @example
 * const budget = new UploadBudget({ maxBytes: 64 << 20 })
 * if (budget.take(16384)) read().then(send).finally(() => budget.release(16384))
 * else budget.wait(retry)
 */
export class UploadBudget {
  readonly maxBytes: number
  #used = 0
  /** Callers waiting for bytes, each once (a Set: a peer never waits twice). */
  readonly #waiting = new Set<() => void>()

  constructor(init: UploadBudgetInit = {}) {
    this.maxBytes = init.maxBytes ?? 64 * 1024 * 1024
  }

  /** Bytes taken and not yet released. */
  get used(): number {
    return this.#used
  }

  /**
   * Take `n` bytes if they fit (one block always fits an empty budget); `always` takes them over
   * the bound (a peer's small guaranteed floor, so a few peers cannot starve the rest).
   */
  take(n: number, always = false): boolean {
    if (!always && this.#used > 0 && this.#used + n > this.maxBytes) return false
    this.#used += n
    return true
  }

  release(n: number): void {
    this.#used = Math.max(0, this.#used - n)
    if (this.#waiting.size === 0 || this.#used >= this.maxBytes) return
    const woken = [...this.#waiting]
    this.#waiting.clear()
    for (const f of woken) f()
  }

  /** Call `retry` once bytes come back. */
  wait(retry: () => void): void {
    this.#waiting.add(retry)
  }

  /** Stop waiting (a closed peer). */
  cancel(retry: () => void): void {
    this.#waiting.delete(retry)
  }
}
