/**
 * Storage and resume state for a torrent whose metadata is known: which store, which pieces are
 * already had. Resume rule (see @bitcdn/content's resume journal): trust the journal when it lists
 * pieces; with no journal to trust, recheck whatever the store holds (seeding in place), unless
 * none of the files exist yet (a fresh download has nothing to read).
 */
import { stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { BitcdnError } from '@bitcdn/core'
import {
  checkPieces,
  createFileStore,
  createMemoryStore,
  openResumeJournal,
  type Metainfo,
  type PieceStore,
  type ResumeJournal,
} from '@bitcdn/content'

export interface StorageOptions {
  /** Directory for the files and the journal. */
  dir?: string
  /** A store (or factory) to use instead of files in `dir`; the caller owns it. */
  store?: PieceStore | ((metainfo: Metainfo) => PieceStore)
  /** Keep and trust a journal in `dir`. @default true */
  resume?: boolean
}

export interface OpenedStorage {
  store: PieceStore
  /** True when we made the store and must close it. */
  ownsStore: boolean
  journal: ResumeJournal | undefined
  /** Pieces already verified and durable. */
  have: Iterable<number>
}

/** Where the journal of a torrent lives inside its directory. */
export const journalPath = (dir: string, infoHash: string): string => join(dir, `.${infoHash}.resume`)

/**
 * @throws content's storage errors (`BITCDN_ERR_STORAGE_IO`, `BITCDN_ERR_DISK_FULL`, ...)
 * @example
 * const { store, journal, have } = await openStorage(metainfo, { dir }, (w) => emit('warning', w))
 */
export async function openStorage(m: Metainfo, opts: StorageOptions, onWarning: (err: BitcdnError) => void): Promise<OpenedStorage> {
  let store: PieceStore
  let ownsStore = false
  if (typeof opts.store === 'function') store = opts.store(m)
  else if (opts.store !== undefined) store = opts.store
  else {
    store = opts.dir !== undefined ? createFileStore(m, { dir: opts.dir }) : createMemoryStore(m)
    ownsStore = true
  }
  let journal: ResumeJournal | undefined
  let have: Iterable<number> = []
  if (opts.dir !== undefined && opts.resume !== false) {
    const file = journalPath(opts.dir, m.infoHash)
    try {
      journal = await openResumeJournal(file, m)
    } catch (err) {
      // a journal of another torrent or a corrupt one: start it over and recheck the data
      onWarning(err as BitcdnError)
      await unlink(file).catch(() => {})
      journal = await openResumeJournal(file, m)
    }
    have = journal.have
  }
  const nothingOnDisk = opts.dir !== undefined && opts.store === undefined && !(await anyFileExists(opts.dir, m))
  if ((journal === undefined || journal.have.size === 0) && !nothingOnDisk) {
    const found = (await checkPieces(store, m)).flatMap((ok, i) => (ok ? [i] : []))
    have = found
    if (journal !== undefined && found.length > 0) await journal.record(found)
  }
  return { store, ownsStore, journal, have }
}

async function anyFileExists(dir: string, m: Metainfo): Promise<boolean> {
  for (const f of m.files) {
    if (f.length === 0 || f.padding === true) continue
    if (await stat(join(dir, f.path)).then(() => true, () => false)) return true
  }
  return false
}
