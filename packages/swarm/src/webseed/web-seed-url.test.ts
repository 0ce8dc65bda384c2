import { describe, expect, it } from 'vitest'
import { fileSlices } from './byte-ranges.js'
import { webSeedFileUrls } from './web-seed-url.js'

const single = { name: 'movie one.mkv', files: [{ path: 'movie one.mkv', length: 10, offset: 0 }] }
const multi = {
  name: 'show',
  files: [
    { path: 'show/a b.txt', length: 10, offset: 0 },
    { path: 'show/empty', length: 0, offset: 10 },
    { path: 'show/sub/ç#?.bin', length: 10, offset: 10 },
  ],
}

describe('BEP 19 web-seed URLs', () => {
  it('single-file: the URL is the file, or the name is appended to a URL ending in /', () => {
    expect(webSeedFileUrls('http://o/x/movie.mkv', single)).toEqual(['http://o/x/movie.mkv'])
    expect(webSeedFileUrls('http://o/x/', single)).toEqual(['http://o/x/movie%20one.mkv'])
  })
  it('multi-file: URL + name + / + path, each segment percent-encoded, slash added if missing', () => {
    const want = ['http://o/d/show/a%20b.txt', 'http://o/d/show/empty', 'http://o/d/show/sub/%C3%A7%23%3F.bin']
    expect(webSeedFileUrls('http://o/d/', multi)).toEqual(want)
    expect(webSeedFileUrls('http://o/d', multi)).toEqual(want)
  })
  it('refuses non-http URLs', () => {
    expect(() => webSeedFileUrls('file:///etc/passwd', single)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_WEBSEED_URL_INVALID' }))
    expect(() => webSeedFileUrls('not a url', single)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_WEBSEED_URL_INVALID' }))
  })
})

describe('fileSlices', () => {
  it('splits a torrent range across files and skips empty ones', () => {
    expect(fileSlices(multi.files, 5, 15)).toEqual([
      { fileIndex: 0, fileOffset: 5, length: 5, torrentOffset: 5 },
      { fileIndex: 2, fileOffset: 0, length: 5, torrentOffset: 10 },
    ])
    expect(fileSlices(multi.files, 12, 20)).toEqual([{ fileIndex: 2, fileOffset: 2, length: 8, torrentOffset: 12 }])
    expect(fileSlices(multi.files, 3, 3)).toEqual([])
  })
})
