import { createHash } from 'node:crypto'
import bencode, { type Encodable } from 'bencode'
import { describe, expect, it } from 'vitest'
import { metainfoFromInfo, parseTorrentFile } from './parse.js'

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest()

/** A valid two-file torrent's info dictionary, piece length 16 KiB, 20000 + 5 bytes. */
function info(overrides: Record<string, Encodable> = {}): Record<string, Encodable> {
  return {
    name: 'site',
    'piece length': 16384,
    pieces: Buffer.alloc(40, 1),
    files: [
      { length: 20000, path: ['a.bin'] },
      { length: 5, path: ['sub', 'b.txt'] },
    ],
    ...overrides,
  }
}
const torrent = (i: Encodable, extra: Record<string, Encodable> = {}) => Buffer.from(bencode.encode({ info: i, ...extra }))

function expectInvalid(buf: Buffer, field: RegExp): void {
  try {
    parseTorrentFile(buf)
  } catch (err) {
    expect((err as { code?: string }).code).toBe('BITCDN_ERR_TORRENT_INVALID')
    expect((err as Error).message).toMatch(field)
    return
  }
  throw new Error('expected the torrent to be rejected')
}

describe('parseTorrentFile', () => {
  it('reads layout, trackers, web seeds and the info-hash of the raw info bytes', () => {
    const buf = torrent(info({ private: 1 }), {
      announce: 'http://t0/announce',
      'announce-list': [['http://t1/announce', 'http://t2/announce'], ['http://t1/announce']],
      'url-list': 'https://cdn.example/',
      comment: 'hello',
      'creation date': 1700000000,
    })
    const m = parseTorrentFile(buf)
    expect(m.infoHash).toBe(sha1(Buffer.from(bencode.encode(info({ private: 1 })))).toString('hex'))
    expect(m.files).toEqual([
      { path: 'site/a.bin', length: 20000, offset: 0 },
      { path: 'site/sub/b.txt', length: 5, offset: 20000 },
    ])
    expect(m).toMatchObject({ name: 'site', length: 20005, pieceLength: 16384, pieceCount: 2, lastPieceLength: 3621, private: true })
    // BEP 12: announce-list wins over announce; duplicates dropped.
    expect(m.announce).toEqual(['http://t1/announce', 'http://t2/announce'])
    expect(m.urlList).toEqual(['https://cdn.example/'])
    expect(m.comment).toBe('hello')
    expect(m.creationDate).toBe(1700000000)
    expect(m.torrentFile.equals(buf)).toBe(true)
    expect(m.magnetURI).toContain(`xt=urn:btih:${m.infoHash}`)
  })

  it('hashes the info dictionary as written, even with keys out of order', () => {
    // Keys "piece length" before "name": invalid canonical bencode that real creators have written.
    const raw = Buffer.from(`d12:piece lengthi16384e4:name1:x6:lengthi3e6:pieces20:${'a'.repeat(20)}e`, 'latin1')
    const m = parseTorrentFile(Buffer.concat([Buffer.from('d4:info'), raw, Buffer.from('e')]))
    expect(m.infoHash).toBe(sha1(raw).toString('hex'))
    expect(m.infoBuffer.equals(raw)).toBe(true)
    expect(m.files).toEqual([{ path: 'x', length: 3, offset: 0 }])
  })

  it('keeps BEP 47 padding files, marked, and allows several with one name', () => {
    const m = parseTorrentFile(
      torrent(
        info({
          pieces: Buffer.alloc(60),
          files: [
            { length: 10, path: ['a'] },
            { length: 16374, path: ['.pad', '16374'], attr: 'p' },
            { length: 10, path: ['b'] },
            { length: 16374, path: ['.pad', '16374'], attr: 'p' },
            { length: 10, path: ['c'] },
          ],
        }),
      ),
    )
    expect(m.files.filter((f) => f.padding).map((f) => f.offset)).toEqual([10, 16394])
    expect(m.pieceCount).toBe(3)
  })

  it.each([
    ['not bencode', Buffer.from('hello'), /file is not valid bencode/],
    ['a truncated file', torrent(info()).subarray(0, 50), /not valid bencode/],
    ['a list at the top', Buffer.from(bencode.encode([1])), /not a bencoded dictionary/],
    ['no info', Buffer.from(bencode.encode({ announce: 'x' })), /info is missing/],
    ['info not a dictionary', torrent('x'), /info is missing or not a dictionary/],
    ['no name', torrent(info({ name: undefined })), /info\.name must be a string/],
    ['name ".."', torrent(info({ name: '..' })), /info\.name is "\.\."/],
    ['name with "/"', torrent(info({ name: 'a/b' })), /info\.name contains "\/"/],
    ['name not UTF-8', torrent(info({ name: Buffer.from([0xff, 0xfe]) })), /info\.name is not valid UTF-8/],
    ['piece length 0', torrent(info({ 'piece length': 0 })), /info\.piece length must be a positive integer/],
    ['negative piece length', torrent(info({ 'piece length': -16384 })), /info\.piece length must be a positive integer/],
    ['piece length a string', torrent(info({ 'piece length': '16384' })), /info\.piece length/],
    ['huge piece length', torrent(info({ 'piece length': 2 ** 30, pieces: Buffer.alloc(20) })), /above the supported maximum/],
    ['pieces not a multiple of 20', torrent(info({ pieces: Buffer.alloc(39) })), /info\.pieces has 39 bytes, not a multiple of 20/],
    ['too few piece hashes', torrent(info({ pieces: Buffer.alloc(20) })), /info\.pieces holds 1 hashes but 20005 bytes .* need 2/],
    ['too many piece hashes', torrent(info({ pieces: Buffer.alloc(60) })), /info\.pieces holds 3 hashes/],
    ['no pieces', torrent(info({ pieces: undefined })), /info\.pieces is missing/],
    ['v2-only', torrent(info({ pieces: undefined, 'meta version': 2 })), /v2-only torrents/],
    ['a ".." path segment (traversal)', torrent(info({ files: [{ length: 20005, path: ['..', '..', 'etc', 'passwd'] }] })), /info\.files\[0\]\.path\[0\] is "\.\."/],
    ['an absolute path', torrent(info({ files: [{ length: 20005, path: ['/etc/passwd'] }] })), /info\.files\[0\]\.path\[0\] contains "\/"/],
    ['an empty path segment', torrent(info({ files: [{ length: 20005, path: ['', 'x'] }] })), /info\.files\[0\]\.path\[0\] is empty/],
    ['a backslash segment', torrent(info({ files: [{ length: 20005, path: ['..\\..\\x'] }] })), /info\.files\[0\]\.path\[0\] contains "\\"/],
    ['an empty path list', torrent(info({ files: [{ length: 20005, path: [] }] })), /info\.files\[0\]\.path must be a non-empty list/],
    ['a negative file length', torrent(info({ files: [{ length: 20010, path: ['a'] }, { length: -5, path: ['b'] }] })), /info\.files\[1\]\.length must not be negative/],
    ['a negative single-file length', torrent(info({ files: undefined, length: -1 })), /info\.length must not be negative/],
    ['both length and files', torrent(info({ length: 5 })), /has both "length" and "files"/],
    ['an empty files list', torrent(info({ files: [] })), /info\.files must be a non-empty list/],
    ['no data at all', torrent(info({ files: [{ length: 0, path: ['a'] }], pieces: Buffer.alloc(0) })), /holds no data/],
    ['a duplicate path', torrent(info({ files: [{ length: 20000, path: ['a'] }, { length: 5, path: ['a'] }] })), /clashes with another file: site\/a/],
    ['a file where a directory is needed', torrent(info({ files: [{ length: 20000, path: ['a'] }, { length: 5, path: ['a', 'b'] }] })), /needs directory site\/a/],
    ['a malformed announce-list', torrent(info(), { 'announce-list': 'x' }), /announce-list must be a list of lists/],
  ])('rejects %s, naming the field', (_, buf, message) => expectInvalid(buf, message))
})

describe('metainfoFromInfo', () => {
  const infoBuffer = Buffer.from(bencode.encode(info()))
  const infoHash = sha1(infoBuffer).toString('hex')

  it('builds a Metainfo carrying the reference’s trackers and web seeds', () => {
    const m = metainfoFromInfo(infoBuffer, { infoHash, announce: ['udp://t:1'], urlList: ['https://ws/'], peers: [] })
    expect(m.infoHash).toBe(infoHash)
    expect(m.announce).toEqual(['udp://t:1'])
    expect(m.urlList).toEqual(['https://ws/'])
    // The .torrent we write for it parses back to the same torrent.
    expect(parseTorrentFile(m.torrentFile)).toMatchObject({ infoHash, announce: ['udp://t:1'], urlList: ['https://ws/'] })
  })

  it('rejects metadata that does not hash to the requested info-hash', () => {
    const ref = { infoHash: 'ab'.repeat(20), announce: [], urlList: [], peers: [] }
    expect(() => metainfoFromInfo(infoBuffer, ref)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_METADATA_MISMATCH' }))
  })

  it('rejects metadata that matches its hash but is not a valid info dictionary', () => {
    const bad = Buffer.from(bencode.encode(info({ name: '..' })))
    const ref = { infoHash: sha1(bad).toString('hex'), announce: [], urlList: [], peers: [] }
    expect(() => metainfoFromInfo(bad, ref)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_TORRENT_INVALID' }))
  })
})
