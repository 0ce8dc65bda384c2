/**
 * Creating BitTorrent v1 torrents (BEP 3, trackers per BEP 12, web seeds per BEP 19) from a file,
 * a directory or buffers. Files are streamed piece by piece, never held whole in memory.
 *
 * Output is deterministic: no creation date unless asked and no default trackers, so the same
 * input and options always give the same info-hash. (create-torrent, which we read but do not
 * use, always stamps the current time, adds eight public trackers unless told otherwise, skips
 * hidden files, and never calls back on a FIFO inside a directory.)
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { BitcdnError } from '@bitcdn/core'
import bencode, { type Encodable } from 'bencode'
import { ContentErrorCode } from '../errors.js'
import { toIoError } from '../io-error.js'
import { resolveCreateInput, type CreateInput, type Source } from './create-input.js'
import { encodeTorrent } from './encode.js'
import { parseTorrentFile } from './parse.js'
import { isValidCreatePieceLength, pieceLengthFor } from './piece-length.js'
import type { Metainfo } from './types.js'

export interface CreateTorrentOptions {
  /**
   * Torrent name. @default the file or directory's base name; required for a single Buffer.
   * Storage maps files to `<dir>/<name>/…`, so renaming a torrent made from a path means seeding
   * it in place no longer finds the original files.
   */
  name?: string
  /** Bytes per piece, a power of two from 16 KiB to 256 MiB. @default pieceLengthFor(total) */
  pieceLength?: number
  /** Tracker URLs, each its own tier. @default [] (no trackers) */
  announce?: string[]
  /** Web seed URLs (BEP 19). @default [] */
  urlList?: string[]
  comment?: string
  /** Mark private (BEP 27): peers only from the trackers. Changes the info-hash. @default false */
  private?: boolean
  createdBy?: string
  /** Record a creation date (makes the .torrent bytes, not the info-hash, time-dependent). */
  creationDate?: Date
  /** Called after each piece is hashed. */
  onProgress?(hashedBytes: number, totalBytes: number): void
  signal?: AbortSignal
}

/**
 * Create a torrent from a file path, a directory path (multi-file), one buffer (needs `name`) or
 * named buffers (`path` relative to the torrent root, '/'-separated; files keep the given order).
 * @throws BitcdnError `BITCDN_ERR_FILE_NOT_FOUND`, `BITCDN_ERR_CREATE_INPUT_INVALID`,
 * `BITCDN_ERR_STORAGE_IO`; the signal's reason if aborted.
 * @example
 * const m = await createTorrent('/data/site', { urlList: ['https://cdn.example.com/'] })
 * console.log(m.magnetURI)
 */
export async function createTorrent(input: CreateInput, opts: CreateTorrentOptions = {}): Promise<Metainfo> {
  const { name, singleFile, sources } = await resolveCreateInput(input, opts.name)
  const total = sources.reduce((sum, s) => sum + s.length, 0)
  const pieceLength = opts.pieceLength ?? pieceLengthFor(total)
  if (!isValidCreatePieceLength(pieceLength)) {
    throw new BitcdnError(
      ContentErrorCode.createInputInvalid,
      `cannot create torrent: piece length must be a power of two from 16 KiB to 256 MiB (got ${pieceLength})`,
    )
  }

  const pieces = await hashPieces(sources, pieceLength, total, opts)
  const info: Record<string, Encodable> = { name, 'piece length': pieceLength, pieces }
  if (singleFile) info['length'] = total
  else info['files'] = sources.map((s) => ({ length: s.length, path: s.segments }))
  // Only write the key when set: "private: 0" would change the info-hash for nothing.
  if (opts.private) info['private'] = 1

  const torrentFile = encodeTorrent({
    infoBuffer: Buffer.from(bencode.encode(info)),
    announce: [...new Set(opts.announce ?? [])],
    urlList: [...new Set(opts.urlList ?? [])],
    comment: opts.comment,
    createdBy: opts.createdBy,
    creationDate: opts.creationDate ? Math.floor(opts.creationDate.getTime() / 1000) : undefined,
  })
  // Parsing our own output gives one definition of a valid Metainfo for created and loaded torrents.
  return parseTorrentFile(torrentFile)
}

/**
 * Files up to this size are read with synchronous calls: for a torrent of 100,000 tiny files the
 * three thread-pool round trips per file (open, read, close), one file at a time, were most of the
 * time, and a small read blocks the loop for microseconds (the file store does the same).
 */
const SMALL_FILE_BYTES = 64 * 1024

async function hashPieces(sources: Source[], pieceLength: number, total: number, opts: CreateTorrentOptions): Promise<Buffer> {
  const hashes = Buffer.alloc(Math.ceil(total / pieceLength) * 20)
  const piece = Buffer.allocUnsafe(Math.min(pieceLength, total))
  let filled = 0
  let done = 0
  let index = 0
  const emit = (): void => {
    createHash('sha1').update(piece.subarray(0, filled)).digest().copy(hashes, index * 20)
    index++
    done += filled
    filled = 0
    opts.onProgress?.(done, total)
  }

  for (const source of sources) {
    opts.signal?.throwIfAborted()
    if (Buffer.isBuffer(source.from)) {
      for (let at = 0; at < source.length; ) {
        const n = source.from.copy(piece, filled, at, Math.min(source.length, at + pieceLength - filled))
        at += n
        filled += n
        if (filled === pieceLength) emit()
      }
      continue
    }
    const path = source.from
    if (source.length <= SMALL_FILE_BYTES) {
      let fd: number
      try {
        fd = openSync(path, 'r')
      } catch (err) {
        throw toIoError(err, 'open', path)
      }
      try {
        for (let at = 0; at < source.length; ) {
          const want = Math.min(source.length - at, pieceLength - filled)
          let bytesRead: number
          try {
            bytesRead = readSync(fd, piece, filled, want, at)
          } catch (err) {
            throw toIoError(err, 'read', path)
          }
          if (bytesRead === 0) throw shrank(path)
          at += bytesRead
          filled += bytesRead
          if (filled === pieceLength) {
            emit()
            opts.signal?.throwIfAborted()
          }
        }
      } finally {
        closeSync(fd)
      }
      continue
    }
    const fh = await open(path, 'r').catch((err: unknown) => {
      throw toIoError(err, 'open', path)
    })
    try {
      for (let at = 0; at < source.length; ) {
        const want = Math.min(source.length - at, pieceLength - filled)
        const { bytesRead } = await fh.read(piece, filled, want, at).catch((err: unknown) => {
          throw toIoError(err, 'read', path)
        })
        if (bytesRead === 0) throw shrank(path)
        at += bytesRead
        filled += bytesRead
        if (filled === pieceLength) {
          emit()
          opts.signal?.throwIfAborted()
        }
      }
    } finally {
      await fh.close()
    }
  }
  if (filled > 0) emit()
  return hashes
}

function shrank(path: string): BitcdnError {
  return new BitcdnError(ContentErrorCode.createInputInvalid, `cannot create torrent: ${path} shrank while it was being hashed`, {
    details: { path },
  })
}
