/**
 * The gateway's error codes and the HTTP status each maps to. Documented under `## gateway` in
 * docs/errors.md.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes this package throws or answers with. */
export const GatewayErrorCode = {
  /** `/t/{infohash}`: not 40 hex characters. */
  badInfoHash: 'BITCDN_ERR_GATEWAY_BAD_INFOHASH',
  /** A path with `..`, `.`, an empty segment, a NUL or a backslash. */
  badPath: 'BITCDN_ERR_GATEWAY_BAD_PATH',
  /** The content (torrent or file in it) is unknown to this gateway. */
  notFound: 'BITCDN_ERR_GATEWAY_NOT_FOUND',
  /** Neither the swarm nor the origin delivered a needed piece in time. */
  timeout: 'BITCDN_ERR_GATEWAY_TIMEOUT',
  /** Too many requests or bytes in flight; retry later. */
  overloaded: 'BITCDN_ERR_GATEWAY_OVERLOADED',
  /** The origin failed (network, status) for a pull-zone request. */
  originFailed: 'BITCDN_ERR_GATEWAY_ORIGIN',
  /** A signed URL's token is missing, malformed, expired or for another path. */
  tokenInvalid: 'BITCDN_ERR_GATEWAY_TOKEN',
  /** The piece cache failed (disk); the request fails, the gateway keeps running. */
  cache: 'BITCDN_ERR_GATEWAY_CACHE',
  /** An admin route without a valid bearer token. */
  unauthorized: 'BITCDN_ERR_GATEWAY_UNAUTHORIZED',
  /** `POST /admin/torrents`: the body is not a valid .torrent. */
  badTorrent: 'BITCDN_ERR_GATEWAY_BAD_TORRENT',
  /** Gateway configuration is invalid (option values). */
  config: 'BITCDN_ERR_GATEWAY_CONFIG',
} as const

export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode]

/** HTTP status for each code. */
export const STATUS_OF: Record<GatewayErrorCode, number> = {
  BITCDN_ERR_GATEWAY_BAD_INFOHASH: 400,
  BITCDN_ERR_GATEWAY_BAD_PATH: 400,
  BITCDN_ERR_GATEWAY_NOT_FOUND: 404,
  BITCDN_ERR_GATEWAY_TIMEOUT: 504,
  BITCDN_ERR_GATEWAY_OVERLOADED: 503,
  BITCDN_ERR_GATEWAY_ORIGIN: 502,
  BITCDN_ERR_GATEWAY_TOKEN: 403,
  BITCDN_ERR_GATEWAY_CACHE: 500,
  BITCDN_ERR_GATEWAY_UNAUTHORIZED: 401,
  BITCDN_ERR_GATEWAY_BAD_TORRENT: 400,
  BITCDN_ERR_GATEWAY_CONFIG: 500,
}

/**
 * Build a gateway error.
 * @example
 * throw gatewayError('notFound', `no torrent ${infoHash}`, { infoHash })
 */
export const gatewayError = errorFactory(GatewayErrorCode)
