/**
 * What `createTorrent` hashes: the input (a file, a directory, a buffer or named buffers) resolved
 * into an ordered list of sources. Directory order is the byte order of the relative paths (as
 * mktorrent sorts), so the same tree always gives the same info-hash whatever the file system's
 * listing order. Hidden files are included: a CDN publishes exactly what is in the folder.
 */
import type { Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import { toIoError } from '../io-error.js'
import { unsafeSegmentReason } from './path-segment.js'
import { eachLimited } from '../storage/each-limited.js'

const STAT_CONCURRENCY = 32

/** One file to hash: where its bytes come from and where it sits under the torrent name. */
export interface Source {
  /** Path segments below the torrent name (empty for a single-file torrent). */
  segments: string[]
  length: number
  /** A file path to stream from, or the bytes themselves. */
  from: string | Buffer
}

export interface ResolvedInput {
  name: string
  /** Single-file torrents have `length` in the info dictionary instead of `files`. */
  singleFile: boolean
  sources: Source[]
}

export type CreateInput = string | Buffer | Array<{ path: string; data: Buffer }>

function inputInvalid(message: string, details: Record<string, unknown> = {}): BitcdnError {
  return new BitcdnError(ContentErrorCode.createInputInvalid, message, { details })
}

function checkSegments(segments: string[], what: string): void {
  for (const s of segments) {
    const reason = unsafeSegmentReason(s)
    if (reason) throw inputInvalid(`cannot create torrent: ${what} has a path segment that ${reason}: ${JSON.stringify(s)}`, { path: what })
  }
}

/**
 * Resolve createTorrent's input.
 * @throws BitcdnError `BITCDN_ERR_FILE_NOT_FOUND` for a missing path, `BITCDN_ERR_CREATE_INPUT_INVALID`
 * for empty input, unsafe names, special files or symlink loops, `BITCDN_ERR_STORAGE_IO` otherwise.
 * @example
 * const { name, sources } = await resolveCreateInput('/data/site', undefined)
 */
export async function resolveCreateInput(input: CreateInput, name: string | undefined): Promise<ResolvedInput> {
  let resolved: ResolvedInput
  if (typeof input === 'string') resolved = await resolvePath(input, name)
  else if (Buffer.isBuffer(input)) {
    if (name === undefined) throw inputInvalid('cannot create torrent: a name is required for buffer input')
    resolved = { name, singleFile: true, sources: [{ segments: [], length: input.length, from: input }] }
  } else resolved = resolveNamedBuffers(input, name)

  checkSegments([resolved.name], 'the torrent name')
  if (resolved.sources.length === 0) throw inputInvalid('cannot create torrent: the input contains no files')
  if (resolved.sources.every((s) => s.length === 0)) throw inputInvalid('cannot create torrent: the input holds no data (all files are empty)')
  return resolved
}

function resolveNamedBuffers(input: Array<{ path: string; data: Buffer }>, name: string | undefined): ResolvedInput {
  let entries = input.map((f) => ({ segments: f.path.split('/'), data: f.data }))
  if (name === undefined) {
    // Like create-torrent: a first directory shared by every path becomes the torrent name.
    const first = entries[0]?.segments[0]
    if (first === undefined || !entries.every((e) => e.segments.length > 1 && e.segments[0] === first)) {
      throw inputInvalid('cannot create torrent: give a name, or put all paths under one top directory')
    }
    name = first
    entries = entries.map((e) => ({ ...e, segments: e.segments.slice(1) }))
  }
  const seen = new Set<string>()
  const sources = entries.map((e) => {
    const joined = e.segments.join('/')
    checkSegments(e.segments, JSON.stringify(joined))
    if (seen.has(joined)) throw inputInvalid(`cannot create torrent: the path ${joined} is given twice`)
    seen.add(joined)
    return { segments: e.segments, length: e.data.length, from: e.data }
  })
  return { name, singleFile: false, sources }
}

async function resolvePath(path: string, name: string | undefined): Promise<ResolvedInput> {
  const abs = resolve(path)
  const st = await stat(abs).catch((err: unknown) => {
    throw toIoError(err, 'read', abs)
  })
  if (st.isFile()) return { name: name ?? basename(abs), singleFile: true, sources: [{ segments: [], length: st.size, from: abs }] }
  if (!st.isDirectory()) throw inputInvalid(`cannot create torrent: ${abs} is not a regular file or directory`, { path: abs })
  const sources: Source[] = []
  await walk(abs, [], new Set([`${st.dev}:${st.ino}`]), sources)
  const key = (s: Source) => Buffer.from(s.segments.join('/'))
  sources.sort((a, b) => Buffer.compare(key(a), key(b)))
  return { name: name ?? basename(abs), singleFile: false, sources }
}

async function walk(dir: string, segments: string[], ancestors: Set<string>, out: Source[]): Promise<void> {
  const entries = await readdir(dir).catch((err: unknown) => {
    throw toIoError(err, 'list', dir)
  })
  // stat, not lstat: symlinks are followed, as mktorrent and libtorrent do. A few dozen at once:
  // one at a time, a directory of 100,000 files waited 100,000 thread-pool round trips
  const stats = new Array<Stats>(entries.length)
  await eachLimited(
    entries.map((_, i) => i),
    STAT_CONCURRENCY,
    async (i) => {
      const full = join(dir, entries[i]!)
      stats[i] = await stat(full).catch((err: unknown) => {
        throw toIoError(err, 'read', full)
      })
    },
  )
  for (const [i, entry] of entries.entries()) {
    const full = join(dir, entry)
    const st = stats[i]!
    if (st.isFile()) out.push({ segments: [...segments, entry], length: st.size, from: full })
    else if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`
      if (ancestors.has(id)) throw inputInvalid(`cannot create torrent: symlink loop at ${full}`, { path: full })
      await walk(full, [...segments, entry], new Set([...ancestors, id]), out)
    } else {
      throw inputInvalid(`cannot create torrent: ${full} is not a regular file or directory (FIFO, socket or device)`, { path: full })
    }
  }
}
