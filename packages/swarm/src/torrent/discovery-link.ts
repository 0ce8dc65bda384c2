/**
 * A torrent's link to peer discovery (trackers and the client's shared DHT node): started once
 * the client listens, fed our transfer totals, its peers dialled by the peer set.
 */
import type { BitcdnError } from '@bitcdn/core'
import type { SessionState } from './session-state.js'
import type { DiscoveryLike, TorrentSessionComponents } from './session-options.js'

export interface DiscoveryLinkInit {
  create: TorrentSessionComponents['createDiscovery']
  /** Tracker URLs (duplicates are dropped). */
  announce: string[]
  dht: boolean
  /** Our listening port; 0 (not listening) starts nothing. */
  port: number
  peerId: string
  onPeer: (addr: string) => void
}

/**
 * Start discovery for the torrent, or return undefined when there is nothing to discover with.
 * Failures are the torrent's warnings, never thrown.
 * @example
 * const d = startDiscovery(state, { create, announce, dht: false, port: 6881, peerId, onPeer })
 */
export function startDiscovery(state: SessionState, init: DiscoveryLinkInit): DiscoveryLike | undefined {
  const announce = [...new Set(init.announce)]
  if (init.create === undefined || (announce.length === 0 && !init.dht) || init.port === 0) return undefined
  try {
    const d = init.create({ infoHash: state.infoHash, announce, port: init.port, dht: init.dht, peers: [], peerId: init.peerId })
    d.on('peer', init.onPeer)
    d.on('warning', (err: BitcdnError) => state.warn(err))
    d.update({ uploaded: 0, downloaded: 0, left: bytesLeft(state) })
    d.start().catch((err: BitcdnError) => state.warn(err))
    return d
  } catch (err) {
    state.warn(err as BitcdnError)
    return undefined
  }
}

/** Bytes still missing, for trackers (0 before the metadata is known). */
export function bytesLeft(state: SessionState): number {
  const m = state.metainfo
  const p = state.picker
  if (m === undefined || p === undefined) return 0
  return Math.max(0, m.length - p.haveCount * m.pieceLength)
}
