/**
 * Spotting sequential readers (a video player, a CDN slicing a file into ranges): a request that
 * starts where an earlier one for the same torrent ended gets read-ahead beyond its range. A small
 * bounded map of recent range ends; old entries fall out first.
 */

export class SequentialReaders {
  readonly #ends = new Map<string, number>()
  readonly #max: number

  constructor(maxEntries = 10_000) {
    this.#max = maxEntries
  }

  /**
   * Record a range `[first, last]` (torrent offsets); true if it continues an earlier one.
   * @example
   * readers.seen(ih, 0, 1023); readers.seen(ih, 1024, 2047) // true
   */
  seen(infoHash: string, first: number, last: number): boolean {
    const key = `${infoHash}:${first}`
    const continues = this.#ends.has(key)
    this.#ends.delete(key)
    this.#ends.set(`${infoHash}:${last + 1}`, Date.now())
    while (this.#ends.size > this.#max) this.#ends.delete(this.#ends.keys().next().value!)
    return continues
  }
}
