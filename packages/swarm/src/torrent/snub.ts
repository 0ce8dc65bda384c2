/**
 * Snubbing (libtorrent's term): a peer that holds our requests and sends nothing for the timeout
 * loses them — they go back to the picker for other peers — and is then asked for one block at a
 * time until it delivers again. This is also what defeats a peer whose bitfield lies.
 */
import type { PiecePicker } from '../picker/piece-picker.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'

/**
 * Release the requests of every stalled connection; returns those newly snubbed.
 * @example
 * for (const c of releaseStalled(conns, picker, 15_000, Date.now())) warn(c)
 */
export function releaseStalled(
  conns: Iterable<BitTorrentConnection>,
  picker: PiecePicker,
  timeoutMs: number,
  now: number,
): BitTorrentConnection[] {
  const snubbed: BitTorrentConnection[] = []
  for (const conn of conns) {
    if (conn.outstanding === 0) continue
    if (now - Math.max(conn.lastBlockAt, conn.lastRequestAt) < timeoutMs) continue
    const refs = conn.outstandingRefs()
    conn.dropOutstanding()
    for (const ref of refs) picker.abort(ref.index, ref.begin, conn.id)
    if (!conn.snubbed) {
      conn.snubbed = true
      snubbed.push(conn)
    }
  }
  return snubbed
}
