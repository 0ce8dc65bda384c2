/**
 * Piece space to file space: a torrent's files lie end to end, so one byte range of the torrent
 * may cover the tail of one file, whole middle files and the head of another. A web seed needs
 * one HTTP request per file touched.
 */
import type { TorrentFile } from '@bitcdn/content'

/** The part of one file that a torrent byte range covers. */
export interface FileSlice {
  fileIndex: number
  /** First byte within the file. */
  fileOffset: number
  /** Bytes in this slice (> 0). */
  length: number
  /** Where `fileOffset` sits in the torrent's byte space. */
  torrentOffset: number
}

/**
 * Split the torrent range `[start, end)` into per-file slices, in order. Empty files are skipped.
 * @example
 * fileSlices([{ path: 'd/a', length: 10, offset: 0 }, { path: 'd/b', length: 10, offset: 10 }], 5, 15)
 * // [{ fileIndex: 0, fileOffset: 5, length: 5, torrentOffset: 5 },
 * //  { fileIndex: 1, fileOffset: 0, length: 5, torrentOffset: 10 }]
 */
export function fileSlices(files: readonly TorrentFile[], start: number, end: number): FileSlice[] {
  const out: FileSlice[] = []
  if (end <= start) return out
  // binary search the last file starting at or before `start`
  let lo = 0
  let hi = files.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((files[mid] as TorrentFile).offset <= start) lo = mid
    else hi = mid - 1
  }
  for (let i = lo; i < files.length; i++) {
    const f = files[i] as TorrentFile
    if (f.offset >= end) break
    const from = Math.max(start, f.offset)
    const to = Math.min(end, f.offset + f.length)
    if (to > from) out.push({ fileIndex: i, fileOffset: from - f.offset, length: to - from, torrentOffset: from })
  }
  return out
}
