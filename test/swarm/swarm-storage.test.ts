/**
 * Storage and resume state of torrent sessions: crash-safe journaling of rechecked pieces,
 * read-only seeding in place, and resume journals kept in the state directory (never in the
 * user's data directory).
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createFileStore, type PieceStore } from '@bitcdn/content'
import { resumeJournalPath } from '@bitcdn/swarm'
import { addr, filledStore, harness, makeTorrent, readAll, testData } from './swarm-helpers.js'

const h = harness()
afterEach(() => h.cleanup())

/** Size of an empty journal: its header alone. */
const JOURNAL_HEADER_BYTES = 36

describe('torrent storage and resume', () => {
  it('flushes pieces found by a recheck before the resume journal records them', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const dir = await h.tempDir()
    await writeFile(join(dir, 'data.bin'), data)
    const stateDir = await h.stateDir()
    const journal = resumeJournalPath(stateDir, m.infoHash, dir)
    const flushes: { all: boolean; journalBytes: number }[] = []
    const spy = (inner: PieceStore): PieceStore => ({
      ...inner,
      get: (i, o, l) => inner.get(i, o, l),
      put: (i, d) => inner.put(i, d),
      close: () => inner.close(),
      async flush(opts) {
        flushes.push({ all: opts?.all === true, journalBytes: (await stat(journal)).size })
        return inner.flush(opts)
      },
    })
    const client = await h.client()
    const t = await client.add(m, { dir, store: (meta) => spy(createFileStore(meta, { dir })) })
    expect(t.stats().verifiedPieces).toBe(m.pieceCount)
    // the recheck's finds were synced (every file, not only written ones) while the journal was still empty
    expect(flushes[0]).toEqual({ all: true, journalBytes: JOURNAL_HEADER_BYTES })
    expect((await stat(journal)).size).toBeGreaterThan(JOURNAL_HEADER_BYTES)
    await client.stop()
    await t.store!.close() // the caller's store
  })

  it('commits every 64 MiB stored while downloading, not only at the end', async () => {
    // the page cache holds a whole fast download: without commits on the way, the final fdatasync
    // wrote all of it (a fifth of a 512 MiB download's wall time)
    const data = randomBytes(132 * 1024 * 1024)
    const m = await makeTorrent(data, { pieceLength: 1024 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const dir = await h.tempDir()
    let stored = 0
    // pieces stored when each flush started and when it returned
    const flushes: { at: number; endAt: number }[] = []
    const spy = (inner: PieceStore): PieceStore => ({
      ...inner,
      async put(i, d) {
        await inner.put(i, d)
        stored++
      },
      async flush(opts) {
        const f = { at: stored, endAt: -1 }
        flushes.push(f)
        await inner.flush(opts)
        f.endAt = stored
      },
    })
    const leecher = await h.client()
    const t = await leecher.add(m, { dir, peers: [addr(seeder)], resume: false, store: (meta) => spy(createFileStore(meta, { dir })) })
    await t.whenDone()
    // the first commit starts once 64 MiB are stored, while pieces are still missing (the 10 s tick
    // can add one more, never sooner than 10 s)
    const during = flushes.filter((f) => f.at < m.pieceCount)
    expect(during.length).toBeGreaterThanOrEqual(1)
    const first = during[0]!
    expect(first.at).toBeGreaterThanOrEqual(64)
    expect(first.at).toBeLessThan(64 + 8) // a few puts may finish between the trigger and the flush
    // the next starts at 128 MiB, or as soon as the first returns when the disk was slower than the
    // swarm (one at a time, never skipped): it is missing only when that point is past the end
    const nextDue = Math.max(128, first.endAt)
    if (nextDue < m.pieceCount - 2) expect(during.length).toBeGreaterThanOrEqual(2)
    else console.log(`first commit returned at ${first.endAt} pieces of ${m.pieceCount}: a slow disk, no room for a second`)
    expect((await readFile(join(dir, 'data.bin'))).equals(data)).toBe(true)
    await t.store!.close()
  })

  it('seeds complete data in place read-only, and downloads incomplete data read-write', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const complete = await h.tempDir()
    await writeFile(join(complete, 'data.bin'), data)
    const seeder = await h.client()
    const s = await seeder.add(m, { dir: complete })
    expect(s.done).toBe(true)
    await expect(s.store!.put(0, Buffer.alloc(32 * 1024))).rejects.toMatchObject({ code: 'BITCDN_ERR_STORAGE_IO' })
    expect((await readFile(join(complete, 'data.bin'))).equals(data)).toBe(true)

    const partial = await h.tempDir()
    const damaged = Buffer.from(data)
    damaged.fill(0, 3 * 32 * 1024, 4 * 32 * 1024)
    await writeFile(join(partial, 'data.bin'), damaged)
    const leecher = await h.client()
    const t = await leecher.add(m, { dir: partial, peers: [addr(seeder)] })
    expect(t.stats().verifiedPieces).toBe(m.pieceCount - 1)
    await t.whenDone()
    expect((await readFile(join(partial, 'data.bin'))).equals(data)).toBe(true)
  })

  it('keeps resume journals in the state dir, one per data dir, and trusts them on re-add', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const dirA = await h.tempDir()
    const dirB = await h.tempDir()
    const first = await h.client()
    await (await first.add(m, { dir: dirA, peers: [addr(seeder)] })).whenDone()
    await first.stop()
    const second = await h.client()
    await (await second.add(m, { dir: dirB, peers: [addr(seeder)] })).whenDone()
    await second.stop()
    expect(await readdir(dirA)).toEqual(['data.bin'])
    expect(await readdir(dirB)).toEqual(['data.bin'])
    const journals = (await readdir(await h.stateDir())).sort()
    expect(journals).toEqual(
      [resumeJournalPath('', m.infoHash, dirA), resumeJournalPath('', m.infoHash, dirB)].map((p) => p.replace(/^\//, '')).sort(),
    )
    // a trusted journal is not rechecked: a flipped byte of the same length goes unnoticed
    const file = join(dirA, 'data.bin')
    const bytes = await readFile(file)
    bytes[100] = bytes[100]! ^ 0xff
    await writeFile(file, bytes)
    const third = await h.client()
    const t = await third.add(m, { dir: dirA })
    expect(t.stats().verifiedPieces).toBe(m.pieceCount)
  })

  it('drops a journal the files contradict (truncated since), says so, and rechecks what is there', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const dir = await h.tempDir()
    const first = await h.client()
    await (await first.add(m, { dir, peers: [addr(seeder)] })).whenDone()
    await first.stop()
    await truncate(join(dir, 'data.bin'), 200 * 1024)
    const second = await h.client()
    const t = await second.add(m, { dir, peers: [addr(seeder)] })
    const warnings: { code?: string }[] = []
    t.on('warning', (w) => warnings.push(w)) // raised while add() opened storage, delivered after it
    expect(t.stats().verifiedPieces).toBe(6) // 200 KiB holds six whole 32 KiB pieces
    await t.whenDone()
    expect(warnings.map((w) => w.code)).toContain('BITCDN_ERR_RESUME_INVALID')
    expect((await readAll(t.store!, m)).equals(data)).toBe(true)
  })

  it('moves a journal left in the data dir by an older version into the state dir, and resumes from it', async () => {
    const data = testData(512 * 1024)
    const m = await makeTorrent(data, { pieceLength: 32 * 1024 })
    const seeder = await h.client()
    await seeder.add(m, { store: await filledStore(m, data) })
    const dir = await h.tempDir()
    const first = await h.client()
    await (await first.add(m, { dir, peers: [addr(seeder)] })).whenDone()
    await first.stop()
    const stateDir = await h.stateDir()
    await rename(resumeJournalPath(stateDir, m.infoHash, dir), join(dir, `.${m.infoHash}.resume`))
    // a flipped byte shows whether the journal was trusted (not rechecked)
    const bytes = await readFile(join(dir, 'data.bin'))
    bytes[100] = bytes[100]! ^ 0xff
    await writeFile(join(dir, 'data.bin'), bytes)
    const second = await h.client()
    const t = await second.add(m, { dir })
    expect(t.stats().verifiedPieces).toBe(m.pieceCount)
    expect(await readdir(dir)).toEqual(['data.bin'])
  })
})
