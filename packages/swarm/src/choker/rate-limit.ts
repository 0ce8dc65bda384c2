/**
 * Token bucket for upload and download limits (bytes/s). A limit of 0 or Infinity means no limit:
 * `take` then always succeeds, so the unlimited hot path costs one comparison.
 */
import type { Clock } from '@bitcdn/core'
import { systemClock } from '@bitcdn/core'

export interface RateLimiterInit {
  /** Bytes per second; 0 = unlimited. */
  bytesPerSecond: number
  /** Largest burst in bytes. @default one second's worth, at least 64 KiB */
  burstBytes?: number
}

/**
 * @example
 * const up = new RateLimiter({ bytesPerSecond: 1 << 20 })
 * if (up.take(16384)) send() else setTimeout(retry, up.waitMs(16384))
 */
export class RateLimiter {
  #rate: number
  #burst: number
  #tokens: number
  #last: number
  readonly #clock: Clock

  constructor(init: RateLimiterInit, clock: Clock = systemClock) {
    this.#clock = clock
    this.#rate = init.bytesPerSecond > 0 && Number.isFinite(init.bytesPerSecond) ? init.bytesPerSecond : 0
    this.#burst = init.burstBytes ?? Math.max(this.#rate, 64 * 1024)
    this.#tokens = this.#burst
    this.#last = clock.now()
  }

  get unlimited(): boolean {
    return this.#rate === 0
  }

  /** Change the limit at run time (0 = unlimited). */
  setRate(bytesPerSecond: number): void {
    this.#refill()
    this.#rate = bytesPerSecond > 0 && Number.isFinite(bytesPerSecond) ? bytesPerSecond : 0
    this.#burst = Math.max(this.#rate, 64 * 1024)
    this.#tokens = Math.min(this.#tokens, this.#burst)
  }

  /** Spend `n` bytes if the bucket holds them. */
  take(n: number): boolean {
    if (this.#rate === 0) return true
    this.#refill()
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** Milliseconds until `n` bytes could be taken. */
  waitMs(n: number): number {
    if (this.#rate === 0) return 0
    this.#refill()
    return this.#tokens >= n ? 0 : Math.ceil(((n - this.#tokens) / this.#rate) * 1000)
  }

  #refill(): void {
    const now = this.#clock.now()
    const elapsed = now - this.#last
    if (elapsed <= 0) return
    this.#last = now
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate)
  }
}
