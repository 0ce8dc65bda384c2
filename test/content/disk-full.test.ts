// A full disk, for real: a 1 MiB tmpfs (mounting needs root, as CI runs). Piece writes and
// journal appends must fail with BITCDN_ERR_DISK_FULL, and the journal must stay readable with
// every earlier record intact.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFileStore, createTorrent, openResumeJournal, parseTorrentFile } from '@bitcdn/content'
import bencode from 'bencode'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let mountPoint: string

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'bitcdn-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' })
  } catch (err) {
    await rmdir(mountPoint)
    mountPoint = ''
    throw new Error(`this test mounts a 1 MiB tmpfs and needs root (CAP_SYS_ADMIN), as .ci/run provides: ${String(err)}`)
  }
})
beforeEach(async () => {
  for (const entry of await readdir(mountPoint)) await rm(join(mountPoint, entry), { recursive: true, force: true })
})
afterAll(async () => {
  if (!mountPoint) return
  // Lazy unmount: a handle a failed test left open must not leave the mount behind.
  execFileSync('umount', ['-l', mountPoint])
  await rmdir(mountPoint)
})

/** Write a filler file until the file system refuses more. */
async function fillDisk(): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await writeFile(join(mountPoint, `filler-${i}`), Buffer.alloc(4096))
    } catch (err) {
      expect(err).toMatchObject({ code: 'ENOSPC' })
      return
    }
  }
}

describe('disk full', () => {
  it('fails a piece write with BITCDN_ERR_DISK_FULL', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024, 0xab)
    const m = await createTorrent(data, { name: 'big.bin', pieceLength: 65536 })
    const store = createFileStore(m, { dir: join(mountPoint, 'dl') })
    let failure: unknown
    try {
      for (let i = 0; i < m.pieceCount && failure === undefined; i++) {
        await store.put(i, data.subarray(i * 65536, (i + 1) * 65536)).catch((err: unknown) => (failure = err))
      }
    } finally {
      await store.close()
    }
    expect(failure).toMatchObject({ code: 'BITCDN_ERR_DISK_FULL', cause: { code: 'ENOSPC' }, message: /disk full/ })
  })

  it('fails a journal append with BITCDN_ERR_DISK_FULL and keeps every earlier record', async () => {
    // 2048 pieces (hashes need not be real: the journal only checks identity and count).
    const info = { name: 'j', 'piece length': 16384, length: 2048 * 16384, pieces: Buffer.alloc(2048 * 20) }
    const m = parseTorrentFile(Buffer.from(bencode.encode({ info })))
    const journalPath = join(mountPoint, 'state', 'j.resume')
    const journal = await openResumeJournal(journalPath, m)
    await fillDisk()
    // 36-byte header + one record of 8 + 4 × 1013 bytes fills the journal's first 4 KiB page
    // exactly, so it still fits; the next record needs a page the disk no longer has.
    const first = Array.from({ length: 1013 }, (_, i) => i)
    await journal.record(first)
    const failure = await journal.record([2000]).catch((err: unknown) => err)
    expect(failure).toMatchObject({ code: 'BITCDN_ERR_DISK_FULL' })
    expect(journal.have.has(2000)).toBe(false)
    await journal.close()

    // Space freed: the journal reopens with exactly the records that had succeeded.
    for (const entry of await readdir(mountPoint)) if (entry.startsWith('filler-')) await rm(join(mountPoint, entry))
    const reopened = await openResumeJournal(journalPath, m)
    expect(reopened.discardedBytes).toBe(0)
    expect([...reopened.have].sort((a, b) => a - b)).toEqual(first)
    await reopened.record([2000])
    await reopened.close()
  })
})
