import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent } from './create.js'
import { parseTorrentId, readTorrentId } from './torrent-id.js'
import type { Metainfo } from './types.js'

const HEX = 'c9e15763f722f23e98a29decdfae341b98d53056'
let dir: string
let m: Metainfo
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-id-'))
  m = await createTorrent(Buffer.from('hello'), { name: 'hello.txt' })
  await writeFile(join(dir, 'hello.torrent'), m.torrentFile)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('parseTorrentId', () => {
  it('treats a Buffer as a .torrent file', () => {
    expect(parseTorrentId(m.torrentFile)).toMatchObject({ infoHash: m.infoHash, name: 'hello.txt' })
  })
  it('accepts a magnet link and a bare hex or base32 info-hash', () => {
    expect(parseTorrentId(m.magnetURI)).toMatchObject({ infoHash: m.infoHash, name: 'hello.txt' })
    expect(parseTorrentId(` ${HEX.toUpperCase()} `)).toEqual({ infoHash: HEX, announce: [], urlList: [], peers: [] })
    expect(parseTorrentId('ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW')).toMatchObject({ infoHash: HEX })
  })
  it('rejects anything else', () => {
    expect(() => parseTorrentId('hello')).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_MAGNET_INVALID' }))
  })
})

describe('readTorrentId', () => {
  it('reads an existing .torrent path', async () => {
    expect(await readTorrentId(join(dir, 'hello.torrent'))).toMatchObject({ infoHash: m.infoHash })
  })
  it('falls back to links and hashes', async () => {
    expect(await readTorrentId(HEX)).toMatchObject({ infoHash: HEX })
  })
  it('reports a missing file as not found', async () => {
    await expect(readTorrentId(join(dir, 'missing.torrent'))).rejects.toMatchObject({ code: 'BITCDN_ERR_FILE_NOT_FOUND' })
  })
  it('reports a directory as not a .torrent file', async () => {
    await expect(readTorrentId(dir)).rejects.toMatchObject({ code: 'BITCDN_ERR_FILE_NOT_FOUND', message: /not a regular file/ })
  })
})
