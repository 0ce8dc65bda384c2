/**
 * The one rate meter of the swarm: bytes per second as an exponential average (weight ½) over
 * windows of at least `windowMs`. Used for each connection's download and upload rate (what the
 * choker ranks and the pipeline is sized by) and a torrent's totals.
 */

export interface RateMeterInit {
  /** A window closes once this much time passed since it opened, ms. @default 250 */
  windowMs?: number
  /**
   * Reading the rate after two windows without bytes folds in an empty window, so an idle
   * source decays to 0 instead of keeping its last rate. Off for meters fed on a fixed tick.
   * @default true
   */
  idleDecay?: boolean
}

/**
 * @example
 * const meter = new RateMeter({ windowMs: 250 })
 * meter.add(block.length)
 * meter.rate() // bytes/s
 */
export class RateMeter {
  readonly #windowMs: number
  readonly #idleDecay: boolean
  #windowStart: number
  #windowBytes = 0
  #rate = 0

  constructor(init: RateMeterInit = {}, now = Date.now()) {
    this.#windowMs = init.windowMs ?? 250
    this.#idleDecay = init.idleDecay ?? true
    this.#windowStart = now
  }

  /** Count `n` bytes; true when this closed a window (the rate changed). */
  add(n: number, now = Date.now()): boolean {
    this.#windowBytes += n
    const elapsed = now - this.#windowStart
    if (elapsed < this.#windowMs || elapsed <= 0) return false
    const inst = (this.#windowBytes * 1000) / elapsed
    // the first window sets the rate outright: no ramp from zero for a fresh connection
    this.#rate = this.#rate === 0 ? inst : this.#rate * 0.5 + inst * 0.5
    this.#windowStart = now
    this.#windowBytes = 0
    return true
  }

  /** Bytes/s, recent. */
  rate(now = Date.now()): number {
    if (this.#idleDecay && now - this.#windowStart > 2 * this.#windowMs) this.add(0, now)
    return this.#rate
  }
}
