/**
 * One piece of content the gateway can serve: a torrent in the swarm client (on demand, stored in
 * the piece cache) and the origins it may hedge to (its web seeds and the pull-zone origin).
 */
import type { Metainfo } from '@bitcdn/content'
import type { Torrent } from '@bitcdn/swarm'

export interface ContentEntry {
  readonly infoHash: string
  readonly metainfo: Metainfo
  readonly torrent: Torrent
  /** BEP 19 web-seed URLs for per-piece origin fetches (may be empty: swarm only). */
  readonly origins: string[]
}
