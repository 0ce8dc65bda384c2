/**
 * @bitcdn/sdk — build on BitCDN from browsers and Node: typed clients of the hub, gateway and node
 * admin APIs (types generated from their OpenAPI documents), publisher helpers (announce to the
 * catalogue, ask nodes to pin), consumer helpers (fetch and stream from a gateway). Nothing here
 * imports a `node:` module; `@bitcdn/sdk/node` adds torrent creation, Node streams and paid P2P
 * downloads.
 */
export { createHubClient, type HubClient, type ApiClientInit, type HubInfo, type HubNode, type CatalogueEntry, type NetworkStats, type StatsSeries, type SignedBody, type SeriesQuery } from './clients/hub-client.js'
export { createGatewayClient, type GatewayClient, type ContentRequest, type ContentResponse, type ByteRange, type Listing } from './clients/gateway-client.js'
export { createNodeAdminClient, type NodeAdminClient, type NodeAdminClientInit, type NodeStatus, type PinnedContent, type PinTarget, type PinOptions, type NodeEarnings, type CashoutResult, type ChequesBody, type ChequesResult } from './clients/node-admin-client.js'
export { announceToCatalogue, pinOnNodes, type Announcement, type PublisherAccount, type PinOutcome } from './publish/announce.js'
export { readServerSentEvents, type ServerSentEvent } from './consume/sse.js'
export { BitcdnApiError, SdkErrorCode, type ApiName } from './errors.js'
export { hasCode } from '@bitcdn/core'
export { signRegistration, signCatalogueEntry } from '@bitcdn/hub/messages'
export type { paths as HubPaths } from './generated/hub.js'
export type { paths as GatewayPaths } from './generated/gateway.js'
export type { paths as NodeAdminPaths } from './generated/node-admin.js'
