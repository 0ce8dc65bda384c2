/**
 * The piece picker (libtorrent's `piece_picker`): which block to ask which peer for next. It knows
 * pieces, 16 KiB blocks, per-block state, availability and priorities — never sockets or time, so
 * it is tested from strings alone.
 *
 * Policy, in order: higher priority first (7 = needed now by a reader, 1 = normal, 0 = skip); within
 * a priority, finish pieces already started (fewer partial pieces in memory, pieces verify sooner),
 * then rarest first with a random tie-break fixed per piece; when every wanted block is requested,
 * endgame: hand already-requested blocks to a second peer, and the caller cancels the loser.
 *
 * Cost: picking never scans all pieces per block. Unstarted pieces live in one sorted order that is
 * rebuilt lazily (at once after a priority change, after a bounded number of picks after an
 * availability change — rarest-first needs to be roughly right, not exact), and a head cursor
 * skips the consumed front.
 */
import { pieceSize } from '@bitcdn/content'
import type { BlockRef } from '../peer-connection.js'

/** BitTorrent's de-facto block size; peers may refuse anything larger. */
export const BLOCK_SIZE = 16 * 1024
/** The highest priority: a reader is waiting on this piece. */
export const PRIORITY_NOW = 7
export const PRIORITY_NORMAL = 1
export const PRIORITY_SKIP = 0

const OPEN = 0
const REQUESTED = 1
const RECEIVED = 2
/** From this priority up, partial pieces are shared by all peers. */
const URGENT = 6
/** Rebuild the rarest-first order after this many picks once availability changed. */
const REBUILD_EVERY_PICKS = 32

export interface PiecePickerInit {
  pieceCount: number
  /** Bytes per piece (the last may be shorter). */
  pieceLength: number
  /** Total bytes of the torrent. */
  length: number
  /** @default 16384 */
  blockSize?: number
  /** Random source for the tie-break (tests pass a seeded one). @default Math.random */
  random?: () => number
}

/** The peer a pick is for: its key and its have-set. */
export interface PickPeer {
  id: string
  has(index: number): boolean
}

export interface PickOptions {
  /** Most blocks to return. */
  max: number
  /** Only consider pieces this accepts (web seeds take what BitTorrent peers do not supply). */
  filter?: (index: number) => boolean
  /** Allow endgame duplicates when nothing is left unrequested. @default true */
  endgame?: boolean
  /**
   * Most duplicate blocks one endgame pick hands out. Every duplicate is a block some seeder may
   * send twice (cancels often arrive after the block left), so endgame asks in small rounds.
   * @default 4
   */
  endgameMax?: number
  /**
   * Start unstarted pieces in index order from this piece (wrapping), not rarest first: a web
   * seed then gets runs of adjacent pieces it fetches as one HTTP range. @default rarest first
   */
  sequentialFrom?: number
}

/** What `received` learned about a block. */
export interface ReceivedResult {
  /** False for a duplicate or a block of a piece we do not want (drop the data). */
  accepted: boolean
  /** Other peers that were asked for this block (endgame): cancel it there. */
  others: string[]
  /** True when this was the last missing block of the piece: verify it now. */
  pieceComplete: boolean
}

interface PartialPiece {
  index: number
  state: Uint8Array
  /** First requester of each block (undefined when open or received). */
  owner: (string | undefined)[]
  /** Endgame: further requesters per block. */
  dup: Map<number, string[]> | undefined
  open: number
  received: number
  /** Lowest block index that may still be open. */
  cursor: number
  /**
   * The peer that started the piece: others leave its open blocks alone while unstarted pieces
   * remain (libtorrent's whole-piece affinity), so each piece comes from one peer — one read
   * per piece on the seeder, one source to blame on a hash failure.
   */
  affinity: string | undefined
  /** After a hash failure the piece is fetched whole from one peer, not one of `avoid`. */
  refetch: { owner: string | undefined; avoid: Set<string> } | undefined
}

/**
 * Block-level download state of one torrent.
 * @example
 * const picker = new PiecePicker({ pieceCount: 4, pieceLength: 32768, length: 131072 })
 * picker.addSeed()
 * const blocks = picker.pick({ id: 'a', has: () => true }, { max: 8 })
 * for (const b of blocks) conn.request(b)
 */
export class PiecePicker {
  readonly pieceCount: number
  readonly pieceLength: number
  readonly length: number
  readonly blockSize: number

  readonly #have: Uint8Array
  readonly #priority: Uint8Array
  readonly #availability: Uint32Array
  readonly #tiebreak: Float64Array
  readonly #partials = new Map<number, PartialPiece>()
  #seeds = 0
  #haveCount = 0
  /** Pieces not had with priority > 0. */
  #wantedMissing = 0
  /** Of those, not yet started (still in the order). */
  #unstartedWanted = 0
  #order: Int32Array = new Int32Array(0)
  #head = 0
  #priorityDirty = true
  #availabilityDirty = false
  #picksSinceRebuild = 0

  constructor(init: PiecePickerInit) {
    this.pieceCount = init.pieceCount
    this.pieceLength = init.pieceLength
    this.length = init.length
    this.blockSize = init.blockSize ?? BLOCK_SIZE
    this.#have = new Uint8Array(this.pieceCount)
    this.#priority = new Uint8Array(this.pieceCount).fill(PRIORITY_NORMAL)
    this.#availability = new Uint32Array(this.pieceCount)
    this.#tiebreak = new Float64Array(this.pieceCount)
    const random = init.random ?? Math.random
    for (let i = 0; i < this.pieceCount; i++) this.#tiebreak[i] = random()
    this.#wantedMissing = this.pieceCount
    this.#unstartedWanted = this.pieceCount
  }

  // ---- geometry ----

  /** Byte length of piece `index`. */
  pieceSize(index: number): number {
    return pieceSize(this, index)
  }

  /** Number of blocks of piece `index`. */
  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / this.blockSize)
  }

  /** Byte length of block `block` of piece `index`. */
  blockLength(index: number, block: number): number {
    return Math.min(this.blockSize, this.pieceSize(index) - block * this.blockSize)
  }

  /** True if `ref` is exactly one of the torrent's blocks (what we ever request). */
  isValidBlock(ref: BlockRef): boolean {
    if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index >= this.pieceCount) return false
    if (ref.begin % this.blockSize !== 0) return false
    const block = ref.begin / this.blockSize
    return block < this.blockCount(ref.index) && ref.length === this.blockLength(ref.index, block)
  }

  // ---- have ----

  /** True once piece `index` is verified and stored. */
  has(index: number): boolean {
    return this.#have[index] === 1
  }

  get haveCount(): number {
    return this.#haveCount
  }

  /** True when every piece with priority > 0 is had. */
  get isDone(): boolean {
    return this.#wantedMissing === 0
  }

  /** True when every piece is had (we are a seed). */
  get isSeed(): boolean {
    return this.#haveCount === this.pieceCount
  }

  /** Record a verified, stored piece. */
  setHave(index: number): void {
    if (this.#have[index] === 1) return
    const partial = this.#partials.get(index)
    const wanted = this.#priority[index]! > 0
    if (wanted) {
      this.#wantedMissing--
      if (partial === undefined) this.#unstartedWanted--
    }
    this.#partials.delete(index)
    this.#have[index] = 1
    this.#haveCount++
  }

  /** Forget a piece (its bytes left the store, e.g. a bounded cache evicted them): wanted again if its priority says so. */
  clearHave(index: number): void {
    if (this.#have[index] !== 1) return
    this.#have[index] = 0
    this.#haveCount--
    if (this.#priority[index]! > 0) {
      this.#wantedMissing++
      this.#unstartedWanted++
    }
    this.#priorityDirty = true
  }

  // ---- availability ----

  /** Copies of piece `index` among connected peers. */
  availability(index: number): number {
    return this.#availability[index]! + this.#seeds
  }

  /** A peer that has everything joined: O(1), does not reorder anything. */
  addSeed(): void {
    this.#seeds++
  }

  removeSeed(): void {
    if (this.#seeds > 0) this.#seeds--
  }

  incAvailability(index: number): void {
    this.#availability[index]!++
    this.#availabilityDirty = true
  }

  decAvailability(index: number): void {
    if (this.#availability[index]! > 0) this.#availability[index]!--
    this.#availabilityDirty = true
  }

  /** A peer's have-set joined (bitfield): count each piece it has. */
  addPeer(has: (index: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) if (has(i)) this.#availability[i]!++
    this.#availabilityDirty = true
  }

  removePeer(has: (index: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) if (has(i) && this.#availability[i]! > 0) this.#availability[i]!--
    this.#availabilityDirty = true
  }

  // ---- priority ----

  priority(index: number): number {
    return this.#priority[index]!
  }

  /** Set piece priority 0..7; 0 = do not download. */
  setPriority(index: number, priority: number): void {
    const p = Math.max(0, Math.min(PRIORITY_NOW, Math.trunc(priority)))
    const old = this.#priority[index]!
    if (old === p) return
    this.#priority[index] = p
    if (this.#have[index] === 0 && (old === 0) !== (p === 0)) {
      const delta = p === 0 ? -1 : 1
      this.#wantedMissing += delta
      if (!this.#partials.has(index)) this.#unstartedWanted += delta
    }
    this.#priorityDirty = true
  }

  // ---- picking ----

  /**
   * Choose up to `max` blocks for `peer` and mark them requested by it.
   * @example
   * const refs = picker.pick(peer, { max: conn.maxOutstanding - conn.outstanding })
   */
  pick(peer: PickPeer, opts: PickOptions): BlockRef[] {
    const out: BlockRef[] = []
    if (opts.max <= 0 || this.#wantedMissing === 0) return out
    this.#maybeRebuild()
    const filter = opts.filter
    let pos = this.#head
    const order = this.#order
    for (let level = PRIORITY_NOW; level >= 1 && out.length < opts.max; level--) {
      // finish started pieces of this level first
      for (const partial of this.#partials.values()) {
        if (out.length >= opts.max) break
        if (partial.open === 0 || this.#priority[partial.index] !== level) continue
        // urgent pieces (a reader waits) are shared by everyone; others stay with their peer
        if (level < URGENT && partial.affinity !== undefined && partial.affinity !== peer.id) continue
        if (!peer.has(partial.index) || (filter !== undefined && !filter(partial.index))) continue
        this.#takeBlocks(partial, peer.id, opts.max, out)
      }
      if (opts.sequentialFrom !== undefined) {
        this.#pickSequential(peer, level, opts.sequentialFrom, opts.max, filter, out)
        continue
      }
      // then unstarted pieces, rarest first (the order is sorted by priority, then rarity)
      for (; pos < order.length && out.length < opts.max; pos++) {
        const index = order[pos]!
        if (this.#have[index] === 1 || this.#partials.has(index)) {
          if (pos === this.#head) this.#head++
          continue
        }
        const prio = this.#priority[index]!
        if (prio < level) break
        if (prio === 0 || !peer.has(index) || (filter !== undefined && !filter(index))) continue
        const partial = this.#start(index)
        partial.affinity = peer.id
        this.#takeBlocks(partial, peer.id, opts.max, out)
        if (pos === this.#head) this.#head++
      }
    }
    if (out.length < opts.max) {
      // nothing unstarted left for this peer: help finish pieces other peers started
      for (let level = URGENT - 1; level >= 1 && out.length < opts.max; level--) {
        for (const partial of this.#partials.values()) {
          if (out.length >= opts.max) break
          if (partial.open === 0 || this.#priority[partial.index] !== level) continue
          if (!peer.has(partial.index) || (filter !== undefined && !filter(partial.index))) continue
          this.#takeBlocks(partial, peer.id, opts.max, out)
        }
      }
    }
    if (out.length === 0 && opts.endgame !== false && this.inEndgame) this.#endgame(peer, opts, out)
    return out
  }

  /** Unstarted pieces of priority `level` in index order from `from`, wrapping around. */
  #pickSequential(peer: PickPeer, level: number, from: number, max: number, filter: ((i: number) => boolean) | undefined, out: BlockRef[]): void {
    const n = this.pieceCount
    const start = Number.isInteger(from) && from >= 0 && from < n ? from : 0
    for (let k = 0; k < n && out.length < max; k++) {
      const index = start + k < n ? start + k : start + k - n
      if (this.#have[index] === 1 || this.#priority[index] !== level || this.#partials.has(index)) continue
      if (!peer.has(index) || (filter !== undefined && !filter(index))) continue
      const partial = this.#start(index)
      partial.affinity = peer.id
      this.#takeBlocks(partial, peer.id, max, out)
    }
  }

  /** True when no wanted block is left unrequested: duplicates are worth their cost now. */
  get inEndgame(): boolean {
    if (this.#unstartedWanted > 0) return false
    for (const partial of this.#partials.values()) {
      if (partial.open > 0 && this.#priority[partial.index]! > 0) return false
    }
    return this.#wantedMissing > 0
  }

  #endgame(peer: PickPeer, opts: PickOptions, out: BlockRef[]): void {
    const max = Math.min(opts.max, opts.endgameMax ?? 4)
    for (const partial of this.#partials.values()) {
      if (this.#priority[partial.index] === 0 || !peer.has(partial.index)) continue
      if (opts.filter !== undefined && !opts.filter(partial.index)) continue
      if (partial.refetch !== undefined) continue
      const n = partial.state.length
      for (let b = 0; b < n && out.length < max; b++) {
        if (partial.state[b] !== REQUESTED || partial.owner[b] === peer.id) continue
        partial.dup ??= new Map()
        const more = partial.dup.get(b)
        if (more !== undefined) continue // two requesters are enough
        partial.dup.set(b, [peer.id])
        out.push(this.#ref(partial.index, b))
      }
      if (out.length >= max) return
    }
  }

  #start(index: number): PartialPiece {
    const n = this.blockCount(index)
    const partial: PartialPiece = {
      index,
      state: new Uint8Array(n),
      owner: new Array<string | undefined>(n),
      dup: undefined,
      open: n,
      received: 0,
      cursor: 0,
      affinity: undefined,
      refetch: undefined,
    }
    this.#partials.set(index, partial)
    if (this.#priority[index]! > 0) this.#unstartedWanted--
    return partial
  }

  #takeBlocks(partial: PartialPiece, peerId: string, max: number, out: BlockRef[]): void {
    const refetch = partial.refetch
    if (refetch !== undefined) {
      // a piece that failed its hash comes whole from one peer, so a second failure names it
      if (refetch.owner === undefined) {
        if (refetch.avoid.has(peerId)) return
        refetch.owner = peerId
      } else if (refetch.owner !== peerId) return
    }
    const n = partial.state.length
    let b = partial.cursor
    while (b < n && partial.state[b] !== OPEN) b++
    partial.cursor = b
    for (; b < n && out.length < max; b++) {
      if (partial.state[b] !== OPEN) continue
      partial.state[b] = REQUESTED
      partial.owner[b] = peerId
      partial.open--
      out.push(this.#ref(partial.index, b))
    }
  }

  #ref(index: number, block: number): BlockRef {
    return { index, begin: block * this.blockSize, length: this.blockLength(index, block) }
  }

  #maybeRebuild(): void {
    this.#picksSinceRebuild++
    if (
      !this.#priorityDirty &&
      !(this.#availabilityDirty && this.#picksSinceRebuild >= REBUILD_EVERY_PICKS)
    ) {
      return
    }
    const candidates: number[] = []
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.#have[i] === 0 && this.#priority[i]! > 0 && !this.#partials.has(i)) candidates.push(i)
    }
    const prio = this.#priority
    const avail = this.#availability
    const tie = this.#tiebreak
    candidates.sort((a, b) => prio[b]! - prio[a]! || avail[a]! - avail[b]! || tie[a]! - tie[b]!)
    this.#order = Int32Array.from(candidates)
    this.#head = 0
    this.#priorityDirty = false
    this.#availabilityDirty = false
    this.#picksSinceRebuild = 0
  }

  // ---- block events ----

  /**
   * A block arrived from `peerId`. Accepts it once; a block we had released (snub, choke) is still
   * good data and is accepted from whoever sends it first.
   */
  received(index: number, begin: number, peerId: string): ReceivedResult {
    const partial = this.#partials.get(index)
    const b = begin / this.blockSize
    if (partial === undefined || !Number.isInteger(b) || b >= partial.state.length) {
      return { accepted: false, others: [], pieceComplete: false }
    }
    const state = partial.state[b]
    if (state === RECEIVED) return { accepted: false, others: [], pieceComplete: false }
    if (partial.refetch?.owner !== undefined && partial.refetch.owner !== peerId) {
      return { accepted: false, others: [], pieceComplete: false }
    }
    const others: string[] = []
    const owner = partial.owner[b]
    if (owner !== undefined && owner !== peerId) others.push(owner)
    const dup = partial.dup?.get(b)
    if (dup !== undefined) {
      for (const id of dup) if (id !== peerId) others.push(id)
      partial.dup!.delete(b)
    }
    if (state === OPEN) partial.open--
    partial.state[b] = RECEIVED
    partial.owner[b] = undefined
    partial.received++
    return { accepted: true, others, pieceComplete: partial.received === partial.state.length }
  }

  /** `peerId` will not deliver this block (reject, timeout, cancel): make it pickable again. */
  abort(index: number, begin: number, peerId: string): void {
    const partial = this.#partials.get(index)
    if (partial === undefined) return
    const b = begin / this.blockSize
    if (!Number.isInteger(b) || b >= partial.state.length || partial.state[b] !== REQUESTED) return
    const dup = partial.dup?.get(b)
    if (partial.owner[b] === peerId) {
      if (dup !== undefined && dup.length > 0) {
        partial.owner[b] = dup.shift()
        if (dup.length === 0) partial.dup!.delete(b)
        return
      }
      partial.state[b] = OPEN
      partial.owner[b] = undefined
      partial.open++
      if (b < partial.cursor) partial.cursor = b
    } else if (dup !== undefined) {
      const i = dup.indexOf(peerId)
      if (i >= 0) dup.splice(i, 1)
      if (dup.length === 0) partial.dup!.delete(b)
    }
  }

  /**
   * `peerId` held this block past its request timeout: make it pickable again and let any peer
   * finish the piece (the stalling peer loses its whole-piece affinity).
   */
  timedOut(index: number, begin: number, peerId: string): void {
    const partial = this.#partials.get(index)
    if (partial === undefined) return
    if (partial.affinity === peerId) partial.affinity = undefined
    if (partial.refetch?.owner === peerId && partial.received === 0) partial.refetch.owner = undefined
    this.abort(index, begin, peerId)
  }

  /** Release every request held by `peerId` (it closed, choked us, or was snubbed). */
  releasePeer(peerId: string): void {
    for (const partial of this.#partials.values()) {
      if (partial.affinity === peerId) partial.affinity = undefined
      if (partial.refetch?.owner === peerId && partial.received === 0) partial.refetch.owner = undefined
      const n = partial.state.length
      for (let b = 0; b < n; b++) {
        if (partial.state[b] === REQUESTED) this.abort(partial.index, b * this.blockSize, peerId)
      }
    }
  }

  /** Blocks of `index` requested from `peerId` and not yet received. */
  requestedFrom(index: number, peerId: string): BlockRef[] {
    const partial = this.#partials.get(index)
    const out: BlockRef[] = []
    if (partial === undefined) return out
    for (let b = 0; b < partial.state.length; b++) {
      if (partial.state[b] === REQUESTED && (partial.owner[b] === peerId || partial.dup?.get(b)?.includes(peerId))) {
        out.push(this.#ref(index, b))
      }
    }
    return out
  }

  /**
   * Piece `index` failed its hash: forget its blocks and fetch it again whole from one peer,
   * avoiding `avoid` (the peers that sent the bad version) when others are around.
   */
  pieceFailed(index: number, avoid: Iterable<string> = []): void {
    const partial = this.#partials.get(index)
    if (partial === undefined) return
    const n = partial.state.length
    partial.state.fill(OPEN)
    partial.owner.fill(undefined)
    partial.dup = undefined
    partial.open = n
    partial.received = 0
    partial.cursor = 0
    partial.affinity = undefined
    partial.refetch = { owner: undefined, avoid: new Set(avoid) }
  }

  /** Drop the avoid-list of a refetch (no other peer has the piece). */
  clearAvoid(index: number): void {
    const refetch = this.#partials.get(index)?.refetch
    if (refetch !== undefined) refetch.avoid.clear()
  }

  /** Indices of started, unfinished pieces. */
  partialPieces(): number[] {
    return [...this.#partials.keys()]
  }
}
