/**
 * A PieceStore over real files: `<dir>/<file.path>` for each file of the torrent. Pieces that run
 * across file boundaries are split with positional reads and writes; nothing is held in memory
 * beyond the piece being moved, so a torrent of any size streams through. Files and directories are
 * created on first write, and an existing file is used as it is (seeding in place: seeding
 * `/data/big.iso` means `dir: '/data'`; nothing is copied).
 *
 * Durability (the contract of PieceStore.flush): `flush()` fdatasyncs every file written since the
 * last flush and fsyncs every directory that gained an entry, so a newly created file survives a
 * crash together with its bytes.
 */
import { constants } from 'node:fs'
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { BitcdnError, hasCode } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import { errnoCode, toIoError } from '../io-error.js'
import type { Metainfo, TorrentFile } from '../metainfo/types.js'
import { checkRange, checkWholePiece, fileSpans } from './piece-geometry.js'
import type { PieceStore } from './types.js'

export interface FileStoreOptions {
  /** Directory the torrent's file paths are relative to. */
  dir: string
  /** Never create or write files: for seeding data that must not change. @default false */
  readOnly?: boolean
  /** File handles kept open at once; the least recently used idle one is closed beyond this. @default 128 */
  maxOpenFiles?: number
}

interface Handle {
  fh: FileHandle
  writable: boolean
}

interface Slot {
  handle: Promise<Handle>
  /** Operations holding the handle; a slot in use is never evicted. */
  users: number
  lastUse: number
}

/**
 * Store pieces in the files of `metainfo` under `opts.dir`.
 * @throws (from its methods) `BITCDN_ERR_DISK_FULL`, `BITCDN_ERR_STORAGE_IO` (with cause),
 * `BITCDN_ERR_FILE_NOT_FOUND` (reading a file that does not exist), `BITCDN_ERR_PIECE_MISSING`
 * (a file shorter than the torrent says), `BITCDN_ERR_PIECE_RANGE`, `BITCDN_ERR_STORE_CLOSED`.
 * @example
 * const store = createFileStore(metainfo, { dir: '/var/lib/bitcdn/downloads' })
 * await store.put(0, verifiedPiece)
 * await store.flush()
 */
export function createFileStore(metainfo: Metainfo, opts: FileStoreOptions): PieceStore {
  const root = resolve(opts.dir)
  const maxOpen = Math.max(1, opts.maxOpenFiles ?? 128)
  const files = metainfo.files
  const geometry = { pieceLength: metainfo.pieceLength, pieceCount: metainfo.pieceCount, length: metainfo.length }
  const slots = new Map<number, Slot>()
  const dirty = new Set<number>()
  const dirsToSync = new Set<string>()
  // A failed sync of an evicted file surfaces from the next flush(), never from an unrelated call.
  let evictionSyncError: BitcdnError | undefined
  let emptyFilesMade = false
  let closed = false
  let clock = 0

  const pathOf = (file: TorrentFile): string => {
    const p = join(root, ...file.path.split('/'))
    const rel = relative(root, p)
    // Metainfo paths are validated already; this guards against a hand-built Metainfo.
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new BitcdnError(ContentErrorCode.torrentInvalid, `file path escapes the storage directory: ${file.path}`)
    return p
  }

  const ensureOpen = (): void => {
    if (closed) throw new BitcdnError(ContentErrorCode.storeClosed, 'the piece store is closed')
  }

  async function openHandle(file: TorrentFile, forWrite: boolean): Promise<Handle> {
    const path = pathOf(file)
    if (!opts.readOnly) {
      try {
        return { fh: await open(path, 'r+'), writable: true }
      } catch (err) {
        const code = errnoCode(err)
        if (code === 'ENOENT' && forWrite) return createFile(path)
        // A file we may only read (another owner, a read-only mount) can still be seeded.
        if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw toIoError(err, 'open', path)
      }
    }
    try {
      return { fh: await open(path, 'r'), writable: false }
    } catch (err) {
      throw toIoError(err, 'open', path)
    }
  }

  async function createFile(path: string): Promise<Handle> {
    const dir = dirname(path)
    try {
      const first = await mkdir(dir, { recursive: true })
      if (first !== undefined) {
        // Every new directory, and the one that holds the first of them, gained an entry.
        dirsToSync.add(dirname(first))
        for (let d = dir; d.length >= first.length; d = dirname(d)) dirsToSync.add(d)
      }
      // O_EXCL tells us whether we made the file (then its directory entry needs an fsync).
      const fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644)
      dirsToSync.add(dir)
      return { fh, writable: true }
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return { fh: await open(path, 'r+').catch((e: unknown) => { throw toIoError(e, 'open', path) }), writable: true }
      throw toIoError(err, 'create', path)
    }
  }

  async function withHandle<T>(fileIndex: number, forWrite: boolean, fn: (h: Handle, path: string) => Promise<T>): Promise<T> {
    try {
      return await useSlot(fileIndex, forWrite, fn)
    } catch (err) {
      // A read that found no file may have shared its failed open with this write; the write
      // creates the file, so it retries with an open of its own.
      if (forWrite && hasCode(err, ContentErrorCode.fileNotFound)) return useSlot(fileIndex, forWrite, fn)
      throw err
    }
  }

  async function useSlot<T>(fileIndex: number, forWrite: boolean, fn: (h: Handle, path: string) => Promise<T>): Promise<T> {
    const file = files[fileIndex]!
    let slot = slots.get(fileIndex)
    if (!slot) {
      slot = { handle: openHandle(file, forWrite), users: 0, lastUse: 0 }
      slots.set(fileIndex, slot)
      const created = slot
      // A failed open must not stay cached: the file may appear later (it is being downloaded).
      created.handle.catch(() => {
        if (slots.get(fileIndex) === created) slots.delete(fileIndex)
      })
    }
    slot.users++
    slot.lastUse = ++clock
    try {
      return await fn(await slot.handle, pathOf(file))
    } finally {
      slot.users--
      await evictIdle()
    }
  }

  async function evictIdle(): Promise<void> {
    while (slots.size > maxOpen) {
      let victim: [number, Slot] | undefined
      for (const entry of slots) if (entry[1].users === 0 && (!victim || entry[1].lastUse < victim[1].lastUse)) victim = entry
      if (!victim) return
      const [index, slot] = victim
      slots.delete(index)
      const h = await slot.handle
      // Closing does not make data durable; a dirty file is synced first so flush() stays exact.
      if (dirty.delete(index)) {
        await h.fh.datasync().catch((err: unknown) => {
          evictionSyncError ??= toIoError(err, 'sync', pathOf(files[index]!))
        })
      }
      await h.fh.close().catch(() => undefined)
    }
  }

  /** fdatasync every existing file (a read-only descriptor syncs too on Linux and macOS). */
  async function syncEveryFile(): Promise<void> {
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!
      if (file.padding || file.length === 0) continue
      try {
        await withHandle(i, false, async (h, path) => {
          await h.fh.datasync().catch((err: unknown) => { throw toIoError(err, 'sync', path) })
        })
      } catch (err) {
        if (!hasCode(err, ContentErrorCode.fileNotFound)) throw err
      }
      dirty.delete(i)
    }
  }

  async function makeEmptyFiles(): Promise<void> {
    for (const file of files) {
      if (file.length !== 0 || file.padding) continue
      const path = pathOf(file)
      const exists = await stat(path).then(() => true, () => false)
      if (!exists) await (await createFile(path)).fh.close()
    }
    emptyFilesMade = true
  }

  return {
    ...geometry,

    async put(index, data) {
      ensureOpen()
      checkWholePiece(geometry, index, data)
      if (opts.readOnly) throw new BitcdnError(ContentErrorCode.storageIo, 'storage error: this store is read-only')
      for (const span of fileSpans(files, index * geometry.pieceLength, data.length)) {
        if (span.file.padding) continue // BEP 47: zeros by definition, never on disk
        await withHandle(span.fileIndex, true, async (h, path) => {
          if (!h.writable) throw new BitcdnError(ContentErrorCode.storageIo, `storage error: cannot write ${path}: file is read-only`, { details: { path } })
          let done = 0
          while (done < span.length) {
            const { bytesWritten } = await h.fh
              .write(data, span.bufferOffset + done, span.length - done, span.fileOffset + done)
              .catch((err: unknown) => { throw toIoError(err, 'write', path) })
            done += bytesWritten
          }
          dirty.add(span.fileIndex)
        })
      }
    },

    async get(index, offset, length, into) {
      ensureOpen()
      checkRange(geometry, index, offset, length)
      // every byte is either read below (a short file throws) or a padding zero: no zero-fill
      const out = into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length)
      for (const span of fileSpans(files, index * geometry.pieceLength + offset, length)) {
        if (span.file.padding) {
          out.fill(0, span.bufferOffset, span.bufferOffset + span.length) // BEP 47: zeros by definition
          continue
        }
        await withHandle(span.fileIndex, false, async (h, path) => {
          let done = 0
          while (done < span.length) {
            const { bytesRead } = await h.fh
              .read(out, span.bufferOffset + done, span.length - done, span.fileOffset + done)
              .catch((err: unknown) => { throw toIoError(err, 'read', path) })
            if (bytesRead === 0) {
              throw new BitcdnError(ContentErrorCode.pieceMissing, `piece ${index} is missing: ${path} is shorter than the torrent says`, {
                details: { index, path },
              })
            }
            done += bytesRead
          }
        })
      }
      return out
    },

    async flush(flushOpts) {
      ensureOpen()
      if (evictionSyncError) {
        const err = evictionSyncError
        evictionSyncError = undefined
        throw err
      }
      if (!emptyFilesMade && !opts.readOnly && dirty.size > 0) await makeEmptyFiles()
      if (flushOpts?.all) await syncEveryFile()
      for (const index of [...dirty]) {
        const slot = slots.get(index)
        if (!slot) continue // evicted: synced on eviction
        const path = pathOf(files[index]!)
        dirty.delete(index)
        try {
          await (await slot.handle).fh.datasync()
        } catch (err) {
          dirty.add(index)
          throw toIoError(err, 'sync', path)
        }
      }
      for (const dir of [...dirsToSync]) {
        const fh = await open(dir, 'r').catch((err: unknown) => { throw toIoError(err, 'open', dir) })
        try {
          await fh.sync().catch((err: unknown) => { throw toIoError(err, 'sync', dir) })
          dirsToSync.delete(dir)
        } finally {
          await fh.close()
        }
      }
    },

    async close() {
      if (closed) return
      closed = true
      const all = [...slots.values()]
      slots.clear()
      await Promise.all(all.map((s) => s.handle.then((h) => h.fh.close(), () => undefined)))
    },
  }
}
