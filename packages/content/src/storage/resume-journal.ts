/**
 * The resume journal: which pieces are durable on disk, so a restart need not recheck everything.
 *
 * Invariant: a piece is recorded only after its bytes are durable (the caller runs
 * `store.flush()` first — `commitPieces` does both in order), and after a restart only recorded
 * pieces are trusted. So a crash at any moment can lose records (those pieces are fetched or
 * rechecked again) but never yields a recorded piece whose bytes are missing.
 *
 * Format (all integers unsigned 32-bit big-endian), append-only:
 *   header  = "BCDNRSM1" | info-hash (20 bytes) | piece count | crc32(previous 32 bytes)
 *   record  = n | n piece indices | crc32(n and indices, seeded with the header's crc)
 * A crash mid-append leaves a record whose length or checksum is wrong; reading stops at the first
 * such record and ignores everything after it (a torn tail), so nothing is ever misread. Seeding
 * each record's checksum with the header's ties records to this torrent. On open, a torn tail or
 * several records are compacted into one record, written to a temporary file and renamed over.
 */
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { crc32 } from 'node:zlib'
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import { errnoCode, toIoError } from '../io-error.js'
import type { Metainfo } from '../metainfo/types.js'

const MAGIC = Buffer.from('BCDNRSM1', 'latin1')
const HEADER_BYTES = 36

/** An open resume journal. */
export interface ResumeJournal {
  /** The journal's path. */
  readonly file: string
  /**
   * Pieces recorded durable: those found at open, plus each `record()` once it has resolved.
   * Treat it as read-only.
   */
  readonly have: Set<number>
  /** Bytes of a torn or corrupt tail that were found at open and discarded (0 normally). */
  readonly discardedBytes: number
  /**
   * Append indices as durable (fsync'd before it resolves). Call only after `store.flush()`
   * covered those pieces. Concurrent calls are applied in order.
   * @throws BitcdnError `BITCDN_ERR_PIECE_RANGE`, `BITCDN_ERR_DISK_FULL`, `BITCDN_ERR_STORAGE_IO`
   */
  record(indices: number[]): Promise<void>
  close(): Promise<void>
}

function invalid(file: string, problem: string): BitcdnError {
  return new BitcdnError(ContentErrorCode.resumeInvalid, `resume journal ${file} ${problem}; recheck the data instead`, { details: { file } })
}

function header(infoHash: string, pieceCount: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(h, 0)
  Buffer.from(infoHash, 'hex').copy(h, 8)
  h.writeUInt32BE(pieceCount, 28)
  h.writeUInt32BE(crc32(h.subarray(0, 32)), 32)
  return h
}

function encodeRecord(indices: number[], seed: number): Buffer {
  const r = Buffer.alloc(8 + indices.length * 4)
  r.writeUInt32BE(indices.length, 0)
  indices.forEach((index, i) => r.writeUInt32BE(index, 4 + i * 4))
  r.writeUInt32BE(crc32(r.subarray(0, r.length - 4), seed), r.length - 4)
  return r
}

interface Scan {
  have: Set<number>
  records: number
  validBytes: number
}

function scan(file: string, buf: Buffer, expected: Buffer, pieceCount: number): Scan {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw invalid(file, 'is not a BitCDN resume journal')
  const seen = buf.subarray(0, HEADER_BYTES)
  if (seen.readUInt32BE(32) !== crc32(seen.subarray(0, 32))) throw invalid(file, 'has a corrupt header')
  if (!seen.subarray(8, 28).equals(expected.subarray(8, 28))) {
    throw invalid(file, `belongs to torrent ${seen.subarray(8, 28).toString('hex')}, not ${expected.subarray(8, 28).toString('hex')}`)
  }
  if (seen.readUInt32BE(28) !== pieceCount) throw invalid(file, `is for ${seen.readUInt32BE(28)} pieces, not ${pieceCount}`)

  const seed = seen.readUInt32BE(32)
  const have = new Set<number>()
  let pos = HEADER_BYTES
  let records = 0
  while (pos + 8 <= buf.length) {
    const n = buf.readUInt32BE(pos)
    const end = pos + 8 + n * 4
    if (n === 0 || n > pieceCount || end > buf.length) break
    if (buf.readUInt32BE(end - 4) !== crc32(buf.subarray(pos, end - 4), seed)) break
    const indices: number[] = []
    for (let p = pos + 4; p < end - 4; p += 4) indices.push(buf.readUInt32BE(p))
    if (indices.some((i) => i >= pieceCount)) break
    for (const i of indices) have.add(i)
    records++
    pos = end
  }
  return { have, records, validBytes: pos }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Replace `file` with `content` so that a crash leaves either the old or the new file, whole. */
async function writeAtomically(file: string, content: Buffer): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  try {
    const fh = await open(tmp, 'w', 0o644)
    try {
      await fh.writeFile(content)
      await fh.datasync()
    } finally {
      await fh.close()
    }
    await rename(tmp, file)
    await syncDir(dirname(file))
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw toIoError(err, 'write', file)
  }
}

/**
 * Open (or create) the resume journal for `metainfo` at `file`.
 * @throws BitcdnError `BITCDN_ERR_RESUME_INVALID` if the file is not a journal or belongs to
 * another torrent (callers then fall back to `checkPieces` and may delete it);
 * `BITCDN_ERR_DISK_FULL` / `BITCDN_ERR_STORAGE_IO` on I/O failure.
 * @example
 * const journal = await openResumeJournal(`${stateDir}/${m.infoHash}.resume`, m)
 * for (const i of journal.have) picker.markHave(i)
 */
export async function openResumeJournal(file: string, metainfo: Metainfo): Promise<ResumeJournal> {
  const expected = header(metainfo.infoHash, metainfo.pieceCount)
  await mkdir(dirname(file), { recursive: true }).catch((err: unknown) => {
    throw toIoError(err, 'create', dirname(file))
  })
  let existing: Buffer | undefined
  try {
    existing = await readFile(file)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw toIoError(err, 'read', file)
  }

  let have = new Set<number>()
  let discardedBytes = 0
  if (existing === undefined) {
    await writeAtomically(file, expected)
  } else {
    const found = scan(file, existing, expected, metainfo.pieceCount)
    have = found.have
    discardedBytes = existing.length - found.validBytes
    if (discardedBytes > 0 || found.records > 1) {
      const all = [...have].sort((a, b) => a - b)
      await writeAtomically(file, Buffer.concat([expected, ...(all.length > 0 ? [encodeRecord(all, expected.readUInt32BE(32))] : [])]))
    }
  }

  const fh: FileHandle = await open(file, 'a').catch((err: unknown) => {
    throw toIoError(err, 'open', file)
  })
  const seed = expected.readUInt32BE(32)
  let size = (await fh.stat()).size
  let queue: Promise<void> = Promise.resolve()
  let broken: BitcdnError | undefined
  let closed = false

  async function append(indices: number[]): Promise<void> {
    if (broken) throw broken
    const fresh = [...new Set(indices)].filter((i) => !have.has(i))
    if (fresh.length === 0) return
    const rec = encodeRecord(fresh, seed)
    try {
      let done = 0
      while (done < rec.length) done += (await fh.write(rec, done, rec.length - done)).bytesWritten
      await fh.datasync()
    } catch (err) {
      const mapped = toIoError(err, 'append to', file)
      // Cut the partial record off so later records do not sit behind garbage; if even that
      // fails, refuse further records (the ones on disk stay valid).
      await fh.truncate(size).catch(() => {
        broken = mapped
      })
      throw mapped
    }
    size += rec.length
    for (const i of fresh) have.add(i)
  }

  return {
    file,
    have,
    discardedBytes,
    record(indices) {
      if (closed) return Promise.reject(new BitcdnError(ContentErrorCode.storeClosed, `resume journal ${file} is closed`))
      for (const i of indices) {
        if (!Number.isInteger(i) || i < 0 || i >= metainfo.pieceCount) {
          return Promise.reject(new BitcdnError(ContentErrorCode.pieceRange, `piece ${i} does not exist (the torrent has ${metainfo.pieceCount} pieces)`))
        }
      }
      const run = queue.then(() => append(indices))
      queue = run.catch(() => undefined)
      return run
    },
    async close() {
      if (closed) return
      closed = true
      await queue
      await fh.close()
    },
  }
}
