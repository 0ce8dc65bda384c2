/**
 * Streaming reads of one file of a torrent, in verified bytes: the HTTP gateway serves ranges from
 * this. The stream asks for exactly the pieces it needs, the next one at the highest priority and
 * a few after it as read-ahead, waits for pieces still downloading and reads them from the store.
 */
import { Readable } from 'node:stream'
import type { Metainfo } from '@bitcdn/content'
import { swarmError } from '../errors.js'

/** What a read stream needs from its torrent. */
export interface PieceReader {
  readonly metainfo: Metainfo
  /** Resolves once piece `index` is verified and stored; rejects if the torrent stops. */
  waitForPiece(index: number): Promise<void>
  read(index: number, offset: number, length: number): Promise<Buffer>
  /** Set this stream's wanted pieces and their priorities (replaces the previous set). */
  setStreamPriorities(streamId: number, priorities: Map<number, number>): void
  clearStreamPriorities(streamId: number): void
}

export interface FileReadRange {
  start?: number
  end?: number
}

/** Pieces read ahead of the current one. */
const READ_AHEAD_PIECES = 4
let nextStreamId = 1

/**
 * Resolve a file and range to torrent byte offsets.
 * @throws BitcdnError `BITCDN_ERR_FILE_RANGE`
 */
export function resolveFileRange(metainfo: Metainfo, file: number | string, range: FileReadRange = {}): { first: number; last: number } {
  const f =
    typeof file === 'number'
      ? metainfo.files[file]
      : metainfo.files.find((x) => x.path === file || x.path === `${metainfo.name}/${file}`)
  if (f === undefined) throw swarmError('fileRange', `torrent ${metainfo.name} has no file ${String(file)}`, { file })
  const start = range.start ?? 0
  const end = range.end ?? f.length - 1
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end >= f.length || (start > end && f.length > 0)) {
    throw swarmError('fileRange', `range ${start}-${end} is outside ${f.path} (${f.length} bytes)`, { file: f.path, start, end })
  }
  return { first: f.offset + start, last: f.offset + end }
}

/**
 * @example
 * createFileReadStream(session, 0, { start: 0, end: 1023 }).pipe(res)
 */
export function createFileReadStream(reader: PieceReader, file: number | string, range: FileReadRange = {}): Readable {
  const m = reader.metainfo
  let first: number
  let last: number
  try {
    ;({ first, last } = resolveFileRange(m, file, range))
  } catch (err) {
    const r = new Readable({ read() {} })
    process.nextTick(() => r.destroy(err as Error))
    return r
  }
  const id = nextStreamId++
  let pos = first
  const lastPiece = Math.floor(last / m.pieceLength)
  const prioritize = (from: number) => {
    const prio = new Map<number, number>()
    for (let i = from; i <= Math.min(lastPiece, from + READ_AHEAD_PIECES); i++) prio.set(i, i === from ? 7 : 6)
    for (let i = from + READ_AHEAD_PIECES + 1; i <= lastPiece; i++) prio.set(i, 2)
    reader.setStreamPriorities(id, prio)
  }
  let reading = false
  const stream = new Readable({
    highWaterMark: m.pieceLength,
    read() {
      if (reading) return
      if (pos > last || last < first) {
        this.push(null)
        return
      }
      reading = true
      const index = Math.floor(pos / m.pieceLength)
      prioritize(index)
      const pieceStart = index * m.pieceLength
      const offset = pos - pieceStart
      const pieceEnd = Math.min(pieceStart + m.pieceLength - 1, last)
      const length = pieceEnd - pos + 1
      reader
        .waitForPiece(index)
        .then(() => reader.read(index, offset, length))
        .then(
          (buf) => {
            reading = false
            pos += length
            this.push(buf)
            if (pos > last) this.push(null)
          },
          (err: Error) => {
            reading = false
            this.destroy(err)
          },
        )
    },
    destroy(err, cb) {
      reader.clearStreamPriorities(id)
      cb(err)
    },
  })
  stream.once('end', () => reader.clearStreamPriorities(id))
  return stream
}
