/**
 * How big a piece should be for a torrent of a given size. Too small and the piece list (20 bytes
 * each, in every .torrent and in every peer's bitfield) bloats; too big and a corrupt block costs a
 * large re-download and the first verified byte comes late.
 */
import { KiB, MiB } from '@bitcdn/core'

/** Smallest piece we create: one BitTorrent block (BEP 3 requests are 16 KiB). */
export const MIN_PIECE_LENGTH = 16 * KiB
/**
 * Smallest piece we pick by default. Per-piece costs (a hash, a `have` to every peer, a picker entry,
 * a journal record, a disk flush unit) dominate below this, and CDN objects are rarely tiny; it is
 * also mktorrent's default. Smaller pieces remain available by asking.
 */
export const MIN_AUTO_PIECE_LENGTH = 256 * KiB
/** Largest piece we pick by default; beyond 32 GiB torrents simply get more pieces. */
export const MAX_AUTO_PIECE_LENGTH = 16 * MiB
/** Largest piece we accept when parsing (a store holds a few pieces in memory at once). */
export const MAX_PIECE_LENGTH = 256 * MiB
/** Pieces a torrent aims for at most: the rule keeps the count in (1000, 2000]. */
const TARGET_MAX_PIECES = 2000

/**
 * Piece length for a torrent of `totalBytes`: the smallest power of two that keeps the piece
 * count at or below 2000 (so between 1000 and 2000 pieces), clamped to [256 KiB, 16 MiB].
 * 1 GiB → 1 MiB pieces (1024 of them); anything under ~500 MiB → 256 KiB.
 * @example
 * pieceLengthFor(1024 ** 3) // 1_048_576
 */
export function pieceLengthFor(totalBytes: number): number {
  let length = MIN_AUTO_PIECE_LENGTH
  while (length < MAX_AUTO_PIECE_LENGTH && Math.ceil(totalBytes / length) > TARGET_MAX_PIECES) length *= 2
  return length
}

/**
 * True for a power of two within what we create (16 KiB … 256 MiB).
 * @example
 * isValidCreatePieceLength(65536) // true
 */
export function isValidCreatePieceLength(n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_PIECE_LENGTH && n <= MAX_PIECE_LENGTH && (n & (n - 1)) === 0
}
