/**
 * A PieceStore in memory, for unit tests of the swarm and anything else that needs storage without
 * a disk. Same contract and errors as the file store.
 */
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import type { Metainfo } from '../metainfo/types.js'
import { checkRange, checkWholePiece } from './piece-geometry.js'
import type { PieceStore } from './types.js'

/**
 * A store keeping each piece as a Buffer. Reading a piece never put throws `BITCDN_ERR_PIECE_MISSING`.
 * @example
 * const store = createMemoryStore(metainfo)
 * await store.put(0, piece0)
 */
export function createMemoryStore(metainfo: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length'>): PieceStore {
  const pieces = new Map<number, Buffer>()
  const geometry = { pieceLength: metainfo.pieceLength, pieceCount: metainfo.pieceCount, length: metainfo.length }
  let closed = false
  const ensureOpen = (): void => {
    if (closed) throw new BitcdnError(ContentErrorCode.storeClosed, 'the piece store is closed')
  }
  return {
    ...geometry,
    async put(index, data) {
      ensureOpen()
      checkWholePiece(geometry, index, data)
      pieces.set(index, Buffer.from(data))
    },
    async get(index, offset, length, into) {
      ensureOpen()
      checkRange(geometry, index, offset, length)
      const piece = pieces.get(index)
      if (!piece) throw new BitcdnError(ContentErrorCode.pieceMissing, `piece ${index} is not in the store`, { details: { index } })
      if (into !== undefined && into.length >= length) {
        piece.copy(into, 0, offset, offset + length)
        return into.subarray(0, length)
      }
      return Buffer.from(piece.subarray(offset, offset + length))
    },
    async flush() {
      ensureOpen()
    },
    async close() {
      closed = true
      pieces.clear()
    },
  }
}
