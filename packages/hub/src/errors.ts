/**
 * Error codes of the hub: the node registry, the catalogue, its stores and its HTTP API.
 * Documented under `## hub` in docs/errors.md.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes the hub throws or answers with. */
export const HubErrorCode = {
  /** A registration or catalogue entry is malformed (fields, sizes, types). */
  messageInvalid: 'BITCDN_ERR_HUB_MESSAGE_INVALID',
  /** Its signature does not recover to the address it names. */
  signatureMismatch: 'BITCDN_ERR_HUB_SIGNATURE_MISMATCH',
  /** Its timestamp is not newer than the one the hub holds (a replay), or too far from the hub's clock. */
  replayed: 'BITCDN_ERR_HUB_REPLAYED',
  /** It names another hub, chain or escrow than this hub serves. */
  wrongNetwork: 'BITCDN_ERR_HUB_WRONG_NETWORK',
  /** No node with that payout address is registered (or it went stale). */
  nodeUnknown: 'BITCDN_ERR_HUB_NODE_UNKNOWN',
  /** The hub's database could not be opened or migrated (path, permissions, PostgreSQL URL). */
  store: 'BITCDN_ERR_HUB_STORE',
} as const

export type HubErrorCode = (typeof HubErrorCode)[keyof typeof HubErrorCode]

/**
 * Build a hub error.
 * @example throw hubError('replayed', 'registration is older than the one held')
 */
export const hubError = errorFactory(HubErrorCode)
