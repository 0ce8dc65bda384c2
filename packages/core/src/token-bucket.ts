/**
 * The one token bucket of BitCDN: `rate` tokens per second up to `burst`. The swarm's rate limits
 * (bytes), the seller's payer-lookup gate and per-peer signature budgets (checks) all take from one.
 * A rate of 0 or Infinity means no limit: `take` always succeeds at the cost of one comparison.
 */

export interface TokenBucketInit {
  /** Tokens regained per second; 0 = unlimited. */
  ratePerSecond: number
  /** The most tokens held (and the start). */
  burst: number
}

/**
 * @example
 * const bucket = new TokenBucket({ ratePerSecond: 2, burst: 16 })
 * if (!bucket.take()) throw tooMany()
 */
export class TokenBucket {
  #rate: number
  #burst: number
  #tokens: number
  #last: number
  readonly #now: () => number

  constructor(init: TokenBucketInit, now: () => number = Date.now) {
    this.#now = now
    this.#rate = init.ratePerSecond > 0 && Number.isFinite(init.ratePerSecond) ? init.ratePerSecond : 0
    this.#burst = init.burst
    this.#tokens = init.burst
    this.#last = now()
  }

  get unlimited(): boolean {
    return this.#rate === 0
  }

  /** Change the rate and burst at run time (tokens held are kept, up to the new burst). */
  set(init: TokenBucketInit): void {
    this.#refill()
    this.#rate = init.ratePerSecond > 0 && Number.isFinite(init.ratePerSecond) ? init.ratePerSecond : 0
    this.#burst = init.burst
    this.#tokens = Math.min(this.#tokens, this.#burst)
  }

  /** Spend `n` tokens if the bucket holds them. */
  take(n = 1): boolean {
    if (this.#rate === 0) return true
    this.#refill()
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** Milliseconds until `n` tokens could be taken. */
  waitMs(n = 1): number {
    if (this.#rate === 0) return 0
    this.#refill()
    return this.#tokens >= n ? 0 : Math.ceil(((n - this.#tokens) / this.#rate) * 1000)
  }

  #refill(): void {
    const now = this.#now()
    const elapsed = now - this.#last
    if (elapsed <= 0) return
    this.#last = now
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate)
  }
}
