/**
 * @bitcdn/gateway — the HTTP gateway: content-addressed routes (`/t/{infohash}/{path}`) and a
 * pull zone in front of an origin, served from a piece cache, the swarm and the origin (hedged
 * per piece), with RFC 9110 ranges and conditionals, metrics and OpenAPI.
 */
export { createGateway, type Gateway, type GatewayInit, type GatewayComponents, type PieceBuyer } from './gateway.js'
export { buildGatewayApp, type GatewayAppOptions } from './app.js'
export { defaultCacheMemoryBytes, openPieceCache, type PieceCache, type PieceCacheInit } from './cache/piece-cache.js'
export { createContentRegistry, type ContentRegistry, type AddContentOptions } from './content-registry.js'
export type { ContentEntry } from './content-entry.js'
export { createGatewayMetrics, type GatewayMetrics } from './metrics.js'
export { signUrl, checkSignedUrl } from './signed-url.js'
export { GatewayErrorCode } from './errors.js'
export { createGatewayLogger } from './logger.js'
export { createPinRequests, catalogueMagnet, type PinRequests, type PinRequestsInit, type CatalogueEntryInput } from './publish/pin-requests.js'
