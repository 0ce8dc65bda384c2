/**
 * The glue between picker and connection (libtorrent's `request_blocks.cpp`): top up one
 * connection's pipeline from the picker. Kept apart so the BitTorrent and web-seed connections
 * share exactly one request policy.
 */
import type { BlockRef, PeerConnection } from './peer-connection.js'
import type { PiecePicker } from './picker/piece-picker.js'
import type { RateLimiter } from './choker/rate-limit.js'

export interface RequestBlocksOptions {
  /** Pieces this connection may take (web seeds: what BitTorrent peers do not supply in time). */
  filter?: (index: number) => boolean
  /** Start unstarted pieces in index order from here (web seeds: long HTTP ranges). @default rarest first */
  sequentialFrom?: number
  /** Global download limit; requests are only sent for bytes the bucket holds. */
  limiter?: RateLimiter
  /**
   * Refill only when the pipeline drained below this fraction of its depth, so a fast peer costs
   * one pick per several blocks, not one per block. @default 0.75
   */
  refillBelow?: number
  /**
   * At most this many requests in flight, below the connection's own pipeline depth (a buyer
   * steering its downloads between priced sellers). @default the connection's `maxOutstanding`
   */
  maxOutstanding?: number
  /** Told which blocks were requested (a web seed's next run continues after them). */
  onRequested?: (refs: BlockRef[]) => void
}

/**
 * Fill `conn`'s request pipeline; returns how many blocks were requested.
 * @example
 * conn.on('block', () => requestBlocks(conn, picker))
 */
export function requestBlocks(conn: PeerConnection, picker: PiecePicker, opts: RequestBlocksOptions = {}): number {
  if (conn.peerChoking) return 0
  const max = opts.maxOutstanding === undefined ? conn.maxOutstanding : Math.min(conn.maxOutstanding, opts.maxOutstanding)
  const outstanding = conn.outstanding
  if (outstanding >= max) return 0
  if (outstanding > 0 && outstanding >= max * (opts.refillBelow ?? 0.75)) return 0
  let want = max - outstanding
  const limiter = opts.limiter
  if (limiter !== undefined && !limiter.unlimited) {
    let granted = 0
    while (granted < want && limiter.take(picker.blockSize)) granted++
    if (granted === 0) return 0
    want = granted
    // tokens were taken per block; blocks picked below might be fewer, a tolerable overdraft
  }
  // strict endgame (libtorrent's strict_end_game_mode): duplicate other peers' blocks only once
  // this connection has nothing of its own in flight, else deep pipelines double-fetch megabytes
  const refs = picker.pick(conn, { max: want, filter: opts.filter, sequentialFrom: opts.sequentialFrom, endgame: outstanding === 0 })
  for (const ref of refs) conn.request(ref)
  if (refs.length > 0) opts.onRequested?.(refs)
  return refs.length
}
