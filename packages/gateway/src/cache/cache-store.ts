/**
 * A torrent's `PieceStore` over the shared piece cache: the swarm session stores verified pieces
 * straight into the cache, and reads (uploads to peers, if any) come back from it.
 */
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode, pieceSize, type Metainfo, type PieceStore } from '@bitcdn/content'
import type { PieceCache } from './piece-cache.js'

/**
 * @example
 * await client.add(metainfo, { store: (m) => cacheStore(cache, m), onDemand: true, have: cache.pieces(ih) })
 */
export function cacheStore(cache: PieceCache, m: Metainfo): PieceStore {
  return {
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    length: m.length,
    // the swarm hands its verified piece buffer over: no copy on the way to a waiting response
    keepsData: true,
    put: (index, data) => cache.put(m.infoHash, index, data, { owned: true }),
    async get(index, offset, length) {
      const piece = await cache.get(m.infoHash, index, pieceSize(m, index))
      if (piece === undefined) throw new BitcdnError(ContentErrorCode.pieceMissing, `piece ${index} is not in the cache`, { details: { index } })
      return piece.subarray(offset, offset + length)
    },
    // the cache's files are replaced by rename; its index is the record of what is had
    async flush() {},
    async close() {},
  }
}
