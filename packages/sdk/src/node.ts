/**
 * @bitcdn/sdk/node — everything in `@bitcdn/sdk`, plus what needs Node: torrents created from
 * files with the origin as web seed, the whole publish flow, gateway bodies as Node streams,
 * escrow deposits and paid P2P downloads with a wallet.
 */
export * from './index.js'
export { createPublication, type PublicationOptions } from './node/create-publication.js'
export { publishContent, type PublishContentOptions, type Publication } from './node/publish-content.js'
export { gatewayReadable } from './node/streams.js'
export { paidDownload, type PaidDownloadInit, type PaidDownloadResult, type PaidSellerReport } from './node/paid-download.js'
export { depositToEscrow, type DepositInit } from './node/deposit.js'
