/**
 * Peer discovery: trackers, the mainline DHT and hand-given peers.
 */
export {
  createDiscovery,
  type Discovery,
  type DiscoveryInit,
  type DiscoveryComponents,
  type DiscoveryDhtOptions,
  type DiscoveryEvents,
} from './discovery.js'
export type { TrackerAnnounceResult } from './tracker-announcer.js'
export { DiscoveryErrorCode } from './errors.js'
export { startDhtNode, type DhtNodeInit, type Dht } from './dht-node.js'
