/**
 * A transfer rate from a counter sampled over time: bytes gained over the last few seconds. The
 * progress bar measures its own rate this way so it shows movement from the first redraw, rather
 * than waiting for the engine's once-a-second estimate to warm up.
 */

export interface RateMeter {
  /** Record the counter's value now; returns the rate in bytes/s over the window. */
  sample(total: number, nowMs?: number): number
}

/**
 * @example
 * const meter = createRateMeter(3000)
 * setInterval(() => console.log(meter.sample(stats().downloaded)), 250)
 */
export function createRateMeter(windowMs = 3000): RateMeter {
  const samples: Array<{ t: number; total: number }> = []
  return {
    sample(total, nowMs = Date.now()) {
      samples.push({ t: nowMs, total })
      while (samples.length > 2 && nowMs - samples[1]!.t >= windowMs) samples.shift()
      const first = samples[0]!
      const dt = (nowMs - first.t) / 1000
      return dt > 0 ? Math.max(0, (total - first.total) / dt) : 0
    },
  }
}
