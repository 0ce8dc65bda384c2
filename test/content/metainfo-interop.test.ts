// Our metainfo against real BitTorrent tools: mktorrent and libtorrent (the reference
// implementation). The same bytes must give the same info-hash and file layout on both sides.
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFileStore, createTorrent, checkPieces, parseTorrentFile, type Metainfo } from '@bitcdn/content'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libtorrentCreate, libtorrentInfo, mktorrent, requireTools } from './helpers/tools.js'

let dir: string
beforeAll(async () => {
  requireTools('mktorrent', 'libtorrent')
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-interop-'))
  await mkdir(join(dir, 'site', 'sub', 'deeper'), { recursive: true })
  await writeFile(join(dir, 'site', 'index.html'), randomBytes(50_000))
  await writeFile(join(dir, 'site', '.well-known'), randomBytes(3))
  await writeFile(join(dir, 'site', 'sub', 'a-b.bin'), randomBytes(70_001))
  await writeFile(join(dir, 'site', 'sub', 'deeper', 'x.bin'), randomBytes(1))
  await writeFile(join(dir, 'single.iso'), randomBytes(100_000))
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Parse with us, read with libtorrent, and require the two to agree. */
async function agree(torrentPath: string): Promise<Metainfo> {
  const ours = parseTorrentFile(await readFile(torrentPath))
  const theirs = libtorrentInfo(torrentPath)
  expect(ours.infoHash).toBe(theirs.infoHash)
  expect(ours.name).toBe(theirs.name)
  expect([ours.pieceLength, ours.pieceCount]).toEqual([theirs.pieceLength, theirs.numPieces])
  expect(ours.files.map((f) => ({ path: f.path, length: f.length, offset: f.offset, padding: f.padding === true }))).toEqual(theirs.files)
  return ours
}

describe('metainfo interop', () => {
  it('parses a single-file torrent made by mktorrent, with trackers and web seed', async () => {
    const out = join(dir, 'mk-single.torrent')
    mktorrent(join(dir, 'single.iso'), out, 32768, ['-a', 'http://t1/announce,http://t1b/announce', '-a', 'udp://t2:6969', '-w', 'https://cdn.example/single.iso'])
    const m = await agree(out)
    expect(m.announce).toEqual(['http://t1/announce', 'http://t1b/announce', 'udp://t2:6969'])
    expect(m.urlList).toEqual(['https://cdn.example/single.iso'])
    // And it verifies against the original file, seeded in place.
    const store = createFileStore(m, { dir, readOnly: true })
    expect((await checkPieces(store, m)).every(Boolean)).toBe(true)
    await store.close()
  })

  it('parses a multi-file torrent made by mktorrent, and creates the identical torrent', async () => {
    const out = join(dir, 'mk-multi.torrent')
    mktorrent(join(dir, 'site'), out, 32768)
    const theirs = await agree(out)
    const ours = await createTorrent(join(dir, 'site'), { pieceLength: 32768 })
    expect(ours.infoHash).toBe(theirs.infoHash)
    expect(ours.infoBuffer.equals(theirs.infoBuffer)).toBe(true)
  })

  it('parses a v1 torrent made by libtorrent and creates the identical torrent', async () => {
    const out = join(dir, 'lt-v1.torrent')
    libtorrentCreate(join(dir, 'site'), out, 16384, 'v1')
    const theirs = await agree(out)
    const ours = await createTorrent(join(dir, 'site'), { pieceLength: 16384 })
    expect(ours.infoHash).toBe(theirs.infoHash)
  })

  it('parses a hybrid v1+v2 torrent made by libtorrent (pad files) and verifies its pieces from disk', async () => {
    const out = join(dir, 'lt-hybrid.torrent')
    libtorrentCreate(join(dir, 'site'), out, 16384, 'hybrid')
    const m = await agree(out)
    expect(m.files.some((f) => f.padding)).toBe(true)
    const store = createFileStore(m, { dir, readOnly: true })
    expect((await checkPieces(store, m)).every(Boolean)).toBe(true)
    await store.close()
  })

  it('creates torrents libtorrent accepts with the same info-hash (single, multi, private, buffers)', async () => {
    const made = [
      await createTorrent(join(dir, 'single.iso'), { announce: ['udp://t:1'], urlList: ['https://ws/'], comment: 'c' }),
      await createTorrent(join(dir, 'site'), { pieceLength: 65536, private: true }),
      await createTorrent([{ path: 'a/b.txt', data: randomBytes(20_000) }, { path: 'c', data: Buffer.alloc(0) }], { name: 'buf' }),
    ]
    for (const [i, m] of made.entries()) {
      const path = join(dir, `ours-${i}.torrent`)
      await writeFile(path, m.torrentFile)
      expect((await agree(path)).infoHash).toBe(m.infoHash)
    }
  })
})
