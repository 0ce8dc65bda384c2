/**
 * Web seeds (BEP 19): HTTP(S) origins as `PeerConnection`s, with per-origin limits and backoff.
 */
export { createWebSeedConnection, type WebSeedConnectionInit, type WebSeedConnectionComponents } from './web-seed-connection.js'
export { createOriginPool, defaultOriginPool, type OriginPool, type OriginPoolInit, type OriginPoolComponents, type CaOption, type OriginState } from './origin-pool.js'
export { WebSeedErrorCode } from './errors.js'
export { webSeedFileUrls } from './web-seed-url.js'
export { fetchPieceFromWebSeed, type PieceFetchOptions } from './piece-fetch.js'
