/**
 * One whole piece from a web seed (BEP 19) by HTTP range requests, one per file the piece
 * touches: what the gateway's origin hedge asks for when the swarm is late. The caller verifies
 * the bytes (`Torrent.putPiece` checks the SHA-1) — an origin is trusted for nothing.
 */
import type http from 'node:http'
import type { Metainfo } from '@bitcdn/content'
import { fileSlices } from './byte-ranges.js'
import { fetchRange } from './range-request.js'
import { webSeedFileUrls } from './web-seed-url.js'

export interface PieceFetchOptions {
  /** Keep-alive agent (e.g. `originPool.agent(origin)`). */
  agent?: http.Agent
  /** Abort when no byte arrives for this long, ms. @default 10000 */
  idleTimeoutMs?: number
  signal?: AbortSignal
}

/**
 * Fetch piece `index` of `metainfo` from the web seed at `url` (unverified bytes).
 * @throws the web seed's `BITCDN_ERR_WEBSEED_*` errors, or `signal.reason` when aborted.
 * @example
 * const data = await fetchPieceFromWebSeed('http://origin/file.bin', metainfo, 7, { signal })
 * if (await torrent.putPiece(7, data)) ...
 */
export async function fetchPieceFromWebSeed(url: string, metainfo: Metainfo, index: number, opts: PieceFetchOptions = {}): Promise<Buffer> {
  const start = index * metainfo.pieceLength
  const size = Math.min(metainfo.pieceLength, metainfo.length - start)
  const urls = webSeedFileUrls(url, metainfo)
  const out = Buffer.allocUnsafe(size)
  for (const slice of fileSlices(metainfo.files, start, start + size)) {
    const file = metainfo.files[slice.fileIndex]!
    if (file.padding === true) {
      out.fill(0, slice.torrentOffset - start, slice.torrentOffset - start + slice.length)
      continue
    }
    await fetchRange({
      url: urls[slice.fileIndex]!,
      start: slice.fileOffset,
      end: slice.fileOffset + slice.length,
      fileLength: file.length,
      agent: opts.agent,
      idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
      maxSkipBytes: 0,
      signal: opts.signal,
      onData: (fileOffset, chunk) => {
        out.set(chunk, slice.torrentOffset - start + (fileOffset - slice.fileOffset))
      },
    })
  }
  return out
}
