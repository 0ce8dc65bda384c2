/**
 * From blocks to durable pieces: assemble a piece's blocks, verify its SHA-1 (BEP 3) on the hash
 * worker (a top-priority piece, which a reader waits on, as its blocks arrive instead), store it,
 * tell peers (batched `have`s) and commit it to the resume journal — flush first, then record
 * (`commitPieces`), every `COMMIT_INTERVAL_MS` or `COMMIT_BYTES` and when the torrent completes. A failed piece is
 * fetched again; its sender is banned when it is certain (one BitTorrent sender, or the blocks that
 * differ from the good version). Web seeds are never banned for a bad piece (`web-seed-scheduler.ts`).
 */
import { commitPieces, verifyPiece, type ResumeJournal } from '@bitcdn/content'
import type { PeerConnection } from '../peer-connection.js'
import { swarmError } from '../errors.js'
import { sharedPieceHasher } from './piece-hasher.js'
import { PRIORITY_NOW } from '../picker/piece-picker.js'
import { PieceAssembler, corruptSources, pieceSources, type AssemblingPiece } from './piece-assembler.js'
import type { PieceSource } from './types.js'
import type { SessionState } from './session-state.js'
import type { TransferStats } from './stats.js'
import { isWebSeedId, type WebSeedScheduler } from './web-seed-scheduler.js'

/** fdatasync of everything written is costly at 100+ MiB/s; a crash loses at most this much work. */
const COMMIT_INTERVAL_MS = 10_000
/**
 * Also commit after this many bytes stored, one commit at a time. The page cache holds gigabytes
 * before the kernel writes back on its own, so at line rate a 1 GiB download had no commit
 * before the end and its final fdatasync wrote everything: 15–25% of the download's wall time
 * (512 MiB from libtorrent, traced). Flushing as it goes leaves the end a few dozen MiB.
 */
const COMMIT_BYTES = 64 * 1024 * 1024
const HAVE_BATCH_MS = 100
/**
 * Complete pieces waiting for their hash or their write, at most (bytes): beyond it no new blocks
 * are requested. A download from a fast swarm onto a slow disk would otherwise hold the torrent in
 * memory; this keeps a 1 GiB download under 200 MiB of RSS.
 */
export const MAX_BACKLOG_BYTES = 32 * 1024 * 1024
/** Failed pieces kept to compare with their good version, at most. */
const MAX_FAILED_KEPT = 16

export interface PieceCompletionComponents {
  stats: TransferStats
  webSeeds: WebSeedScheduler
  /** The resume journal, when kept. */
  journal: () => ResumeJournal | undefined
  /** Ban the sender of corrupt data. */
  ban: (id: string, index: number) => void
  /** Re-request after a failure (the piece's blocks are open again). */
  fillAll: () => void
  /** Two seeds have nothing to say to each other. */
  maybeDropSeed: (conn: PeerConnection) => void
  /**
   * A piece from the swarm passed its hash check, before its store begins; `sources` says who
   * delivered its bytes. Credit happens here: a store may hand the piece on before it ends.
   */
  onVerified: (index: number, sources: PieceSource[]) => void
  /** A piece is verified and stored (not yet committed); `sources` says who delivered its bytes. */
  onStored: (index: number, sources: PieceSource[]) => void
}

/**
 * @example
 * const completion = new PieceCompletion(state, components)
 * conn.on('block', (i, begin, data) => completion.onBlock(conn, i, begin, data))
 */
export class PieceCompletion {
  readonly #state: SessionState
  readonly #c: PieceCompletionComponents
  #assembler: PieceAssembler | undefined
  readonly #failed = new Map<number, AssemblingPiece>()
  readonly #pendingHaves: number[] = []
  #haveTimer: NodeJS.Timeout | undefined
  #uncommitted: number[] = []
  #committing: Promise<void> = Promise.resolve()
  #lastCommit = 0
  /** Bytes stored since the last commit began, and whether a byte-triggered commit runs. */
  #uncommittedBytes = 0
  #commitRunning = false
  #backlog = 0

  constructor(state: SessionState, components: PieceCompletionComponents) {
    this.#state = state
    this.#c = components
  }

  /** The picker exists: size the assembler. */
  start(blockSize: number, pieceLength: number): void {
    this.#assembler = new PieceAssembler(blockSize, pieceLength)
  }

  onBlock(conn: PeerConnection, index: number, begin: number, data: Buffer): void {
    const picker = this.#state.picker
    const assembler = this.#assembler
    if (picker === undefined || assembler === undefined) return
    if (conn.kind === 'webseed') this.#c.stats.downloadedWeb += data.length
    else {
      this.#c.stats.downloadedPeers += data.length
      this.#c.webSeeds.peerDelivered(Date.now())
    }
    const r = picker.received(index, begin, conn.id)
    for (const id of r.others) {
      const other = this.#state.conns.get(id)
      if (other !== undefined) other.cancel({ index, begin, length: data.length })
    }
    if (r.others.length > 0) this.#c.fillAll()
    if (!r.accepted) return
    // a piece a reader waits on (top priority) is hashed as it arrives: its verification is then
    // done with its last block (a cold gateway range waits on exactly that)
    const piece = assembler.add(index, begin, data, conn.id, picker.pieceSize(index), picker.priority(index) === PRIORITY_NOW)
    if (r.pieceComplete) {
      assembler.take(index)
      this.#backlog += piece.data.length
      this.#verify(piece)
    }
  }

  /** Hash off the loop (`piece-hasher.ts`), then store; a session stopped meanwhile drops it. */
  #verify(piece: AssemblingPiece): void {
    const m = this.#state.metainfo!
    const expected = m.pieceHashes[piece.index]
    if (expected === undefined || piece.data.length !== this.#state.picker!.pieceSize(piece.index)) return this.#failedHash(piece)
    if (piece.hash !== undefined && piece.hashed === piece.data.length) {
      const digest = piece.hash.digest()
      piece.hash = undefined
      return digest.equals(expected) ? this.#verified(piece) : this.#failedHash(piece)
    }
    piece.hash = undefined
    void sharedPieceHasher()
      .sha1(piece.data)
      .then((r) => {
        if (this.#state.stopped) return
        if (r.lost) return this.#lost(piece.index)
        piece.data = r.data // the same bytes, back from the worker
        if (r.digest.equals(expected)) this.#verified(piece)
        else this.#failedHash(piece)
      })
      .catch((err: unknown) => this.#state.fatal(err))
  }

  /** Bytes of complete pieces not yet stored (being hashed or written): memory the download holds. */
  get backlogBytes(): number {
    return this.#backlog
  }

  /** True while the backlog is over `MAX_BACKLOG_BYTES`: no new requests until the disk catches up. */
  get backlogged(): boolean {
    return this.#backlog >= MAX_BACKLOG_BYTES
  }

  #settle(bytes: number): void {
    const was = this.backlogged
    this.#backlog -= bytes
    if (was && !this.backlogged) this.#c.fillAll()
  }

  /** The hash worker died holding the piece: fetch it again, blaming nobody. */
  #lost(index: number): void {
    this.#settle(this.#state.picker!.pieceSize(index))
    this.#state.picker!.pieceFailed(index, [])
    this.#c.fillAll()
  }

  #verified(piece: AssemblingPiece): void {
    const picker = this.#state.picker!
    const index = piece.index
    if (picker.has(index)) {
      // stored meanwhile from outside the swarm (putVerified): nothing to write, nobody to credit
      this.#settle(piece.data.length)
      this.#assembler?.release(piece.data)
      return
    }
    const failed = this.#failed.get(index)
    if (failed !== undefined) {
      this.#failed.delete(index)
      for (const id of corruptSources(failed, piece.data, picker.blockSize)) this.#blame(id, index)
    }
    // provenance before the buffer goes back to the pool: who delivered the verified bytes
    const sources = pieceSources(piece, picker.blockSize)
    this.#c.onVerified(index, sources)
    const store = this.#state.store!
    store.put(index, piece.data).then(
      () => {
        this.#settle(piece.data.length)
        // a store that keeps the buffer owns it now: not back to the assembler's pool
        if (store.keepsData !== true) this.#assembler?.release(piece.data)
        if (!picker.has(index)) this.#stored(index, sources)
      },
      (err: unknown) => {
        this.#settle(piece.data.length)
        this.#state.fatal(err)
      },
    )
  }

  #failedHash(piece: AssemblingPiece): void {
    this.#settle(piece.data.length)
    const picker = this.#state.picker!
    const index = piece.index
    this.#c.stats.hashFailures++
    const sources = new Set(piece.sources.filter((s): s is string => s !== undefined))
    const fromWeb = [...sources].filter(isWebSeedId)
    this.#state.warn(
      swarmError(
        'pieceHashFailed',
        fromWeb.length > 0
          ? `piece ${index} failed its hash check (bytes from web seed ${fromWeb.join(', ')}); fetching it again`
          : `piece ${index} failed its hash check`,
        { index, peers: [...sources], webSeeds: fromWeb },
      ),
    )
    const peerHasIt = [...this.#state.conns.values()].some((c) => !sources.has(c.id) && c.kind === 'bittorrent' && c.has(index))
    if (sources.size === 1 && fromWeb.length === 0) {
      // one BitTorrent sender for the whole piece: no doubt who sent the bad bytes
      this.#c.ban(sources.values().next().value!, index)
      this.#failed.delete(index)
    } else if (!this.#failed.has(index) && this.#failed.size < MAX_FAILED_KEPT) {
      this.#failed.set(index, piece)
    }
    const avoid = fromWeb.length > 0 ? this.#c.webSeeds.hashFailed(index, sources, peerHasIt) : peerHasIt ? sources : []
    picker.pieceFailed(index, avoid)
    this.#c.fillAll()
  }

  /** A sender whose blocks differed from the good version: ban a peer, only warn about a web seed. */
  #blame(id: string, index: number): void {
    if (!isWebSeedId(id)) return this.#c.ban(id, index)
    this.#state.warn(swarmError('pieceHashFailed', `web seed ${id} served corrupt bytes in piece ${index}; not banned, refetched`, { index, webSeeds: [id] }))
  }

  /**
   * A whole piece fetched outside the swarm (the gateway's origin hedge): verify, store, announce.
   * Resolves false (nothing stored) when it fails its hash check.
   */
  async putVerified(index: number, data: Buffer): Promise<boolean> {
    const picker = this.#state.picker
    const store = this.#state.store
    if (picker === undefined || store === undefined || this.#state.stopped) return false
    if (picker.has(index)) return true
    if (data.length !== picker.pieceSize(index) || !verifyPiece(this.#state.metainfo!, index, data)) return false
    await store.put(index, data)
    if (!picker.has(index)) {
      this.#assembler?.take(index)
      // blocks still requested of peers for this piece are cancelled: we have it now
      for (const conn of this.#state.conns.values()) for (const ref of picker.requestedFrom(index, conn.id)) conn.cancel(ref)
      // no peer delivered it: nobody is owed for these bytes
      this.#stored(index, [])
    }
    return true
  }

  #stored(index: number, sources: PieceSource[]): void {
    if (this.#state.stopped) return
    this.#state.picker!.setHave(index)
    this.#uncommitted.push(index)
    this.#uncommittedBytes += this.#state.picker!.pieceSize(index)
    this.#commitIfDue()
    this.#pendingHaves.push(index)
    if (this.#haveTimer === undefined) {
      this.#haveTimer = setTimeout(() => this.#flushHaves(), HAVE_BATCH_MS)
      this.#haveTimer.unref()
    }
    this.#c.onStored(index, sources)
  }

  /** One size-triggered commit at a time; when it ends with another 64 MiB waiting (a disk slower than the swarm), the next starts at once. */
  #commitIfDue(): void {
    if (this.#uncommittedBytes < COMMIT_BYTES || this.#commitRunning || this.#state.stopped) return
    this.#commitRunning = true
    this.#lastCommit = Date.now()
    this.commit().then(
      () => {
        this.#commitRunning = false
        this.#commitIfDue()
      },
      (err: unknown) => this.#state.fatal(err),
    )
  }

  #flushHaves(): void {
    this.#haveTimer = undefined
    const haves = this.#pendingHaves.splice(0)
    for (const conn of this.#state.conns.values()) {
      if (conn.kind !== 'bittorrent' || !conn.ready) continue
      for (const i of haves) if (!conn.has(i)) conn.announceHave(i)
    }
    if (this.#state.picker?.isSeed) for (const conn of [...this.#state.conns.values()]) this.#c.maybeDropSeed(conn)
  }

  /** Commit if the interval passed (call once a second). */
  tick(now: number): void {
    if (this.#uncommitted.length === 0 || now - this.#lastCommit < COMMIT_INTERVAL_MS) return
    this.#lastCommit = now
    this.commit().catch((err: unknown) => this.#state.fatal(err))
  }

  /** Flush the store, then journal what it covered (never the other way round). */
  commit(): Promise<void> {
    const store = this.#state.store
    if (store === undefined) return Promise.resolve()
    const indices = this.#uncommitted.splice(0)
    this.#uncommittedBytes = 0
    const journal = this.#c.journal()
    this.#committing = this.#committing.then(() =>
      journal !== undefined ? commitPieces(store, journal, indices) : indices.length > 0 ? store.flush() : undefined,
    )
    return this.#committing
  }

  /** Commit what is left and drop buffers (the session is stopping). */
  async stop(): Promise<void> {
    clearTimeout(this.#haveTimer)
    await this.commit().catch(() => {})
    await this.#committing.catch(() => {})
    this.#assembler?.clear()
    this.#failed.clear()
  }
}
