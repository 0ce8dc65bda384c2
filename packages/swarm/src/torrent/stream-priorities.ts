/**
 * What readers wait for: each read stream raises the priority of the pieces it needs (the next
 * one highest), and waits for them to be verified. A piece's priority is the highest any open
 * stream gives it, and falls back to normal when the streams close.
 */
import { PRIORITY_NORMAL, type PiecePicker } from '../picker/piece-picker.js'
import { swarmError } from '../errors.js'

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * @example
 * const streams = new StreamPriorities(() => picker, () => downloads.fillAll())
 * await streams.waitForPiece(7)
 */
export class StreamPriorities {
  readonly #picker: () => PiecePicker | undefined
  readonly #changed: () => void
  readonly #waiters = new Map<number, Waiter[]>()
  readonly #byStream = new Map<number, Map<number, number>>()
  readonly #fallback: number
  #stopped: Error | undefined

  /** `fallback`: a piece's priority when no stream asks for it (skip for on-demand torrents). */
  constructor(picker: () => PiecePicker | undefined, changed: () => void, fallback: number = PRIORITY_NORMAL) {
    this.#picker = picker
    this.#changed = changed
    this.#fallback = fallback
  }

  /** Resolves once piece `index` is verified and stored. */
  waitForPiece(index: number): Promise<void> {
    if (this.#picker()?.has(index)) return Promise.resolve()
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped)
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(index) ?? []
      list.push({ resolve, reject })
      this.#waiters.set(index, list)
    })
  }

  /** Piece `index` is stored: wake its readers. */
  stored(index: number): void {
    const waiters = this.#waiters.get(index)
    if (waiters === undefined) return
    this.#waiters.delete(index)
    for (const w of waiters) w.resolve()
  }

  /** Set (or with undefined, clear) the priorities one stream asks for. */
  set(id: number, prios: Map<number, number> | undefined): void {
    const picker = this.#picker()
    if (picker === undefined) return
    const touched = new Set<number>([...(this.#byStream.get(id)?.keys() ?? []), ...(prios?.keys() ?? [])])
    if (prios === undefined) this.#byStream.delete(id)
    else this.#byStream.set(id, prios)
    for (const i of touched) {
      let p = this.#fallback
      for (const s of this.#byStream.values()) p = Math.max(p, s.get(i) ?? 0)
      picker.setPriority(i, p)
    }
    this.#changed()
  }

  /** Reject every waiter: the torrent stopped. */
  stop(infoHash: string): void {
    this.#stopped = swarmError('stopped', `torrent ${infoHash} stopped`)
    for (const ws of this.#waiters.values()) for (const w of ws) w.reject(this.#stopped)
    this.#waiters.clear()
  }
}
