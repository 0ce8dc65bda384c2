/**
 * The error codes of the content layer (metainfo and storage). Each is documented under
 * `## content` in docs/errors.md. Callers switch on `code`; the message is for people and names
 * the field or file at fault.
 */
import { BitcdnError } from '@bitcdn/core'

/**
 * Stable codes this package throws.
 * @example
 * if (hasCode(err, ContentErrorCode.diskFull)) pauseDownloads()
 */
export const ContentErrorCode = {
  /** A .torrent file or info dictionary is malformed or unsafe (the message names the field). */
  torrentInvalid: 'BITCDN_ERR_TORRENT_INVALID',
  /** A magnet link or bare info-hash is malformed. */
  magnetInvalid: 'BITCDN_ERR_MAGNET_INVALID',
  /** An info dictionary fetched from peers does not hash to the expected info-hash. */
  metadataMismatch: 'BITCDN_ERR_METADATA_MISMATCH',
  /** A file the caller named (or one being seeded) does not exist. */
  fileNotFound: 'BITCDN_ERR_FILE_NOT_FOUND',
  /** The input to `createTorrent` cannot become a torrent (empty, special files). */
  createInputInvalid: 'BITCDN_ERR_CREATE_INPUT_INVALID',
  /** No space left on the device while writing pieces or the journal. */
  diskFull: 'BITCDN_ERR_DISK_FULL',
  /** Any other I/O failure of storage (permissions, read-only fs, I/O error); see `cause`. */
  storageIo: 'BITCDN_ERR_STORAGE_IO',
  /** A download would write through a symlink inside its output directory; refused. */
  unsafePath: 'BITCDN_ERR_UNSAFE_PATH',
  /** A piece index, offset or length outside the torrent, or a piece of the wrong size. */
  pieceRange: 'BITCDN_ERR_PIECE_RANGE',
  /** The bytes of a piece are not in the store (never written, or a seeded file is shorter). */
  pieceMissing: 'BITCDN_ERR_PIECE_MISSING',
  /** The store was used after `close()`. */
  storeClosed: 'BITCDN_ERR_STORE_CLOSED',
  /** A resume journal belongs to another torrent or is not a journal; recheck instead. */
  resumeInvalid: 'BITCDN_ERR_RESUME_INVALID',
} as const

export type ContentErrorCode = (typeof ContentErrorCode)[keyof typeof ContentErrorCode]

/**
 * A torrent-invalid error naming the offending field.
 * @example
 * throw torrentInvalid('info.piece length', 'must be a positive integer')
 */
export function torrentInvalid(field: string, problem: string, cause?: unknown): BitcdnError {
  return new BitcdnError(ContentErrorCode.torrentInvalid, `invalid torrent: ${field} ${problem}`, {
    details: { field },
    cause,
  })
}
