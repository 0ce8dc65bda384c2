/**
 * The free policy: which torrents are served to peers that do not pay. Off by default; on for
 * everything (`free.enabled`), or per torrent (`free.info_hashes` in the config, or a pin made
 * with `--free`: content a publisher sponsors).
 */
import { rateChokePolicy, type ChokePolicy } from '@bitcdn/swarm'
import type { NodeConfig } from './config/schema.js'

/**
 * A predicate over info-hashes.
 * @example const isFree = freePolicy(config, (h) => db.get(h)?.free === true)
 */
export function freePolicy(config: Pick<NodeConfig, 'free'>, pinnedFree: (infoHash: string) => boolean): (infoHash: string) => boolean {
  const listed = new Set(config.free.infoHashes)
  return (infoHash) => config.free.enabled || listed.has(infoHash) || pinnedFree(infoHash)
}

/**
 * The choker of a node without paid serving: the default rate policy for free torrents, nobody
 * unchoked for the rest (so standard clients see a choke, not a stream of refused requests).
 * @example createSwarmClient(init, { chokePolicy: freeChokePolicy(isFree) })
 */
export function freeChokePolicy(isFree: (infoHash: string) => boolean): ChokePolicy {
  return {
    unchokeSort(peers, opts) {
      if (opts.infoHash !== undefined && isFree(opts.infoHash)) return rateChokePolicy.unchokeSort(peers, opts)
      return { unchoke: new Set(), optimistic: new Map() }
    },
  }
}
