import { describe, expect, it } from 'vitest'
import { normalizeInfoHash, parseMagnet, toMagnetURI } from './magnet.js'

const HEX = 'c9e15763f722f23e98a29decdfae341b98d53056'

describe('parseMagnet', () => {
  it('reads hex xt, dn, tr, ws and x.pe', () => {
    const ref = parseMagnet(
      `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=My+Site%21&tr=udp%3A%2F%2Ft%3A1&tr.1=http%3A%2F%2Ft2%2Fa&ws=https%3A%2F%2Fcdn%2Fx&x.pe=10.0.0.1:6881&x.pe=[::1]:7000&xl=5`,
    )
    expect(ref).toEqual({
      infoHash: HEX,
      name: 'My Site!',
      announce: ['udp://t:1', 'http://t2/a'],
      urlList: ['https://cdn/x'],
      peers: ['10.0.0.1:6881', '[::1]:7000'],
    })
  })

  it('reads a base32 info-hash', () => {
    const b32 = 'ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW'
    expect(normalizeInfoHash(b32)).toBe(HEX)
    expect(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHash).toBe(HEX)
  })

  it('accepts an upper-case URN prefix', () => {
    expect(parseMagnet(`magnet:?xt=URN:BTIH:${HEX}`).infoHash).toBe(HEX)
  })

  it('round-trips through toMagnetURI', () => {
    const ref = { infoHash: HEX, name: 'a b&c', announce: ['udp://t:1/x?y=z'], urlList: ['https://w/'], peers: ['h:1'] }
    expect(parseMagnet(toMagnetURI(ref))).toEqual(ref)
  })

  it.each([
    ['not a magnet', 'http://x'],
    ['no xt', 'magnet:?dn=x'],
    ['a short hash', 'magnet:?xt=urn:btih:abc'],
    ['a too-long hash (magnet-uri would keep a prefix)', `magnet:?xt=urn:btih:${HEX}00`],
    ['a non-hex 40-char hash', `magnet:?xt=urn:btih:${'g'.repeat(40)}`],
    ['a v2-only hash', `magnet:?xt=urn:btmh:1220${'a'.repeat(64)}`],
    ['two different hashes', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`],
    ['bad percent-encoding', `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`],
    ['a tracker that is not a URL', `magnet:?xt=urn:btih:${HEX}&tr=not%20a%20url`],
    ['a web seed over ftp', `magnet:?xt=urn:btih:${HEX}&ws=ftp%3A%2F%2Fx`],
    ['a peer without a port', `magnet:?xt=urn:btih:${HEX}&x.pe=10.0.0.1`],
    ['a peer with port 0', `magnet:?xt=urn:btih:${HEX}&x.pe=10.0.0.1:0`],
    ['a parameter without a value', `magnet:?xt=urn:btih:${HEX}&dn`],
  ])('rejects %s', (_, uri) => {
    expect(() => parseMagnet(uri)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_MAGNET_INVALID' }))
  })
})
