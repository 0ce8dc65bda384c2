/**
 * Upload and download limits (bytes/s) over core's `TokenBucket`. A limit of 0 or Infinity means no limit:
 * `take` then always succeeds, so the unlimited hot path costs one comparison.
 */
import type { Clock } from '@bitcdn/core'
import { systemClock, TokenBucket } from '@bitcdn/core'

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
  readonly #bucket: TokenBucket

  constructor(init: RateLimiterInit, clock: Clock = systemClock) {
    const rate = init.bytesPerSecond > 0 && Number.isFinite(init.bytesPerSecond) ? init.bytesPerSecond : 0
    this.#bucket = new TokenBucket({ ratePerSecond: rate, burst: init.burstBytes ?? Math.max(rate, 64 * 1024) }, () => clock.now())
  }

  get unlimited(): boolean {
    return this.#bucket.unlimited
  }

  /** Change the limit at run time (0 = unlimited). */
  setRate(bytesPerSecond: number): void {
    const rate = bytesPerSecond > 0 && Number.isFinite(bytesPerSecond) ? bytesPerSecond : 0
    this.#bucket.set({ ratePerSecond: rate, burst: Math.max(rate, 64 * 1024) })
  }

  /** Spend `n` bytes if the bucket holds them. */
  take(n: number): boolean {
    return this.#bucket.take(n)
  }

  /** Milliseconds until `n` bytes could be taken. */
  waitMs(n: number): number {
    return this.#bucket.waitMs(n)
  }
}
