/**
 * @bitcdn/swarm — the BitTorrent swarm: peer connections (BitTorrent and web seeds) behind one
 * `PeerConnection` seam, a pure piece picker and choker, torrent sessions and the client that
 * listens for peers.
 */
export { createSwarmClient, PEER_ID_PREFIX, type SwarmClient, type SwarmClientInit, type SwarmClientComponents, type AddTorrentOptions, type SwarmDhtOptions } from './client.js'
export { defaultStateDir, resumeJournalPath } from './torrent/resume-location.js'
export type { Torrent, TorrentStats, TorrentEvents, ReadStreamOptions, PieceSource } from './torrent/types.js'
export type { PeerConnection, PeerConnectionEvents, PeerKind, BlockRef } from './peer-connection.js'
export { PiecePicker, BLOCK_SIZE, PRIORITY_NOW, PRIORITY_NORMAL, PRIORITY_SKIP, type PiecePickerInit, type PickOptions, type PickPeer } from './picker/piece-picker.js'
export { unchokeSort, rateChokePolicy, type ChokePolicy, type ChokePeer, type UnchokeOptions, type UnchokeDecision, type QuickUnchokeContext } from './choker/choker.js'
export { RateLimiter, type RateLimiterInit } from './choker/rate-limit.js'
export { RateMeter, type RateMeterInit } from './choker/rate-meter.js'
export { requestBlocks, type RequestBlocksOptions } from './request-blocks.js'
export { BitTorrentConnection, type BitTorrentConnectionInit, type BitTorrentConnectionHooks } from './wire/bittorrent-connection.js'
export { HardenedWire, MAX_MESSAGE_BYTES } from './wire/hardened-wire.js'
export { SwarmErrorCode } from './errors.js'
export * from './webseed/index.js'
export * from './discovery/index.js'
export * from './tracker/index.js'
