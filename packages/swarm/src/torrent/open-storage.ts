/**
 * Storage and resume state for a torrent whose metadata is known: which store, which pieces are
 * already had. Resume rule (see @bitcdn/content's resume journal): trust the journal when it lists
 * pieces and the files are still long enough to hold them; with no journal to trust, recheck
 * whatever the store holds (seeding in place), unless none of the files exist yet (a fresh
 * download has nothing to read).
 *
 * Pieces a recheck found are made durable (`flush({ all: true })`) before the journal records
 * them: another program may have written them moments ago. Data found complete is opened
 * read-only, so no bug of ours can overwrite the user's files; anything else is read-write.
 */
import { mkdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { BitcdnError } from '@bitcdn/core'
import {
  checkPieces,
  eachLimited,
  commitPieces,
  ContentErrorCode,
  createFileStore,
  createMemoryStore,
  openResumeJournal,
  type Metainfo,
  type PieceStore,
  type ResumeJournal,
} from '@bitcdn/content'
import { defaultStateDir, legacyJournalPath, resumeJournalPath } from './resume-location.js'

export interface StorageOptions {
  /** Directory for the files. */
  dir?: string
  /** A store (or factory) to use instead of files in `dir`; the caller owns it. */
  store?: PieceStore | ((metainfo: Metainfo) => PieceStore)
  /** Keep and trust a journal for `dir`. @default true */
  resume?: boolean
  /** Start the journal over and recheck the data (a repair). @default false */
  recheck?: boolean
  /** Directory for resume journals. @default defaultStateDir() */
  stateDir?: string
  /** Pieces a caller-given store holds, already verified (no recheck). */
  have?: number[]
}

export interface OpenedStorage {
  store: PieceStore
  /** True when we made the store and must close it. */
  ownsStore: boolean
  journal: ResumeJournal | undefined
  /** Pieces already verified and durable. */
  have: Iterable<number>
  /** True when the store was opened read-only (the data was complete). */
  readOnly: boolean
}

/**
 * @throws content's storage errors (`BITCDN_ERR_STORAGE_IO`, `BITCDN_ERR_DISK_FULL`, ...)
 * @example
 * const { store, journal, have } = await openStorage(metainfo, { dir, stateDir }, (w) => emit('warning', w))
 */
export async function openStorage(m: Metainfo, opts: StorageOptions, onWarning: (err: BitcdnError) => void): Promise<OpenedStorage> {
  const journal = opts.dir !== undefined && opts.resume !== false ? await openJournal(m, opts.dir, opts.stateDir ?? defaultStateDir(), onWarning, opts.recheck === true) : undefined
  let have: number[] = [...(journal?.have ?? [])]

  if (opts.store !== undefined || opts.dir === undefined) {
    const store = typeof opts.store === 'function' ? opts.store(m) : (opts.store ?? createMemoryStore(m))
    if (have.length === 0 && opts.store !== undefined) have = opts.have ?? (await recheck(store, m, journal))
    return { store, ownsStore: opts.store === undefined, journal, have, readOnly: false }
  }

  const dir = opts.dir
  if (!(await anyFileExists(dir, m))) {
    return { store: createFileStore(m, { dir }), ownsStore: true, journal, have, readOnly: false }
  }
  if (have.length === 0) {
    // seeding in place or a recheck: read through a read-only store; keep it if all is there
    const ro = createFileStore(m, { dir, readOnly: true })
    try {
      have = await recheck(ro, m, journal)
    } catch (err) {
      await ro.close().catch(() => {})
      throw err
    }
    if (have.length === m.pieceCount) return { store: ro, ownsStore: true, journal, have, readOnly: true }
    await ro.close()
  }
  const complete = have.length === m.pieceCount
  return { store: createFileStore(m, { dir, readOnly: complete }), ownsStore: true, journal, have, readOnly: complete }
}

/** Recheck the store; record what it found in the journal once durable. */
async function recheck(store: PieceStore, m: Metainfo, journal: ResumeJournal | undefined): Promise<number[]> {
  const found = (await checkPieces(store, m)).flatMap((ok, i) => (ok ? [i] : []))
  if (journal !== undefined && found.length > 0) {
    await store.flush({ all: true })
    await commitPieces(store, journal, found)
  }
  return found
}

/** Open the journal in the state directory (migrating one from the data directory), or start it over. */
async function openJournal(m: Metainfo, dir: string, stateDir: string, onWarning: (err: BitcdnError) => void, recheck: boolean): Promise<ResumeJournal> {
  const file = resumeJournalPath(stateDir, m.infoHash, dir)
  // a repair: what the journal says was once on disk; only a read says what is there now
  if (recheck) await unlink(file).catch(() => {})
  const legacy = legacyJournalPath(dir, m.infoHash)
  if (!(await exists(file)) && (await exists(legacy))) {
    // a journal from before the state directory: move it out of the user's directory
    await mkdir(dirname(file), { recursive: true }).catch(() => {})
    // across file systems a rename fails: then the data is rechecked once instead
    await rename(legacy, file).catch(() => unlink(legacy).catch(() => {}))
  }
  let journal: ResumeJournal
  try {
    journal = await openResumeJournal(file, m)
  } catch (err) {
    // a journal of another torrent or a corrupt one: start it over and recheck the data
    onWarning(err as BitcdnError)
    await unlink(file).catch(() => {})
    return openResumeJournal(file, m)
  }
  const problem = journal.have.size > 0 ? await filesContradict(dir, m, journal.have) : undefined
  if (problem === undefined) return journal
  // libtorrent checks file sizes against its resume data for the same reason: a file deleted or
  // truncated since would otherwise be reported complete
  await journal.close()
  await unlink(file).catch(() => {})
  onWarning(new BitcdnError(ContentErrorCode.resumeInvalid, `resume journal ${file} no longer matches the files (${problem}); rechecking the data`, { details: { file } }))
  return openResumeJournal(file, m)
}

/** Why the files on disk cannot hold the pieces `have` lists, or undefined if they can. */
async function filesContradict(dir: string, m: Metainfo, have: Set<number>): Promise<string | undefined> {
  const need = new Map<number, number>()
  for (let f = 0; f < m.files.length; f++) {
    const file = m.files[f]!
    if (file.padding || file.length === 0) continue
    const first = Math.floor(file.offset / m.pieceLength)
    const last = Math.floor((file.offset + file.length - 1) / m.pieceLength)
    for (let i = last; i >= first; i--) {
      if (!have.has(i)) continue
      need.set(f, Math.min(file.length, (i + 1) * m.pieceLength - file.offset))
      break
    }
  }
  // a torrent of 100,000 files is 100,000 stats: a few dozen at once, not one round trip each
  let problem: string | undefined
  await eachLimited([...need], STAT_CONCURRENCY, async ([f, bytes]) => {
    if (problem !== undefined) return
    const file = m.files[f]!
    const st = await stat(join(dir, ...file.path.split('/'))).catch(() => undefined)
    if (st === undefined) problem ??= `${file.path} is missing`
    else if (st.size < bytes || st.size > file.length) problem ??= `${file.path} has ${st.size} bytes`
  })
  return problem
}

/** Stats in flight at once when checking a torrent's files. */
const STAT_CONCURRENCY = 32

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false)

async function anyFileExists(dir: string, m: Metainfo): Promise<boolean> {
  const files = m.files.filter((f) => f.length > 0 && f.padding !== true)
  // a multi-file torrent lives under its name: no such directory, no file (a fresh download)
  const top = files[0]?.path.split('/')[0]
  if (top !== undefined && files.every((f) => f.path.startsWith(`${top}/`)) && !(await exists(join(dir, top)))) return false
  let found = false
  await eachLimited(files, STAT_CONCURRENCY, async (f) => {
    if (!found && (await exists(join(dir, ...f.path.split('/'))))) found = true
  })
  return found
}
