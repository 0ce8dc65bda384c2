/**
 * When a web seed gets pieces, and which. BitTorrent peers come first: a web seed (BEP 19) takes
 * the pieces no peer has, pieces a reader waits for, or anything once peers stalled. It takes
 * them in runs of adjacent pieces, continuing after the last piece it was given, so its HTTP
 * ranges span many pieces instead of one request per randomly picked piece.
 *
 * A piece from a web seed that fails its hash does not ban the origin (a CDN serving a stale or
 * damaged copy of one file is not an attacker, and it may be the only source): the piece is
 * fetched again, from a BitTorrent peer when one has it, else from the web seed once more, and
 * after `MAX_WEBSEED_FAILURES` failures only from peers.
 */
import type { PickOptions } from '../picker/piece-picker.js'
import type { BlockRef } from '../peer-connection.js'
import type { SessionState } from './session-state.js'

/** A web seed may take any piece once BitTorrent peers delivered nothing for this long. */
const WEBSEED_STALL_MS = 3000
/** Priority from which a piece is wanted now (a reader waits): every source may help. */
const URGENT_PRIORITY = 6
/** Hash failures of one piece from web seeds before web seeds stop getting it. */
export const MAX_WEBSEED_FAILURES = 2

/** True for a connection id that is a web seed (its URL). */
export const isWebSeedId = (id: string): boolean => id.startsWith('http://') || id.startsWith('https://')

/**
 * @example
 * const ws = new WebSeedScheduler(state)
 * requestBlocks(conn, picker, { ...ws.pickOptions(conn.id) })
 */
export class WebSeedScheduler {
  readonly #state: SessionState
  #lastBtBlockAt = Date.now()
  /** Per web seed: the piece after the last one it was given. */
  readonly #next = new Map<string, number>()
  /** Per piece: hash failures of web-seed bytes. */
  readonly #failures = new Map<number, number>()

  constructor(state: SessionState) {
    this.#state = state
  }

  /** A BitTorrent peer delivered a block (peers are not stalled). */
  peerDelivered(now: number): void {
    this.#lastBtBlockAt = now
  }

  /** The pick options for web seed `id`: which pieces, and from where to run on. */
  pickOptions(id: string): Pick<PickOptions, 'filter' | 'sequentialFrom'> {
    return { filter: this.#filter, sequentialFrom: this.#next.get(id) ?? 0 }
  }

  /** Blocks were requested from web seed `id`: its next run continues after them. */
  picked(id: string, refs: BlockRef[]): void {
    if (refs.length === 0) return
    let last = -1
    for (const r of refs) if (r.index > last) last = r.index
    this.#next.set(id, last + 1)
  }

  /**
   * Piece `index` with bytes from web seeds failed its hash. Returns the sources the refetch
   * should avoid: all of them when a BitTorrent peer has the piece, else none (the same origin
   * tries again; after too many failures the filter keeps web seeds off the piece).
   */
  hashFailed(index: number, sources: Set<string>, peerHasIt: boolean): Set<string> {
    this.#failures.set(index, (this.#failures.get(index) ?? 0) + 1)
    return peerHasIt ? sources : new Set([...sources].filter((s) => !isWebSeedId(s)))
  }

  /** True once web seeds failed piece `index` too often to be asked for it again. */
  gaveUp(index: number): boolean {
    return (this.#failures.get(index) ?? 0) >= MAX_WEBSEED_FAILURES
  }

  forget(id: string): void {
    this.#next.delete(id)
  }

  readonly #filter = (index: number): boolean => {
    const picker = this.#state.picker!
    if (this.gaveUp(index)) return false
    return picker.availability(index) === 0 || picker.priority(index) >= URGENT_PRIORITY || Date.now() - this.#lastBtBlockAt > WEBSEED_STALL_MS
  }
}
