/**
 * What a user may type to name a torrent: a magnet link, a bare info-hash, the bytes of a .torrent
 * file, or (through `readTorrentId`) the path of one.
 */
import { readFile, stat } from 'node:fs/promises'
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import { toIoError } from '../io-error.js'
import { normalizeInfoHash, parseMagnet } from './magnet.js'
import { parseTorrentFile } from './parse.js'
import type { Metainfo, TorrentRef } from './types.js'

/**
 * Parse a torrent identifier: a Buffer is a .torrent file; a string is a magnet link or a bare
 * 40-hex / 32-base32 info-hash.
 * @throws BitcdnError `BITCDN_ERR_TORRENT_INVALID` for a bad .torrent, `BITCDN_ERR_MAGNET_INVALID`
 * for a bad link or a string that is neither.
 * @example
 * const id = parseTorrentId('c9e15763f722f23e98a29decdfae341b98d53056')
 * if ('pieceHashes' in id) startDownload(id); else fetchMetadata(id)
 */
export function parseTorrentId(input: string | Buffer): Metainfo | TorrentRef {
  if (Buffer.isBuffer(input)) return parseTorrentFile(input)
  const s = input.trim()
  if (s.startsWith('magnet:')) return parseMagnet(s)
  const infoHash = normalizeInfoHash(s)
  if (infoHash) return { infoHash, announce: [], urlList: [], peers: [] }
  throw new BitcdnError(
    ContentErrorCode.magnetInvalid,
    `not a magnet link or info-hash (40 hex or 32 base32 characters): ${JSON.stringify(s.slice(0, 80))}`,
  )
}

/**
 * Like `parseTorrentId`, but an argument naming an existing file is read as a .torrent file.
 * @throws BitcdnError `BITCDN_ERR_FILE_NOT_FOUND` if the argument is neither a link, an info-hash
 * nor an existing file; `BITCDN_ERR_STORAGE_IO` if the file cannot be read.
 * @example
 * const id = await readTorrentId(process.argv[2]!)
 */
export async function readTorrentId(arg: string): Promise<Metainfo | TorrentRef> {
  const st = await stat(arg).catch(() => undefined)
  if (st?.isFile()) {
    const buf = await readFile(arg).catch((err: unknown) => {
      throw toIoError(err, 'read', arg)
    })
    return parseTorrentFile(buf)
  }
  const s = arg.trim()
  if (s.startsWith('magnet:') || normalizeInfoHash(s)) return parseTorrentId(s)
  throw new BitcdnError(
    ContentErrorCode.fileNotFound,
    st ? `not a .torrent file: ${arg} is not a regular file` : `no such .torrent file, and not a magnet link or info-hash: ${arg}`,
    { details: { path: arg } },
  )
}
