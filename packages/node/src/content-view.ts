/**
 * What `status` shows of one torrent: its index row joined with the live session, if any.
 */
import type { Torrent } from '@bitcdn/swarm'
import type { ContentRow } from './state/content-db.js'

export interface ContentView {
  infoHash: string
  name: string
  pinned: boolean
  free: boolean
  inPlace: boolean
  dir: string
  bytes: number
  /** Bytes served, all runs (from the index). */
  bytesServed: number
  /** Verified / all pieces; undefined when not running. */
  progress?: number
  peers?: number
  done?: boolean
}

/**
 * @example contentView(db.get(h)!, swarm.get(h))
 */
export function contentView(row: ContentRow, t?: Torrent): ContentView {
  const s = t?.stats()
  return {
    infoHash: row.infoHash,
    name: row.name,
    pinned: row.pinned,
    free: row.free,
    inPlace: row.inPlace,
    dir: row.dir,
    bytes: row.bytes,
    bytesServed: row.bytesServed,
    ...(s ? { progress: s.progress, peers: s.peers, done: s.done } : {}),
  }
}
