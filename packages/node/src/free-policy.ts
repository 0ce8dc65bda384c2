/**
 * The free policy: which torrents are served to peers that do not pay. Off by default; on for
 * everything (`free.enabled`), or per torrent (`free.info_hashes` in the config, or a pin made
 * with `--free`: content a publisher sponsors).
 */
import type { NodeConfig } from './config/schema.js'

/**
 * A predicate over info-hashes.
 * @example const isFree = freePolicy(config, (h) => db.get(h)?.free === true)
 */
export function freePolicy(config: Pick<NodeConfig, 'free'>, pinnedFree: (infoHash: string) => boolean): (infoHash: string) => boolean {
  const listed = new Set(config.free.infoHashes)
  return (infoHash) => config.free.enabled || listed.has(infoHash) || pinnedFree(infoHash)
}
