/**
 * Error codes of web seeds (BEP 19). None is fatal to a torrent: each failure rejects the block
 * requests it touched and backs the origin off, and reaches the session as a warning.
 * Documented under `## swarm` in docs/errors.md.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes web seeds emit (as warnings) or throw (bad configuration). */
export const WebSeedErrorCode = {
  /** The web-seed URL is not an absolute http(s) URL. Thrown by `createWebSeedConnection`. */
  urlInvalid: 'BITCDN_ERR_WEBSEED_URL_INVALID',
  /** The origin could not be reached: refused, reset, DNS failure, or no bytes for the timeout. */
  unreachable: 'BITCDN_ERR_WEBSEED_UNREACHABLE',
  /**
   * An `https://` origin failed the TLS handshake: its certificate is untrusted (self-signed, a
   * private CA not passed as `ca`), expired, or for another host; or TLS itself failed.
   */
  tls: 'BITCDN_ERR_WEBSEED_TLS',
  /** The origin answered with an HTTP status other than 200/206 (404, 5xx, too many redirects). */
  httpStatus: 'BITCDN_ERR_WEBSEED_HTTP_STATUS',
  /** The origin sent bytes that do not match the request: wrong Content-Range, wrong size, short body. */
  badResponse: 'BITCDN_ERR_WEBSEED_BAD_RESPONSE',
  /** The origin ignores `Range` and the bytes we need lie too deep into the file to skip to. */
  rangesUnsupported: 'BITCDN_ERR_WEBSEED_RANGES_UNSUPPORTED',
} as const

export type WebSeedErrorCode = (typeof WebSeedErrorCode)[keyof typeof WebSeedErrorCode]

/**
 * Build a web-seed error.
 * @example
 * throw webSeedError('httpStatus', 'web seed answered 503', { url, status: 503 })
 */
export const webSeedError = errorFactory(WebSeedErrorCode)
