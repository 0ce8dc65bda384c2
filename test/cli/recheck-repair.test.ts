// A finished download damaged on disk (bytes flipped in place, sizes unchanged, so the resume
// journal still looks right) is repaired by `get --recheck`: every piece is read again, the bad
// ones fetched again from a real `bitcdn seed` peer over TCP, and the files end byte for byte the
// source. `seed` of damaged data says in one line how many pieces are missing or damaged.
import { openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startCli, startCliSeeder } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'

const KiB = 1024
const PIECE = 64 * KiB
let dir: string

/** Overwrites `bytes` at `offset` with their complement (the file keeps its size). */
function flip(file: string, offset: number, bytes: number): void {
  const old = readFileSync(file).subarray(offset, offset + bytes)
  const fd = openSync(file, 'r+')
  writeSync(fd, Buffer.from(old.map((b) => 255 - b)), 0, bytes, offset)
  closeSync(fd)
}

beforeAll(() => {
  requireTools(['cli'])
  dir = tempDir('cli-recheck-')
  // 40 pieces of 64 KiB in two files
  writeRandomFiles(join(dir, 'src'), { 'pack/a.bin': 24 * PIECE, 'pack/b.bin': 16 * PIECE })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('get --recheck repairs, seed warns', () => {
  it('a download damaged in place fails nothing without --recheck, and is repaired with it', async () => {
    const c = await runCli(['create', join(dir, 'src', 'pack'), '--piece-length', '64KiB', '-o', join(dir, 'pack.torrent')])
    expect(c.code).toBe(0)
    const seeder = await startCliSeeder([join(dir, 'pack.torrent'), '--dir', join(dir, 'src')])
    const get = (extra: string[] = []) => runCli(['get', join(dir, 'pack.torrent'), '-o', join(dir, 'dl'), '--peer', `127.0.0.1:${seeder.port}`, ...extra])
    const first = await get()
    expect(first.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl', 'pack'))).toEqual(sha256Tree(join(dir, 'src', 'pack')))

    // three pieces damaged: two in a.bin, one spanning nothing else in b.bin
    flip(join(dir, 'dl', 'pack', 'a.bin'), 3 * PIECE + 100, 10)
    flip(join(dir, 'dl', 'pack', 'a.bin'), 20 * PIECE, 1)
    flip(join(dir, 'dl', 'pack', 'b.bin'), 5 * PIECE + 7, 3000)
    // the journal is trusted: a plain re-run sees nothing wrong (that is what --recheck is for)
    const plain = await get()
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/already complete/)
    expect(sha256Tree(join(dir, 'dl', 'pack'))).not.toEqual(sha256Tree(join(dir, 'src', 'pack')))

    const repaired = await get(['--recheck'])
    expect(repaired.stderr).not.toMatch(/^bitcdn:/m)
    expect(repaired.code).toBe(0)
    expect(repaired.stderr).toMatch(/^recheck: 3 of 40 pieces on disk are missing or damaged; fetching them again$/m)
    // only the three bad pieces travelled again (192 KiB), not the torrent
    const fetched = repaired.stdout.match(/\(([\d.]+) (KiB|MiB) fetched/)
    expect(fetched?.[2]).toBe('KiB')
    expect(Number(fetched?.[1])).toBeGreaterThanOrEqual(192)
    expect(Number(fetched?.[1])).toBeLessThan(400)
    expect(sha256Tree(join(dir, 'dl', 'pack'))).toEqual(sha256Tree(join(dir, 'src', 'pack')))

    // and the repair is journalled: the next --recheck finds everything intact and fetches nothing
    const again = await get(['--recheck'])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toMatch(/^recheck: \d+ of/m)
    expect(again.stdout).toMatch(/already complete/)
    await seeder.proc.stop()
  })

  it('seed of damaged and missing data warns with the count of bad pieces, and still serves', async () => {
    flip(join(dir, 'dl', 'pack', 'a.bin'), 0, 5)
    rmSync(join(dir, 'dl', 'pack', 'b.bin'))
    const seed = startCli(['seed', join(dir, 'pack.torrent'), '--dir', join(dir, 'dl'), '--port', '0'])
    await seed.waitFor(/^listening\s+\S+:\d+$/m)
    // 1 flipped piece of a.bin + the 16 pieces of the missing b.bin
    expect(seed.stderr()).toMatch(/^warning: 17 of 40 pieces of pack in \S+ are missing or damaged \(57\.5% intact\); serving the intact pieces and fetching the rest from the swarm$/m)
    await seed.stop()
  })
})
