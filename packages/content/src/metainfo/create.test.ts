import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTorrent } from './create.js'
import { parseTorrentFile } from './parse.js'

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest()
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-create-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('createTorrent', () => {
  it('hashes a single file in pieces, with no trackers or date unless asked', async () => {
    const data = bytes(40_000, 1)
    await writeFile(join(dir, 'movie.bin'), data)
    const m = await createTorrent(join(dir, 'movie.bin'), { pieceLength: 16384 })
    expect(m).toMatchObject({ name: 'movie.bin', length: 40_000, pieceCount: 3, lastPieceLength: 40_000 - 32768, announce: [], urlList: [], private: false })
    expect(m.files).toEqual([{ path: 'movie.bin', length: 40_000, offset: 0 }])
    expect(m.pieceHashes[2]).toEqual(sha1(data.subarray(32768)))
    expect(m.creationDate).toBeUndefined()
    expect(m.torrentFile.includes('creation date')).toBe(false)
  })

  it('hashes pieces across file boundaries of a directory, in byte order of paths, hidden files included', async () => {
    await mkdir(join(dir, 'site', 'b-dir'), { recursive: true })
    const a = bytes(10_000, 2)
    const hidden = bytes(7_000, 3)
    const c = bytes(20_000, 4)
    await writeFile(join(dir, 'site', 'b-dir', 'c.bin'), c)
    await writeFile(join(dir, 'site', '.hidden'), hidden)
    await writeFile(join(dir, 'site', 'a.bin'), a)
    const m = await createTorrent(join(dir, 'site'), { pieceLength: 16384 })
    expect(m.files.map((f) => [f.path, f.length, f.offset])).toEqual([
      ['site/.hidden', 7_000, 0],
      ['site/a.bin', 10_000, 7_000],
      ['site/b-dir/c.bin', 20_000, 17_000],
    ])
    const all = Buffer.concat([hidden, a, c])
    expect(m.pieceHashes).toEqual([sha1(all.subarray(0, 16384)), sha1(all.subarray(16384, 32768)), sha1(all.subarray(32768))])
  })

  it('gives the same info-hash for the same input, and a different one when private', async () => {
    const input = [
      { path: 'index.html', data: bytes(3000, 5) },
      { path: 'img/logo.png', data: bytes(50_000, 6) },
    ]
    const one = await createTorrent(input, { name: 'www' })
    const two = await createTorrent(input, { name: 'www', announce: ['udp://tracker:6969'], comment: 'x' })
    const priv = await createTorrent(input, { name: 'www', private: true })
    expect(two.infoHash).toBe(one.infoHash)
    expect(priv.infoHash).not.toBe(one.infoHash)
    expect(priv.private).toBe(true)
    expect(one.files.map((f) => f.path)).toEqual(['www/index.html', 'www/img/logo.png'])
  })

  it('writes trackers (BEP 12), web seeds (BEP 19), comment, creator and a date only when asked', async () => {
    const m = await createTorrent(bytes(100, 7), {
      name: 'x.bin',
      announce: ['http://t1/announce', 'udp://t2:80'],
      urlList: ['https://cdn.example/files/'],
      comment: 'c',
      createdBy: 'bitcdn',
      creationDate: new Date(1_700_000_000_000),
    })
    const again = parseTorrentFile(m.torrentFile)
    expect(again).toMatchObject({
      announce: ['http://t1/announce', 'udp://t2:80'],
      urlList: ['https://cdn.example/files/'],
      comment: 'c',
      createdBy: 'bitcdn',
      creationDate: 1_700_000_000,
    })
  })

  it('takes the torrent name from a shared top directory of named buffers', async () => {
    const m = await createTorrent([
      { path: 'pkg/a', data: bytes(10, 1) },
      { path: 'pkg/b/c', data: bytes(10, 2) },
    ])
    expect(m.name).toBe('pkg')
    expect(m.files.map((f) => f.path)).toEqual(['pkg/a', 'pkg/b/c'])
  })

  it('picks the piece length from the size when none is given', async () => {
    const m = await createTorrent(bytes(100, 1), { name: 'small' })
    expect(m.pieceLength).toBe(256 * 1024)
  })

  it('reports progress up to the total', async () => {
    const seen: number[] = []
    await createTorrent(bytes(50_000, 1), { name: 'p', pieceLength: 16384, onProgress: (done) => seen.push(done) })
    expect(seen).toEqual([16384, 32768, 49152, 50_000])
  })

  it.each([
    ['a missing path', async () => createTorrent(join(tmpdir(), 'bitcdn-nope-' + process.pid)), 'BITCDN_ERR_FILE_NOT_FOUND'],
    ['a buffer without a name', async () => createTorrent(Buffer.from('x')), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['an empty buffer list', async () => createTorrent([], { name: 'x' }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['only empty files', async () => createTorrent([{ path: 'a', data: Buffer.alloc(0) }], { name: 'x' }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['a ".." path', async () => createTorrent([{ path: '../escape', data: Buffer.from('x') }], { name: 'x' }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['a duplicate path', async () => createTorrent([{ path: 'a', data: Buffer.from('x') }, { path: 'a', data: Buffer.from('y') }], { name: 'x' }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['an unsafe name', async () => createTorrent(Buffer.from('x'), { name: '..' }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['a piece length that is not a power of two', async () => createTorrent(Buffer.from('x'), { name: 'x', pieceLength: 20_000 }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
    ['a piece length below 16 KiB', async () => createTorrent(Buffer.from('x'), { name: 'x', pieceLength: 8192 }), 'BITCDN_ERR_CREATE_INPUT_INVALID'],
  ])('rejects %s', async (_, run, code) => {
    await expect(run()).rejects.toMatchObject({ code })
  })

  it('rejects an empty directory', async () => {
    await mkdir(join(dir, 'empty'))
    await expect(createTorrent(join(dir, 'empty'))).rejects.toMatchObject({ code: 'BITCDN_ERR_CREATE_INPUT_INVALID' })
  })

  it('rejects a FIFO inside a directory instead of hanging on it', async () => {
    await mkdir(join(dir, 'd'))
    await writeFile(join(dir, 'd', 'a'), 'x')
    execFileSync('mkfifo', [join(dir, 'd', 'pipe')])
    await expect(createTorrent(join(dir, 'd'))).rejects.toMatchObject({ code: 'BITCDN_ERR_CREATE_INPUT_INVALID', message: /pipe is not a regular file/ })
  })

  it('rejects a symlink loop', async () => {
    await mkdir(join(dir, 'd'))
    await writeFile(join(dir, 'd', 'a'), 'x')
    await symlink(join(dir, 'd'), join(dir, 'd', 'loop'))
    await expect(createTorrent(join(dir, 'd'))).rejects.toMatchObject({ code: 'BITCDN_ERR_CREATE_INPUT_INVALID', message: /symlink loop/ })
  })

  it('stops when aborted', async () => {
    const ac = new AbortController()
    ac.abort(new Error('stop'))
    await expect(createTorrent(bytes(100, 1), { name: 'x', signal: ac.signal })).rejects.toThrow('stop')
  })
})
