/**
 * Piece storage: where verified pieces live. The swarm hands over whole, hash-verified pieces and
 * reads blocks back to upload them. Durability is explicit: `put` may leave bytes in the OS cache;
 * `flush` makes everything put so far durable. A piece is recorded as had (resume journal) only
 * after a flush that covered it, so a crash can never leave a piece marked had without its bytes.
 */
export interface FlushOptions {
  /** Sync every file of the torrent that exists, not only those written since the last flush. @default false */
  all?: boolean
}

export interface PieceStore {
  readonly pieceLength: number
  readonly pieceCount: number
  /** Total bytes. */
  readonly length: number
  /** Write one whole verified piece (may span files). */
  put(index: number, data: Buffer): Promise<void>
  /**
   * True when `put` keeps `data` (a cache that serves it from memory): the caller hands the
   * buffer over and never writes to it again. Otherwise the caller may reuse it once `put`
   * resolved. A store wrapping another forwards it with `put`. @default false
   */
  readonly keepsData?: boolean
  /**
   * Read `length` bytes at `offset` within piece `index`. With `into` (at least `length` bytes)
   * the bytes are read into it and a view of it is returned: a caller that reuses its buffers
   * (an upload cache, a recheck) allocates nothing per read. A store may ignore `into`; callers
   * always use the returned buffer.
   */
  get(index: number, offset: number, length: number, into?: Buffer): Promise<Buffer>
  /**
   * Make every completed `put` durable (fdatasync). With `all`, also bytes this store did not
   * write: data a recheck found on disk (seeding in place) may still sit only in the page cache
   * of whoever wrote it, and must be durable before a resume journal records it.
   */
  flush(opts?: FlushOptions): Promise<void>
  /** Release file handles. The store is unusable afterwards. */
  close(): Promise<void>
}
