import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTorrent } from '../metainfo/create.js'
import type { Metainfo } from '../metainfo/types.js'
import { openResumeJournal } from './resume-journal.js'

let dir: string
let m: Metainfo
let file: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-journal-'))
  file = join(dir, 'state', 'x.resume')
  m = await createTorrent(Buffer.alloc(16384 * 10 + 1, 7), { name: 'x', pieceLength: 16384 })
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('openResumeJournal', () => {
  it('starts empty and remembers recorded pieces across reopen', async () => {
    const j = await openResumeJournal(file, m)
    expect([...j.have]).toEqual([])
    await j.record([3, 1])
    await j.record([1, 10])
    expect([...j.have].sort((a, b) => a - b)).toEqual([1, 3, 10])
    await j.close()
    const again = await openResumeJournal(file, m)
    expect([...again.have].sort((a, b) => a - b)).toEqual([1, 3, 10])
    expect(again.discardedBytes).toBe(0)
    await again.close()
  })

  it('ignores a torn last record (crash mid-append) and keeps the records before it', async () => {
    const j = await openResumeJournal(file, m)
    await j.record([0, 1])
    await j.record([2, 3, 4])
    await j.close()
    const full = (await stat(file)).size
    // The second record is 8 + 3*4 = 20 bytes; cut it in the middle of its indices.
    await truncate(file, full - 9)
    const again = await openResumeJournal(file, m)
    expect([...again.have].sort()).toEqual([0, 1])
    expect(again.discardedBytes).toBe(11)
    // Compaction removed the torn bytes, so new records land after valid data.
    await again.record([7])
    await again.close()
    expect([...(await openResumeJournal(file, m)).have].sort()).toEqual([0, 1, 7])
  })

  it('never trusts a record whose checksum is wrong, even if it is complete', async () => {
    const j = await openResumeJournal(file, m)
    await j.record([5])
    await j.close()
    const buf = await readFile(file)
    buf[buf.length - 5] = 6 // flip the index 5 → 6 without fixing the checksum
    await writeFile(file, buf)
    const again = await openResumeJournal(file, m)
    expect([...again.have]).toEqual([])
    await again.close()
  })

  it('ignores garbage appended after valid records', async () => {
    const j = await openResumeJournal(file, m)
    await j.record([9])
    await j.close()
    await appendFile(file, Buffer.from([0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4]))
    const again = await openResumeJournal(file, m)
    expect([...again.have]).toEqual([9])
    await again.close()
  })

  it('rejects a journal of another torrent, or of another piece count, or not a journal at all', async () => {
    const other = await createTorrent(Buffer.alloc(100, 1), { name: 'other' })
    const j = await openResumeJournal(file, other)
    await j.record([0])
    await j.close()
    await expect(openResumeJournal(file, m)).rejects.toMatchObject({ code: 'BITCDN_ERR_RESUME_INVALID', message: /belongs to torrent/ })

    const header = Buffer.from(await readFile(file)).subarray(0, 36)
    const samePieceCountLie = { ...other, pieceCount: other.pieceCount + 1 }
    await writeFile(file, header)
    await expect(openResumeJournal(file, samePieceCountLie)).rejects.toMatchObject({ code: 'BITCDN_ERR_RESUME_INVALID', message: /is for 1 pieces, not 2/ })

    await writeFile(file, 'not a journal at all, just text')
    await expect(openResumeJournal(file, m)).rejects.toMatchObject({ code: 'BITCDN_ERR_RESUME_INVALID' })
    header[20] = header[20]! ^ 1
    await writeFile(file, header)
    await expect(openResumeJournal(file, other)).rejects.toMatchObject({ code: 'BITCDN_ERR_RESUME_INVALID', message: /corrupt header/ })
  })

  it('compacts many records into one on open', async () => {
    const j = await openResumeJournal(file, m)
    for (let i = 0; i < 11; i++) await j.record([i])
    await j.close()
    expect((await stat(file)).size).toBe(36 + 11 * 12)
    const again = await openResumeJournal(file, m)
    expect(again.have.size).toBe(11)
    expect((await stat(file)).size).toBe(36 + 8 + 11 * 4)
    await again.close()
  })

  it('rejects indices outside the torrent and use after close', async () => {
    const j = await openResumeJournal(file, m)
    await expect(j.record([11])).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await expect(j.record([-1])).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_RANGE' })
    await j.close()
    await expect(j.record([1])).rejects.toMatchObject({ code: 'BITCDN_ERR_STORE_CLOSED' })
  })
})
