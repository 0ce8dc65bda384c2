/**
 * Error codes of peer discovery that are not a tracker's (those live in `tracker/errors.ts`).
 * Documented under `## swarm` in docs/errors.md.
 */
import { errorFactory } from '@bitcdn/core'

export const DiscoveryErrorCode = {
  /** `createDiscovery` was given a malformed info-hash, peer id, port or peer address. */
  invalid: 'BITCDN_ERR_DISCOVERY_INVALID',
  /** The DHT could not bind its UDP port or failed; discovery goes on with trackers. */
  dht: 'BITCDN_ERR_DHT',
} as const

export type DiscoveryErrorCode = (typeof DiscoveryErrorCode)[keyof typeof DiscoveryErrorCode]

/**
 * Build a discovery error.
 * @example
 * throw discoveryError('invalid', 'info-hash must be 40 hex characters', { infoHash })
 */
export const discoveryError = errorFactory(DiscoveryErrorCode)
