/**
 * Piece verification (BEP 3: each piece's SHA-1 is in the info dictionary) and recheck of data
 * already on disk, which both seeding in place and resuming without a trusted journal rely on.
 */
import { createHash } from 'node:crypto'
import { hasCode } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import type { Metainfo } from '../metainfo/types.js'
import { pieceSize } from './piece-geometry.js'
import type { PieceStore } from './types.js'

/**
 * True if `data` is exactly piece `index` of the torrent (right length, right SHA-1).
 * @example
 * if (!verifyPiece(metainfo, index, assembled)) banPeersThatSent(index)
 */
export function verifyPiece(metainfo: Pick<Metainfo, 'pieceHashes' | 'pieceLength' | 'pieceCount' | 'length'>, index: number, data: Buffer): boolean {
  const expected = metainfo.pieceHashes[index]
  if (!expected || data.length !== pieceSize(metainfo, index)) return false
  return createHash('sha1').update(data).digest().equals(expected)
}

export interface CheckPiecesOptions {
  /** Called after each piece with the count checked so far. */
  onProgress?(done: number, total: number): void
  signal?: AbortSignal
}

/**
 * Recheck every piece in `store` against the torrent's hashes. Missing files and files shorter
 * than the torrent count as missing pieces (false), not errors; other I/O errors are thrown.
 * @returns have[i] is true when piece i is present and correct
 * @throws BitcdnError `BITCDN_ERR_STORAGE_IO` and friends; the signal's reason if aborted.
 * @example
 * const have = await checkPieces(store, metainfo, { onProgress: (d, t) => bar.update(d / t) })
 */
export async function checkPieces(store: PieceStore, metainfo: Metainfo, opts: CheckPiecesOptions = {}): Promise<boolean[]> {
  const have: boolean[] = []
  // one buffer for every piece: a fresh piece-sized allocation per read is external memory that
  // makes V8 run a full mark-compact every few dozen MiB
  const buf = Buffer.allocUnsafe(metainfo.pieceLength)
  for (let i = 0; i < metainfo.pieceCount; i++) {
    opts.signal?.throwIfAborted()
    try {
      have.push(verifyPiece(metainfo, i, await store.get(i, 0, pieceSize(metainfo, i), buf)))
    } catch (err) {
      if (!hasCode(err, ContentErrorCode.fileNotFound) && !hasCode(err, ContentErrorCode.pieceMissing)) throw err
      have.push(false)
    }
    opts.onProgress?.(i + 1, metainfo.pieceCount)
  }
  return have
}
