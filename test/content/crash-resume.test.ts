// The resume invariant under a real crash: a child process downloading (put, flush, record in a
// loop) is killed with SIGKILL mid-run. Every piece its journal records must verify from disk;
// a restarted download resumes from the journal and completes the torrent.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { checkPieces, createFileStore, createTorrent, openResumeJournal, verifyPiece, type Metainfo } from '@bitcdn/content'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnTs } from './helpers/run-ts.js'

import { simulateDownload } from './fixtures/download-sim.js'

const SIM = join(import.meta.dirname, 'fixtures', 'download-sim-main.ts')
let dir: string
let m: Metainfo
let torrentPath: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-crash-'))
  // 3 files, 160 pieces of 16 KiB, pieces spanning file boundaries.
  await mkdir(join(dir, 'source', 'data'), { recursive: true })
  await writeFile(join(dir, 'source', 'data', 'a.bin'), randomBytes(16384 * 50 + 123))
  await writeFile(join(dir, 'source', 'data', 'b.bin'), randomBytes(16384 * 80 - 7))
  await writeFile(join(dir, 'source', 'data', 'c.bin'), randomBytes(16384 * 30 - 116))
  m = await createTorrent(join(dir, 'source', 'data'), { pieceLength: 16384 })
  torrentPath = join(dir, 'data.torrent')
  await writeFile(torrentPath, m.torrentFile)
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('resume journal under SIGKILL', () => {
  it('trusts only recorded pieces after a crash, all of which verify, and resumes to completion', async () => {
    const target = join(dir, 'target')
    const journalPath = join(dir, 'state', 'data.resume')
    // The child pauses at two thirds (waiting on stdin, which we never write), so it is still
    // running, somewhere between one and two thirds, when the kill lands.
    const pauseAt = Math.floor((m.pieceCount * 2) / 3)
    const child = spawnTs(SIM, [torrentPath, join(dir, 'source'), target, journalPath, '4', String(pauseAt)])
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = once(child, 'exit')
    let lastSeen = 0
    for await (const line of createInterface({ input: child.stdout! })) {
      const recorded = /^recorded (\d+)$/.exec(line)
      if (recorded) lastSeen = Number(recorded[1])
      // Kill once a third is recorded: the child is then mid-put, mid-flush or mid-record.
      if (lastSeen >= m.pieceCount / 3) {
        child.kill('SIGKILL')
        break
      }
    }
    const [code, signal] = (await exited) as [number | null, string | null]
    expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' })
    expect(code).toBeNull()

    // After the "restart": only journal entries are trusted, and each one verifies.
    const journal = await openResumeJournal(journalPath, m)
    const trusted = [...journal.have]
    await journal.close()
    expect(trusted.length).toBeGreaterThanOrEqual(lastSeen)
    expect(trusted.length).toBeLessThan(pauseAt + 4)
    const store = createFileStore(m, { dir: target, readOnly: true })
    for (const i of trusted) {
      const size = i === m.pieceCount - 1 ? m.lastPieceLength : m.pieceLength
      expect(verifyPiece(m, i, await store.get(i, 0, size)), `recorded piece ${i} verifies`).toBe(true)
    }

    // The restarted download resumes from the journal and finishes; a full recheck agrees.
    const lines: string[] = []
    await simulateDownload({ torrentPath, sourceDir: join(dir, 'source'), targetDir: target, journalPath, batch: 4, report: (l) => lines.push(l) })
    expect(lines.at(-1)).toBe(`done ${m.pieceCount}`)
    // It fetched only what the journal did not have.
    expect(lines.filter((l) => l.startsWith('recorded')).length).toBeLessThanOrEqual(Math.ceil((m.pieceCount - trusted.length) / 4))
    expect((await checkPieces(store, m)).every(Boolean)).toBe(true)
    await store.close()
  })
})
