/**
 * Where a piece's bytes lie: piece sizes, range checks, and the mapping from a torrent-space byte
 * range to the files it crosses (pieces run across file boundaries, BEP 3).
 */
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import type { TorrentFile } from '../metainfo/types.js'

/** The sizes a store needs; both Metainfo and PieceStore have them. */
export interface Geometry {
  pieceLength: number
  pieceCount: number
  length: number
}

/**
 * Size in bytes of piece `index` (the last one is usually shorter).
 * @example
 * pieceSize({ pieceLength: 16384, pieceCount: 2, length: 20000 }, 1) // 3616
 */
export function pieceSize(g: Geometry, index: number): number {
  return index === g.pieceCount - 1 ? g.length - index * g.pieceLength : g.pieceLength
}

function rangeError(message: string, details: Record<string, unknown>): BitcdnError {
  return new BitcdnError(ContentErrorCode.pieceRange, message, { details })
}

/**
 * Throw `BITCDN_ERR_PIECE_RANGE` unless piece `index` exists and [offset, offset+length) lies in it.
 * @example
 * checkRange(store, 3, 0, 16384)
 */
export function checkRange(g: Geometry, index: number, offset: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= g.pieceCount) {
    throw rangeError(`piece ${index} does not exist (the torrent has ${g.pieceCount} pieces)`, { index })
  }
  const size = pieceSize(g, index)
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw rangeError(`range ${offset}+${length} is outside piece ${index} (${size} bytes)`, { index, offset, length })
  }
}

/**
 * Throws unless `data` is exactly piece `index`: stores take whole, verified pieces only.
 * @example
 * checkWholePiece(store, 3, data)
 */
export function checkWholePiece(g: Geometry, index: number, data: Buffer): void {
  checkRange(g, index, 0, data.length)
  const size = pieceSize(g, index)
  if (data.length !== size) throw rangeError(`piece ${index} must be ${size} bytes, got ${data.length}`, { index, length: data.length })
}

/** Part of a torrent range that falls in one file. */
export interface FileSpan {
  file: TorrentFile
  fileIndex: number
  /** Offset inside the file. */
  fileOffset: number
  /** Offset inside the caller's buffer. */
  bufferOffset: number
  length: number
}

/**
 * The file spans covering torrent bytes [start, start+length), in order. `files` must be sorted by
 * offset (they are, by construction). Zero-length files are skipped.
 * @example
 * for (const span of fileSpans(m.files, 0, m.pieceLength)) console.log(span.file.path, span.length)
 */
export function fileSpans(files: TorrentFile[], start: number, length: number): FileSpan[] {
  // Binary search for the last file starting at or before `start`.
  let lo = 0
  let hi = files.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (files[mid]!.offset <= start) lo = mid
    else hi = mid - 1
  }
  const spans: FileSpan[] = []
  const end = start + length
  for (let i = lo; i < files.length; i++) {
    const file = files[i]!
    if (file.offset >= end) break
    const from = Math.max(start, file.offset)
    const to = Math.min(end, file.offset + file.length)
    if (to > from) spans.push({ file, fileIndex: i, fileOffset: from - file.offset, bufferOffset: from - start, length: to - from })
  }
  return spans
}
