/**
 * `bitcdn get --timeout`: a download fails when no source delivers a byte for the timeout, rather
 * than after a fixed total time, so a slow but moving download never fails and a dead one fails
 * as soon as it is clearly dead.
 */

export interface StallWatchdog {
  /** Record the byte counter's value now; returns true once it has not moved for the timeout. */
  stalled(bytes: number, nowMs?: number): boolean
}

/**
 * @example
 * const watchdog = createStallWatchdog(60_000)
 * setInterval(() => { if (watchdog.stalled(stats().downloaded)) fail() }, 250)
 */
export function createStallWatchdog(timeoutMs: number, startMs = Date.now()): StallWatchdog {
  let lastBytes: number | undefined
  let lastChange = startMs
  return {
    stalled(bytes, nowMs = Date.now()) {
      if (bytes !== lastBytes) {
        lastBytes = bytes
        lastChange = nowMs
        return false
      }
      return nowMs - lastChange > timeoutMs
    },
  }
}
