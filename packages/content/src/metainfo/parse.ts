/**
 * Reading torrents: a .torrent file (BEP 3) or an info dictionary fetched from peers (BEP 9).
 * Both go through the same strict decoder and info validation; a Metainfo only exists for input
 * that is safe to store to disk.
 *
 * parse-torrent is not used here: it is async (WebCrypto hashing), re-encodes the info dictionary
 * before hashing (wrong info-hash for torrents written with unsorted keys) and joins file paths
 * with path.join, which silently folds ".." segments instead of rejecting them.
 */
import { createHash } from 'node:crypto'
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode, torrentInvalid } from '../errors.js'
import { bdecode, BencodeSyntaxError, isDict, type BValue, type Decoded } from './bdecode.js'
import { encodeTorrent } from './encode.js'
import { readInfoDict, type InfoFields } from './info-dict.js'
import { toMagnetURI } from './magnet.js'
import type { Metainfo, TorrentRef } from './types.js'

function decodeOrThrow(buf: Buffer, what: string): Decoded {
  try {
    return bdecode(buf)
  } catch (err) {
    if (err instanceof BencodeSyntaxError) throw torrentInvalid(what, `is not valid bencode (${err.message})`, err)
    throw err
  }
}

function optionalText(v: BValue | undefined): string | undefined {
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined
}

function urlStrings(v: BValue | undefined, field: string): string[] {
  if (v === undefined) return []
  // BEP 19 allows a single string; some creators write an empty string for "none".
  const list = Buffer.isBuffer(v) ? [v] : v
  if (!Array.isArray(list)) throw torrentInvalid(field, 'must be a string or a list of strings')
  return list.map((u, i) => {
    if (!Buffer.isBuffer(u)) throw torrentInvalid(`${field}[${i}]`, 'must be a string')
    return u.toString('utf8')
  })
}

function trackers(root: Record<string, BValue>): string[] {
  const tiers = root['announce-list']
  const urls: string[] = []
  if (Array.isArray(tiers) && tiers.length > 0) {
    // BEP 12: when announce-list is present, announce is only a fallback for old clients.
    tiers.forEach((tier, i) => urls.push(...urlStrings(tier, `announce-list[${i}]`)))
  } else if (tiers !== undefined && !Array.isArray(tiers)) {
    throw torrentInvalid('announce-list', 'must be a list of lists')
  } else if (root['announce'] !== undefined) {
    urls.push(...urlStrings(root['announce'], 'announce'))
  }
  return dedupe(urls)
}

function dedupe(urls: string[]): string[] {
  return [...new Set(urls.filter((u) => u.length > 0))]
}

function assemble(fields: InfoFields, infoBuffer: Buffer, torrentFile: Buffer, extra: Partial<Metainfo> & { announce: string[]; urlList: string[] }): Metainfo {
  const m: Metainfo = { ...fields, ...extra, infoBuffer, torrentFile, magnetURI: '' }
  m.magnetURI = toMagnetURI(m)
  return m
}

/**
 * Parse and validate a .torrent file.
 * @throws BitcdnError `BITCDN_ERR_TORRENT_INVALID`: not bencode, no info dictionary, bad name,
 * piece length or piece hashes, negative lengths, unsafe file paths (absolute, "..", empty
 * segments). The message names the field.
 * @example
 * const m = parseTorrentFile(await readFile('site.torrent'))
 */
export function parseTorrentFile(buf: Buffer): Metainfo {
  const { value: root, spans } = decodeOrThrow(buf, 'file')
  if (!isDict(root)) throw torrentInvalid('file', 'is not a bencoded dictionary')
  const span = spans.get('info')
  if (span === undefined) throw torrentInvalid('info', 'is missing')
  const infoBuffer = Buffer.from(buf.subarray(span[0], span[1]))
  const fields = readInfoDict(root['info'], infoBuffer)
  const creationDate = root['creation date']
  return assemble(fields, infoBuffer, Buffer.from(buf), {
    announce: trackers(root),
    urlList: dedupe(urlStrings(root['url-list'], 'url-list')),
    comment: optionalText(root['comment.utf-8'] ?? root['comment']),
    createdBy: optionalText(root['created by']),
    creationDate: typeof creationDate === 'number' ? creationDate : undefined,
  })
}

/**
 * Build a Metainfo from an info dictionary received from peers (BEP 9 ut_metadata), after checking
 * that it hashes to the info-hash we asked for. Trackers and web seeds come from the reference.
 * @throws BitcdnError `BITCDN_ERR_METADATA_MISMATCH` if SHA-1(infoBuffer) is not `ref.infoHash`;
 * `BITCDN_ERR_TORRENT_INVALID` if the dictionary itself is invalid.
 * @example
 * const m = metainfoFromInfo(Buffer.concat(metadataPieces), parseMagnet(link))
 */
export function metainfoFromInfo(infoBuffer: Buffer, ref?: TorrentRef): Metainfo {
  const actual = createHash('sha1').update(infoBuffer).digest('hex')
  if (ref && actual !== ref.infoHash.toLowerCase()) {
    throw new BitcdnError(
      ContentErrorCode.metadataMismatch,
      `metadata from peers does not match the torrent: expected info-hash ${ref.infoHash}, got ${actual}`,
      { details: { expected: ref.infoHash, actual } },
    )
  }
  const info = Buffer.from(infoBuffer)
  const fields = readInfoDict(decodeOrThrow(info, 'info').value, info)
  const surroundings = { announce: dedupe(ref?.announce ?? []), urlList: dedupe(ref?.urlList ?? []) }
  return assemble(fields, info, encodeTorrent({ infoBuffer: info, ...surroundings }), surroundings)
}
