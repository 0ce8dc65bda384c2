export { BitcdnError, hasCode, describeError, errorFactory, type BitcdnErrorOptions } from './errors.js'
export * from './units.js'
export * from './service.js'
export * from './token-bucket.js'
// bearerChecker lives at '@bitcdn/core/bearer-token': it needs node:crypto, and the SDK's browser
// bundle imports this index
