export { BitcdnError, hasCode, describeError, errorFactory, type BitcdnErrorOptions } from './errors.js'
export * from './units.js'
export * from './service.js'
export * from './token-bucket.js'
