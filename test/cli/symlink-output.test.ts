// Attack: symlinks planted in the output directory. `get` must never write through them:
// `out/t/a.bin -> ../../victim` must not overwrite the victim, and a symlinked subdirectory must
// not put files outside the output directory. The download refuses with BITCDN_ERR_UNSAFE_PATH.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startCliSeeder } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'

let dir: string
let torrent: string
let peer: string

beforeAll(async () => {
  requireTools(['cli'])
  dir = tempDir('symlink-output-')
  writeRandomFiles(join(dir, 'src'), { 't/a.bin': 300_000, 't/sub/b.bin': 200_000 })
  torrent = join(dir, 't.torrent')
  const r = await runCli(['create', join(dir, 'src', 't'), '--piece-length', '64KiB', '-o', torrent])
  expect(r.code).toBe(0)
  const seeder = await startCliSeeder([torrent, '--dir', join(dir, 'src')])
  peer = `127.0.0.1:${seeder.port}`
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('attack: symlinks in the output directory', () => {
  it('a file symlinked to a victim outside (out/t/a.bin -> ../../victim) is never written through', async () => {
    const out = join(dir, 'out1')
    mkdirSync(join(out, 't'), { recursive: true })
    writeFileSync(join(dir, 'victim'), 'precious')
    symlinkSync('../../victim', join(out, 't', 'a.bin'))
    const r = await runCli(['get', torrent, '-o', out, '--peer', peer, '--timeout', '20'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/^bitcdn: .*symlink.*a\.bin.*BITCDN_ERR_UNSAFE_PATH/m)
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('precious')
  })

  it('a dangling symlink to a file that does not exist yet is not created through either', async () => {
    const out = join(dir, 'out2')
    mkdirSync(join(out, 't'), { recursive: true })
    symlinkSync('../../planted', join(out, 't', 'a.bin'))
    const r = await runCli(['get', torrent, '-o', out, '--peer', peer, '--timeout', '20'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/BITCDN_ERR_UNSAFE_PATH/)
    expect(existsSync(join(dir, 'planted'))).toBe(false)
  })

  it('a symlinked subdirectory (out/t/sub -> elsewhere) does not put files outside the output directory', async () => {
    const out = join(dir, 'out3')
    const elsewhere = join(dir, 'elsewhere')
    mkdirSync(join(out, 't'), { recursive: true })
    mkdirSync(elsewhere)
    symlinkSync(elsewhere, join(out, 't', 'sub'))
    const r = await runCli(['get', torrent, '-o', out, '--peer', peer, '--timeout', '20'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/^bitcdn: .*symlink.*sub.*BITCDN_ERR_UNSAFE_PATH/m)
    expect(readdirSync(elsewhere)).toEqual([])
  })

  it('with no symlinks the same download completes (the check refuses only symlinks)', async () => {
    const out = join(dir, 'out4')
    const r = await runCli(['get', torrent, '-o', out, '--peer', peer])
    expect(r.code).toBe(0)
    expect(sha256Tree(join(out, 't'))).toEqual(sha256Tree(join(dir, 'src', 't')))
  })
})
