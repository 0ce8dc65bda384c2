export { BitcdnError, hasCode, describeError, type BitcdnErrorOptions } from './errors.js'
export * from './units.js'
export * from './service.js'
