/**
 * Validation of a BitTorrent v1 info dictionary (BEP 3, with BEP 47 padding files and the v1 half
 * of BEP 52 hybrid torrents). Shared by .torrent parsing and by metadata fetched from peers
 * (BEP 9), so both paths apply the same rules. Every failure names the field at fault.
 */
import { createHash } from 'node:crypto'
import { torrentInvalid } from '../errors.js'
import { isDict, type BDict, type BValue } from './bdecode.js'
import { MAX_PIECE_LENGTH } from './piece-length.js'
import { unsafeSegmentReason } from './path-segment.js'
import type { Metainfo, TorrentFile } from './types.js'

/** What the info dictionary alone determines. */
export type InfoFields = Pick<
  Metainfo,
  'infoHash' | 'name' | 'length' | 'pieceLength' | 'pieceCount' | 'lastPieceLength' | 'pieceHashes' | 'files' | 'private'
>

const utf8 = new TextDecoder('utf-8', { fatal: true })

function text(v: BValue | undefined, field: string): string {
  if (!Buffer.isBuffer(v)) throw torrentInvalid(field, 'must be a string')
  try {
    return utf8.decode(v)
  } catch (err) {
    throw torrentInvalid(field, 'is not valid UTF-8', err)
  }
}

function safeSegment(v: BValue | undefined, field: string): string {
  const s = text(v, field)
  const reason = unsafeSegmentReason(s)
  if (reason) throw torrentInvalid(field, `${reason}: ${JSON.stringify(s)}`)
  return s
}

function nonNegativeInt(v: BValue | undefined, field: string): number {
  if (typeof v !== 'number') throw torrentInvalid(field, 'must be an integer')
  if (v < 0) throw torrentInvalid(field, `must not be negative (got ${v})`)
  return v
}

/**
 * Validate an info dictionary and derive the torrent's layout.
 * @param info the decoded dictionary
 * @param infoBuffer its exact bytes, as hashed for the info-hash
 * @throws BitcdnError `BITCDN_ERR_TORRENT_INVALID` naming the field at fault
 * @example
 * const fields = readInfoDict(decoded, rawInfoBytes)
 */
export function readInfoDict(info: BValue | undefined, infoBuffer: Buffer): InfoFields {
  if (!isDict(info)) throw torrentInvalid('info', 'is missing or not a dictionary')

  if (info['pieces'] === undefined && info['meta version'] === 2) {
    throw torrentInvalid('info.pieces', 'is missing: v2-only torrents (BEP 52) are not supported')
  }
  // Prefer the UTF-8 variant where an old client wrote both, as libtorrent does.
  const name = safeSegment(info['name.utf-8'] ?? info['name'], 'info.name')

  const pieceLength = info['piece length']
  if (typeof pieceLength !== 'number' || pieceLength <= 0) {
    throw torrentInvalid('info.piece length', 'must be a positive integer')
  }
  if (pieceLength > MAX_PIECE_LENGTH) {
    throw torrentInvalid('info.piece length', `is ${pieceLength}, above the supported maximum ${MAX_PIECE_LENGTH}`)
  }

  const files = readFiles(info, name)
  const last = files[files.length - 1]!
  const length = last.offset + last.length
  if (length === 0) throw torrentInvalid('info.length', 'is 0: the torrent holds no data')

  const pieces = info['pieces']
  if (!Buffer.isBuffer(pieces)) throw torrentInvalid('info.pieces', 'is missing or not a string')
  if (pieces.length % 20 !== 0) {
    throw torrentInvalid('info.pieces', `has ${pieces.length} bytes, not a multiple of 20`)
  }
  const pieceCount = Math.ceil(length / pieceLength)
  if (pieces.length / 20 !== pieceCount) {
    throw torrentInvalid(
      'info.pieces',
      `holds ${pieces.length / 20} hashes but ${length} bytes in ${pieceLength}-byte pieces need ${pieceCount}`,
    )
  }
  const pieceHashes: Buffer[] = []
  for (let i = 0; i < pieceCount; i++) pieceHashes.push(Buffer.from(pieces.subarray(i * 20, i * 20 + 20)))

  const priv = info['private']
  return {
    infoHash: createHash('sha1').update(infoBuffer).digest('hex'),
    name,
    length,
    pieceLength,
    pieceCount,
    lastPieceLength: length - (pieceCount - 1) * pieceLength,
    pieceHashes,
    files,
    private: priv === 1,
  }
}

function readFiles(info: BDict, name: string): TorrentFile[] {
  const list = info['files']
  if (list === undefined) {
    return [{ path: name, length: nonNegativeInt(info['length'], 'info.length'), offset: 0 }]
  }
  if (info['length'] !== undefined) throw torrentInvalid('info', 'has both "length" and "files"')
  if (!Array.isArray(list) || list.length === 0) throw torrentInvalid('info.files', 'must be a non-empty list')

  const files: TorrentFile[] = []
  const seen = new Set<string>()
  const dirs = new Set<string>()
  let offset = 0
  list.forEach((entry, i) => {
    const field = `info.files[${i}]`
    if (!isDict(entry)) throw torrentInvalid(field, 'must be a dictionary')
    const length = nonNegativeInt(entry['length'], `${field}.length`)
    const segs = entry['path.utf-8'] ?? entry['path']
    if (!Array.isArray(segs) || segs.length === 0) throw torrentInvalid(`${field}.path`, 'must be a non-empty list')
    const parts = segs.map((s, j) => safeSegment(s, `${field}.path[${j}]`))
    const path = [name, ...parts].join('/')
    const attr = entry['attr']
    const padding = Buffer.isBuffer(attr) && attr.includes('p')
    if (padding) {
      // Padding files (often several named ".pad/<n>") never reach the disk, so they cannot clash.
      files.push({ path, length, offset, padding: true })
    } else {
      // Two entries for one path, or a file where another needs a directory, would make storage
      // write two torrent ranges into the same bytes.
      if (seen.has(path) || dirs.has(path)) throw torrentInvalid(`${field}.path`, `clashes with another file: ${path}`)
      seen.add(path)
      for (let k = 1; k < parts.length; k++) {
        const dir = [name, ...parts.slice(0, k)].join('/')
        if (seen.has(dir)) throw torrentInvalid(`${field}.path`, `needs directory ${dir}, which is a file`)
        dirs.add(dir)
      }
      files.push({ path, length, offset })
    }
    offset += length
    if (!Number.isSafeInteger(offset)) throw torrentInvalid('info.files', 'total length is too large')
  })
  return files
}
