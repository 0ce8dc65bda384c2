/**
 * Serialise a Metainfo back to a .torrent file (BEP 3, BEP 12 `announce-list`, BEP 19 `url-list`).
 * The info dictionary is spliced in byte for byte: re-encoding it could change the info-hash of a
 * torrent whose creator wrote keys out of order.
 */
import bencode, { type Encodable } from 'bencode'

/** The parts of a Metainfo a .torrent file carries. */
export interface TorrentFileFields {
  infoBuffer: Buffer
  announce: string[]
  urlList: string[]
  comment?: string
  createdBy?: string
  creationDate?: number
}

/**
 * Bytes of a .torrent file for the given info dictionary and surroundings. Every tracker goes in
 * its own BEP 12 tier, tried in order.
 * @example
 * await writeFile('site.torrent', encodeTorrent(metainfo))
 */
export function encodeTorrent(m: TorrentFileFields): Buffer {
  // Keys in bencode's required (byte-sorted) order; "info" sits between "creation date" and "url-list".
  const before: Record<string, Encodable> = {}
  if (m.announce.length > 0) {
    before['announce'] = m.announce[0]
    before['announce-list'] = m.announce.map((url) => [url])
  }
  if (m.comment !== undefined) before['comment'] = m.comment
  if (m.createdBy !== undefined) before['created by'] = m.createdBy
  if (m.creationDate !== undefined) before['creation date'] = m.creationDate
  const head = Buffer.from(bencode.encode(before)).subarray(0, -1) // drop the closing "e"
  const tail = m.urlList.length > 0 ? Buffer.from(bencode.encode({ 'url-list': m.urlList })).subarray(1) : Buffer.from('e')
  return Buffer.concat([head, Buffer.from('4:info'), m.infoBuffer, tail])
}
